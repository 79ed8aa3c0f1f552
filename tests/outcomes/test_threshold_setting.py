"""The suppression threshold k is the organisation's own setting, on the lead's settings page (issue 15 item 5).

Floor 3, default 5; a change is audited with its old and new value and every figure of the organisation is
recomputed with the new k.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from outcomes.evaluation import recompute
from outcomes.evaluation.disclosure.mask import DEFAULT_K, MIN_K
from outcomes.evaluation.disclosure.suppression import threshold_for
from outcomes.evaluation.report import evaluation_report
from outcomes.models import CohortState
from peersupport.models import AuditEvent, Organisation, RoleKind
from tests.factories import OrganisationFactory, active_member, facilitated_group, person
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db


def _settings(org: Organisation, **changes) -> dict:
    data = {
        "name": org.name,
        "time_zone": org.time_zone,
        "crisis_support_text": org.crisis_support_text,
        "alert_escalation_hours": org.alert_escalation_hours,
        "suppression_threshold": org.suppression_threshold,
    }
    return data | changes


def test_a_new_organisation_has_the_platform_default_and_the_model_agrees_with_the_disclosure_constants():
    org = OrganisationFactory()
    assert org.suppression_threshold == DEFAULT_K == 5
    assert threshold_for(org) == DEFAULT_K
    field = Organisation._meta.get_field("suppression_threshold")
    assert field.default == DEFAULT_K
    assert min(v.limit_value for v in field.validators if v.code == "min_value") == MIN_K == 3


@pytest.mark.parametrize("value", [2, 0])
def test_a_threshold_below_3_is_refused_with_a_clear_message_and_nothing_changes(client, value):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    response = client.post(reverse("lead_settings", args=[org.slug]), _settings(org, suppression_threshold=value))
    assert response.status_code == 200
    assert "The threshold cannot be below 3" in response.content.decode()
    org.refresh_from_db()
    assert org.suppression_threshold == 5
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED).exists()


def test_the_database_refuses_a_threshold_below_the_floor():
    org = OrganisationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=org.pk).update(suppression_threshold=2)


def test_the_settings_page_offers_the_threshold(client):
    org = OrganisationFactory()
    client.force_login(person(org, RoleKind.LEAD))
    page = client.get(reverse("lead_settings", args=[org.slug])).content.decode()
    assert 'name="suppression_threshold"' in page and "never below 3" in page


def _summary(client, org) -> list[dict]:
    content = client.get(reverse("outcomes:export_summary_csv", args=[org.slug])).content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _group_n(rows, group) -> str:
    return next(
        r["n"]
        for r in rows
        if r["table"] == "outcome" and r["cohort_dimension"] == "group" and r["cohort_value"] == str(group.pk)
    )


def test_a_lead_raises_k_the_change_is_audited_and_every_figure_is_recomputed_with_the_new_k(
    client, django_capture_on_commit_callbacks
):
    big, _ = facilitated_group()
    org = big.organisation
    seven, _ = facilitated_group(organisation=org)
    for group, n in ((big, 12), (seven, 7)):
        for i in range(n):
            answered(active_member(group), "baseline", 20 + i)
    recompute.recompute_all(organisation_id=org.pk)
    before = dict(CohortState.objects.filter(organisation=org).values_list("pk", "computed_at"))
    assert before and all(before.values())
    lead = person(org, RoleKind.LEAD)
    client.force_login(lead)
    assert _group_n(_summary(client, org), seven) == "7"  # 7 people: shown at k = 5

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("lead_settings", args=[org.slug]), _settings(org, suppression_threshold=10), follow=True
        )
    assert "Settings saved." in response.content.decode()
    assert callbacks, "a recompute is queued after the commit"
    org.refresh_from_db()
    assert org.suppression_threshold == 10

    event = AuditEvent.objects.get(action=AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED)
    assert event.actor == lead and event.detail["changed"] == {"suppression_threshold": [5, 10]}

    # Every cohort was marked stale and recomputed since (the queued recompute ran after the commit).
    after = CohortState.objects.filter(organisation=org)
    assert set(after.values_list("pk", flat=True)) == set(before)
    for state in after:
        assert not state.stale and state.computed_at > before[state.pk]

    rows = _summary(client, org)
    assert _group_n(rows, seven) == "suppressed (<10)"  # 7 is fewer than the new k
    assert evaluation_report(org)["suppression_threshold"] == 10


def test_changing_another_setting_recomputes_nothing(client, django_capture_on_commit_callbacks):
    group, _ = facilitated_group()
    org = group.organisation
    for i in range(6):
        answered(active_member(group), "baseline", 20 + i)
    recompute.recompute_all(organisation_id=org.pk)
    client.force_login(person(org, RoleKind.LEAD))
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("lead_settings", args=[org.slug]), _settings(org, alert_escalation_hours=6))
    assert not CohortState.objects.filter(organisation=org, stale=True).exists()
