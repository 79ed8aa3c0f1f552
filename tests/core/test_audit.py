"""The audit trail is append-only and read-only for staff."""

from __future__ import annotations

import pytest
from django.urls import reverse

from peersupport import audit
from peersupport.models import AuditEvent, RoleKind
from tests.factories import OrganisationFactory, UserFactory, person

pytestmark = pytest.mark.django_db


def test_an_audit_row_cannot_be_changed_or_deleted():
    event = audit.record(AuditEvent.Action.SIGN_IN)
    event.action = AuditEvent.Action.ROLE_GRANTED
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == AuditEvent.Action.SIGN_IN


def test_removing_a_role_is_audited_with_who_and_from_where(client):
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    facilitator = person(org, RoleKind.FACILITATOR)
    client.force_login(lead)
    client.post(reverse("role_remove", args=[org.slug, facilitator.roles.get().pk]))
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_REMOVED)
    assert event.actor == lead
    assert event.organisation == org
    assert event.detail == {"user_id": facilitator.pk, "kind": "facilitator"}
    assert event.ip_address == "127.0.0.1"
    assert not facilitator.roles.exists()


def test_a_lead_cannot_remove_their_own_lead_role(client):
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    client.force_login(lead)
    client.post(reverse("role_remove", args=[org.slug, lead.roles.get().pk]))
    assert lead.roles.filter(kind=RoleKind.LEAD).exists()


def test_staff_read_the_audit_trail_in_the_admin_but_cannot_change_it(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    event = audit.record(AuditEvent.Action.SIGN_IN, actor=staff)
    client.force_login(staff)
    assert client.get(reverse("admin:peersupport_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:peersupport_auditevent_add")).status_code == 403
    client.post(reverse("admin:peersupport_auditevent_change", args=[event.pk]), {"action": "role_granted"})
    client.post(reverse("admin:peersupport_auditevent_delete", args=[event.pk]), {"post": "yes"})
    assert AuditEvent.objects.get(pk=event.pk).action == AuditEvent.Action.SIGN_IN


def test_non_staff_cannot_open_the_admin(client):
    client.force_login(UserFactory())
    response = client.get(reverse("admin:peersupport_auditevent_changelist"))
    assert response.status_code == 302
