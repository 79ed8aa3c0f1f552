"""Staff changes made in the admin are audited as the same change on the site would be: exactly one row each."""

from __future__ import annotations

import pytest
from django.urls import reverse

from peersupport.models import AuditEvent, Role, RoleKind
from tests.factories import OrganisationFactory, UserFactory, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def change_form_data(client, url: str) -> dict:
    """What the admin's change form would post back unchanged (the main form and each inline formset)."""
    context = client.get(url).context
    form = context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        widget = getattr(field.widget, "widget", field.widget)  # the admin wraps related fields
        if hasattr(widget, "decompress"):  # a split date and time
            for i, part in enumerate(widget.decompress(value)):
                data[f"{name}_{i}"] = part.isoformat() if hasattr(part, "isoformat") else (part or "")
            continue
        data[name] = field.prepare_value(value) if value is not None else ""
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        for name, field in formset.management_form.fields.items():
            data[f"{formset.prefix}-{name}"] = formset.management_form.initial.get(name, field.initial)
        for sub in formset.forms:
            for name, field in sub.fields.items():
                value = sub.initial.get(name, field.initial)
                if hasattr(value, "pk"):
                    value = value.pk
                data[sub.add_prefix(name)] = "" if value is None else value
    return {k: v for k, v in data.items() if v is not False}


def test_a_role_granted_in_the_admin_writes_one_audit_row_naming_the_staff_member(client, staff):
    org = OrganisationFactory()
    user = UserFactory()
    response = client.post(
        reverse("admin:peersupport_role_add"), {"user": user.pk, "organisation": org.pk, "kind": RoleKind.LEAD}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_GRANTED)
    assert event.actor == staff and event.organisation == org
    assert event.detail == {"user_id": user.pk, "kind": RoleKind.LEAD}
    assert Role.objects.filter(user=user, organisation=org, kind=RoleKind.LEAD).count() == 1


def test_a_role_deleted_in_the_admin_writes_one_audit_row(client, staff):
    org = OrganisationFactory()
    facilitator = person(org, RoleKind.FACILITATOR)
    role = facilitator.roles.get()
    client.post(reverse("admin:peersupport_role_delete", args=[role.pk]), {"post": "yes"})
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_REMOVED)
    assert event.actor == staff and event.detail == {"user_id": facilitator.pk, "kind": RoleKind.FACILITATOR}
    assert not Role.objects.filter(pk=role.pk).exists()


def test_roles_deleted_in_bulk_in_the_admin_write_one_row_each(client, staff):
    org = OrganisationFactory()
    roles = [person(org, RoleKind.MEMBER).roles.get() for _ in range(3)]
    client.post(
        reverse("admin:peersupport_role_changelist"),
        {"action": "delete_selected", "_selected_action": [r.pk for r in roles], "post": "yes"},
    )
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_REMOVED).count() == 3
    assert not Role.objects.filter(pk__in=[r.pk for r in roles]).exists()


def test_an_existing_role_cannot_be_edited_in_place_in_the_admin(client, staff):
    org = OrganisationFactory()
    member = person(org, RoleKind.MEMBER)
    role = member.roles.get()
    client.post(
        reverse("admin:peersupport_role_change", args=[role.pk]),
        {"user": member.pk, "organisation": org.pk, "kind": RoleKind.LEAD},
    )
    assert Role.objects.get(pk=role.pk).kind == RoleKind.MEMBER
    assert not AuditEvent.objects.filter(action__startswith="role_").exists()


def test_an_organisations_settings_changed_in_the_admin_write_one_row_with_old_and_new(client, staff):
    org = OrganisationFactory(alert_escalation_hours=24)
    url = reverse("admin:peersupport_organisation_change", args=[org.pk])
    data = change_form_data(client, url)
    data["alert_escalation_hours"] = "48"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action=AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED)
    assert event.actor == staff
    assert event.detail == {"changed": {"alert_escalation_hours": [24, 48]}, "via": "admin"}


def test_a_role_added_and_one_removed_in_the_organisations_admin_page_write_one_row_each(client, staff):
    org = OrganisationFactory()
    leaving = person(org, RoleKind.FACILITATOR)
    joining = UserFactory()
    url = reverse("admin:peersupport_organisation_change", args=[org.pk])
    data = change_form_data(client, url)
    data["roles-0-DELETE"] = "on"
    data.update({"roles-TOTAL_FORMS": "2", "roles-1-user": joining.pk, "roles-1-kind": RoleKind.LEAD})
    response = client.post(url, data)
    assert response.status_code == 302
    granted = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_GRANTED)
    removed = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_REMOVED)
    assert granted.detail == {"user_id": joining.pk, "kind": RoleKind.LEAD} and granted.actor == staff
    assert removed.detail == {"user_id": leaving.pk, "kind": RoleKind.FACILITATOR}
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED).exists()


def test_making_someone_staff_in_the_admin_writes_one_audit_row(client, staff):
    user = UserFactory()
    url = reverse("admin:peersupport_user_change", args=[user.pk])
    data = change_form_data(client, url)
    data["is_staff"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action=AuditEvent.Action.USER_PERMISSIONS_CHANGED)
    assert event.actor == staff and event.object_id == str(user.pk)
    assert event.detail == {"changed": {"is_staff": [False, True]}}
