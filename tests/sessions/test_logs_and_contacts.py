"""Session logs with the fidelity checklist, the checklist itself, and one-to-one contacts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership
from peersupport import services as core_services
from peersupport.models import RoleKind
from sessions import services
from sessions.models import FidelityItem, OneToOneContact, SessionLog
from tests.factories import OrganisationFactory, person

from .conftest import session_in

pytestmark = pytest.mark.django_db


def test_the_default_checklist_is_created_once_per_organisation():
    org = OrganisationFactory()
    first = services.fidelity_items_for(org)
    again = services.fidelity_items_for(org)
    assert [i.key for i in first] == [i.key for i in again] == [k for k, _ in services.DEFAULT_FIDELITY_ITEMS]
    assert FidelityItem.objects.filter(organisation=org).count() == len(services.DEFAULT_FIDELITY_ITEMS)
    assert not FidelityItem.objects.exclude(organisation=org).exists()


def test_a_facilitator_writes_a_log_with_the_checklist_and_can_update_it(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(hours=-2))
    client.force_login(world.facilitator)
    url = reverse("sessions:log", args=[world.group.organisation.slug, session.pk])
    html = client.get(url).content.decode()
    assert "Mutuality" in html and 'for="id_fidelity_safety"' in html
    client.post(url, {"notes": "Good energy.", "fidelity_mutuality": "on", "fidelity_safety": "on"})
    log = SessionLog.objects.get(session=session, facilitator=world.facilitator)
    assert log.notes == "Good energy."
    assert log.fidelity["mutuality"] is True and log.fidelity["safety"] is True
    assert log.fidelity["hope_and_recovery"] is False
    client.post(url, {"notes": "Edited."})
    assert SessionLog.objects.get(pk=log.pk).notes == "Edited."
    assert SessionLog.objects.count() == 1


def test_a_log_with_an_unknown_checklist_item_is_refused(world):
    session = session_in(world.group, starts_in=dt.timedelta(hours=-2))
    with pytest.raises(ValidationError, match="Unknown checklist items"):
        services.session_log_save(session=session, facilitator=world.facilitator, notes="", fidelity={"vibes": True})
    assert not SessionLog.objects.exists()


def test_a_lead_renames_switches_off_and_adds_checklist_items(client, world):
    org = world.group.organisation
    items = services.fidelity_items_for(org)
    client.force_login(person(org, RoleKind.LEAD))
    url = reverse("sessions:fidelity_items", args=[org.slug])
    assert client.get(url).status_code == 200
    data = {"items-TOTAL_FORMS": str(len(items)), "items-INITIAL_FORMS": str(len(items)), "new_label": "Kindness"}
    for n, item in enumerate(items):
        data[f"items-{n}-label"] = item.label if n else "Mutuality and equality"
        data[f"items-{n}-position"] = str(item.position)
        if n != 1:
            data[f"items-{n}-active"] = "on"
    assert client.post(url, data).status_code == 302
    assert FidelityItem.objects.get(pk=items[0].pk).label == "Mutuality and equality"
    assert FidelityItem.objects.get(pk=items[1].pk).active is False
    assert FidelityItem.objects.filter(organisation=org, key="kindness", label="Kindness").exists()
    assert [i.key for i in services.fidelity_items_for(org)][-1] == "kindness"
    assert items[1].key not in [i.key for i in services.fidelity_items_for(org)]


def contacts_url(group):
    return reverse("sessions:contacts", args=[group.organisation.slug, group.pk])


def test_a_facilitator_records_a_one_to_one_contact(client, world):
    membership = Membership.objects.get(group=world.group, user=world.active[0])
    client.force_login(world.facilitator)
    response = client.post(
        contacts_url(world.group),
        {"membership": membership.pk, "date": timezone.localdate().isoformat(), "mode": "telephone", "minutes": "45"},
    )
    assert response.status_code == 302
    contact = OneToOneContact.objects.get()
    assert (contact.membership, contact.minutes, contact.mode, contact.facilitator) == (
        membership,
        45,
        "telephone",
        world.facilitator,
    )
    assert world.active[0].name in client.get(contacts_url(world.group)).content.decode()


@pytest.mark.parametrize(
    ("minutes", "message"),
    [("0", "greater than or equal to 1"), ("601", "less than or equal to 600"), ("", "required")],
)
def test_contact_minutes_out_of_range_get_a_clear_message_and_change_nothing(client, world, minutes, message):
    membership = Membership.objects.get(group=world.group, user=world.active[0])
    client.force_login(world.facilitator)
    response = client.post(
        contacts_url(world.group),
        {"membership": membership.pk, "date": timezone.localdate().isoformat(), "mode": "video", "minutes": minutes},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not OneToOneContact.objects.exists()


def test_the_contact_service_refuses_out_of_range_minutes_future_dates_and_non_members(world):
    membership = Membership.objects.get(group=world.group, user=world.active[0])
    today = timezone.localdate()
    for minutes in (0, 601):
        with pytest.raises(ValidationError, match="from 1 to 600"):
            services.contact_record(
                membership=membership, facilitator=world.facilitator, date=today, mode="video", minutes=minutes
            )
    with pytest.raises(ValidationError, match="future"):
        services.contact_record(
            membership=membership,
            facilitator=world.facilitator,
            date=today + dt.timedelta(days=2),
            mode="video",
            minutes=5,
        )
    waitlisted = Membership.objects.get(user=world.outsiders["waitlisted"])
    with pytest.raises(ValidationError, match="active or past members"):
        services.contact_record(
            membership=waitlisted, facilitator=world.facilitator, date=today, mode="video", minutes=5
        )
    core_services.consent_withdraw(user=world.active[0], organisation=world.group.organisation)
    with pytest.raises(ValidationError, match="consent"):
        services.contact_record(
            membership=membership, facilitator=world.facilitator, date=today, mode="video", minutes=5
        )
    assert not OneToOneContact.objects.exists()


def test_the_contact_form_offers_only_this_groups_members(client, world):
    other = Membership.objects.get(user=world.outsiders["other group's member"])
    client.force_login(world.facilitator)
    response = client.post(
        contacts_url(world.group),
        {"membership": other.pk, "date": timezone.localdate().isoformat(), "mode": "video", "minutes": "10"},
    )
    assert response.status_code == 200
    assert not OneToOneContact.objects.exists()
