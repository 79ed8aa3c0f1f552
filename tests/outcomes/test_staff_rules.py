"""Who counts as staff of an organisation, and which groups a user oversees, is decided once
(``groups.permissions``): the outcomes pages and alerts ask the same rules as the groups pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from outcomes.models import RiskAlert
from outcomes.questionnaires.risk import open_alerts_for
from peersupport.models import Role, RoleKind, User
from peersupport.services import role_remove
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_audited_writes import time_point_with_member

pytestmark = pytest.mark.django_db


def test_a_facilitator_whose_role_was_removed_no_longer_sees_or_acknowledges_their_groups_alerts(client):
    group, facilitator = facilitated_group()
    lead = person(group.organisation, RoleKind.LEAD)
    _plan, _tp, assessment = time_point_with_member(group)
    response = assessment.responses.create(instrument_code="phq9", instrument_version=1)
    alert = RiskAlert.objects.create(
        response=response,
        rule="phq9_item9",
        organisation=group.organisation,
        group=group,
        member=assessment.membership.user,
    )
    assert list(open_alerts_for(facilitator, group.organisation)) == [alert]
    # The role goes, the group still lists them as its facilitator (GroupFacilitator stays), and they stay a member.
    Role.objects.create(user=facilitator, organisation=group.organisation, kind=RoleKind.MEMBER)
    role_remove(role=Role.objects.get(user=facilitator, kind=RoleKind.FACILITATOR), by=lead)
    assert group.facilitations.filter(user=facilitator).exists()
    former = User.objects.get(pk=facilitator.pk)
    assert list(open_alerts_for(former, group.organisation)) == []
    client.force_login(former)
    slug = group.organisation.slug
    assert client.get(reverse("outcomes:completion", args=[slug])).status_code == 404
    url = reverse("outcomes:alert_acknowledge", args=[slug, alert.pk])
    assert client.post(url, {"note": "Phoned them."}).status_code == 404
    alert.refresh_from_db()
    assert alert.status == "open"


def test_a_lead_oversees_every_group_and_a_facilitator_only_their_own():
    group, facilitator = facilitated_group()
    other, _ = facilitated_group(organisation=group.organisation)
    lead = person(group.organisation, RoleKind.LEAD)
    alerts = []
    for g in (group, other):
        _plan, _tp, assessment = time_point_with_member(g)
        response = assessment.responses.create(instrument_code="phq9", instrument_version=1)
        alerts.append(
            RiskAlert.objects.create(
                response=response,
                rule="phq9_item9",
                organisation=g.organisation,
                group=g,
                member=assessment.membership.user,
            )
        )
    assert set(open_alerts_for(lead, group.organisation)) == set(alerts)
    assert list(open_alerts_for(facilitator, group.organisation)) == [alerts[0]]
    assert list(open_alerts_for(active_member(group).user, group.organisation)) == []
