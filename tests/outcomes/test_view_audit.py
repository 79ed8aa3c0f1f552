"""Looking is audited too: a staff member opening an alert (which shows the member's answer that raised it) and
a lead opening the evaluation's figures each write exactly one audit row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from peersupport.models import AuditEvent, RoleKind
from tests.factories import person
from tests.outcomes.test_aggregation import worked_example  # noqa: F401 (a fixture)
from tests.outcomes.test_escalation import raise_alert, setup  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


def test_opening_an_alert_writes_one_row_naming_the_member_whose_answer_was_seen(client, setup):  # noqa: F811
    group, facilitator, membership, baseline = setup
    alert = raise_alert(group, membership, baseline)
    client.force_login(facilitator)
    assert client.get(reverse("outcomes:alert", args=[group.organisation.slug, alert.pk])).status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.RESPONSES_VIEWED)
    assert event.actor == facilitator and event.organisation == group.organisation
    assert event.object_id == str(alert.response_id)
    assert event.detail == {"member_id": membership.user_id, "via": "alert"}


def test_opening_the_evaluation_writes_one_row_naming_the_cohort_shown(client, worked_example):  # noqa: F811
    organisation = worked_example.organisation
    lead = person(organisation, RoleKind.LEAD)
    client.force_login(lead)
    url = reverse("outcomes:evaluation", args=[organisation.slug]) + f"?cohort=group:{worked_example.pk}"
    assert "Participant flow" in client.get(url).content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.EVALUATION_VIEWED)
    assert event.actor == lead and event.organisation == organisation
    assert event.detail == {"cohort": f"group:{worked_example.pk}"}
