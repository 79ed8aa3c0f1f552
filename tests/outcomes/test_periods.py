"""Period cohorts: groups by the quarter they started in, chosen on the evaluation page."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from groups.models import GroupFormat, SupportGroup
from outcomes.evaluation import cohorts, marking, periods, recompute, scheduling
from outcomes.evaluation.cohorts import cohort_keys, cohort_label, groups_filter
from outcomes.evaluation.disclosure.mask import DEFAULT_K
from outcomes.evaluation.periods import Period, Quarter
from outcomes.instruments.loading import load_all
from outcomes.models import Assessment, AssessmentStatus, CohortState, Response
from outcomes.questionnaires.responses import response_submit
from peersupport.models import AuditEvent, RoleKind
from sessions.models import SessionStatus
from tests.factories import (
    GroupSessionFactory,
    OrganisationFactory,
    SupportGroupFactory,
    active_member,
    facilitated_group,
    person,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC
SUPPRESSED = f"suppressed (<{DEFAULT_K})"
HIDDEN = (SUPPRESSED, "suppressed (complementary)")


def session(group, when, **kwargs):
    return GroupSessionFactory(group=group, starts_at=when, ends_at=when + dt.timedelta(hours=1), **kwargs)


def started(group, when):
    session(group, when)
    return group


def period_groups(org, value) -> set[int]:
    return set(
        SupportGroup.objects.filter(organisation=org)
        .filter(groups_filter("period", value))
        .values_list("pk", flat=True)
    )


def add_period(org, value, *, computed=True):
    period = Period.parse(value)
    return CohortState.objects.create(
        organisation=org,
        dimension="period",
        value=value,
        label=period.label,
        stale=not computed,
        computed_at=timezone.now() if computed else None,
    )


# --- values and labels --------------------------------------------------------------------------


def test_only_the_canonical_period_value_parses():
    assert Period.parse("2026Q1-2026Q2") == Period(Quarter(2026, 1), Quarter(2026, 2))
    assert Period.parse("2025Q4-2025Q4") == Period(Quarter(2025, 4), Quarter(2025, 4))
    for bad in (
        "2026Q2-2026Q1",  # reversed
        "2026q1-2026Q2",
        "2026Q1",
        "2026Q0-2026Q1",
        "2026Q5-2026Q5",
        " 2026Q1-2026Q2",
        "2026Q1-2026Q2\n",
        "1999Q4-2000Q1",
        "2100Q1-2100Q1",
        "2026-Q1-2026-Q2",
        "",
        "٢٠٢٦Q1-٢٠٢٦Q1",  # other digits
    ):
        assert Period.parse(bad) is None, bad
    assert Quarter(2025, 4).next() == Quarter(2026, 1)
    assert Quarter.of(dt.date(2026, 6, 30)) == Quarter(2026, 2)


def test_a_period_is_labelled_by_its_quarters():
    assert cohort_label("period", "2026Q1-2026Q2") == "Groups starting 2026 Q1 – 2026 Q2"
    assert cohort_label("period", "2026Q3-2026Q3") == "Groups starting 2026 Q3"


# --- which groups -------------------------------------------------------------------------------


def test_a_group_starts_at_its_first_session_that_was_not_cancelled_in_its_own_time_zone():
    first, _ = facilitated_group()
    org = first.organisation
    started(first, dt.datetime(2025, 2, 10, 18, tzinfo=UTC))
    session(first, dt.datetime(2025, 5, 10, 18, tzinfo=UTC))  # a later session does not move the start
    # First session cancelled: the group started at its second, in Q2.
    moved, _ = facilitated_group(org)
    session(moved, dt.datetime(2025, 3, 20, 18, tzinfo=UTC), status=SessionStatus.CANCELLED)
    started(moved, dt.datetime(2025, 4, 3, 18, tzinfo=UTC))
    # 1 January 10:00 in Sydney is still 31 December in UTC: the group started in Q1 where it meets.
    sydney, _ = facilitated_group(org, time_zone="Australia/Sydney")
    started(sydney, dt.datetime(2025, 1, 1, 10, tzinfo=ZoneInfo("Australia/Sydney")))
    # No sessions: the day it was created.
    unscheduled = SupportGroupFactory(
        organisation=org, format=GroupFormat.UNSTRUCTURED, curriculum=None, facilitation="peer_to_peer"
    )
    SupportGroup.objects.filter(pk=unscheduled.pk).update(created_at=dt.datetime(2025, 8, 1, 12, tzinfo=UTC))
    unscheduled.refresh_from_db()
    # Another organisation's group in the same quarter is never in this organisation's cohort.
    started(facilitated_group()[0], dt.datetime(2025, 2, 11, 18, tzinfo=UTC))

    assert period_groups(org, "2025Q1-2025Q1") == {first.pk, sydney.pk}
    assert period_groups(org, "2025Q2-2025Q2") == {moved.pk}
    assert period_groups(org, "2025Q1-2025Q2") == {first.pk, moved.pk, sydney.pk}
    assert period_groups(org, "2025Q3-2025Q4") == {unscheduled.pk}
    assert period_groups(org, "2024Q4-2024Q4") == set()
    for bad in ("2025Q2-2025Q1", "2025Q1", "nonsense", "2025Q1-2025Q2; DROP TABLE"):
        assert period_groups(org, bad) == set(), bad

    # The Python side (cohort_keys) agrees with the database side (groups_filter).
    for group in (first, moved, sydney, unscheduled):
        assert periods.start_quarter(group, None if group == unscheduled else _first(group)) in Period.parse(
            {first.pk: "2025Q1-2025Q1", moved.pk: "2025Q2-2025Q2", sydney.pk: "2025Q1-2025Q1"}.get(
                group.pk, "2025Q3-2025Q3"
            )
        )


def _first(group):
    return group.sessions.exclude(status=SessionStatus.CANCELLED).order_by("starts_at").first().starts_at


def test_cohort_keys_name_every_existing_period_holding_the_groups_start_in_one_query(django_assert_num_queries):
    group, _ = facilitated_group()
    org = group.organisation
    started(group, dt.datetime(2025, 5, 2, 9, tzinfo=UTC))
    for value in ("2025Q2-2025Q2", "2025Q1-2025Q3", "2025Q3-2025Q4", "2024Q1-2025Q1"):
        add_period(org, value)
    add_period(facilitated_group()[0].organisation, "2025Q2-2025Q2")  # another organisation's
    group = SupportGroup.objects.select_related("curriculum").get(pk=group.pk)
    with django_assert_num_queries(1):
        keys = cohort_keys(group)
    assert sorted(v for d, v in keys if d == "period") == ["2025Q1-2025Q3", "2025Q2-2025Q2"]
    assert {d for d, _ in keys} == {
        "organisation", "group", "format", "delivery", "audience", "curriculum", "curriculum_kind", "period",
    }  # fmt: skip


def test_a_submit_marks_the_period_cohorts_holding_its_group_stale(on_commit):
    group, _ = facilitated_group()
    org = group.organisation
    started(group, dt.datetime(2025, 5, 2, 9, tzinfo=UTC))
    holding = add_period(org, "2025Q1-2025Q2")
    other = add_period(org, "2025Q3-2025Q3")
    membership = active_member(group)
    assessment = Assessment.objects.create(
        membership=membership, time_point="baseline", status=AssessmentStatus.OPEN, instruments=[["phq9", 1]]
    )
    defn = load_all()[("phq9", 1)]
    with on_commit():
        response_submit(
            assessment=assessment, defn=defn, raw={**{f"q{i}": "1" for i in range(1, 10)}, "difficulty": "1"}
        )
    assert Response.objects.filter(submitted_at__isnull=False).count() == 1
    holding.refresh_from_db()
    other.refresh_from_db()
    # Marked, then recomputed after commit (tasks run in-process here): it now counts the new answer.
    assert holding.marked_at is not None and holding.computed_at > holding.marked_at
    assert holding.outcome_summaries.get(scale="total").n == 1
    assert other.marked_at is None and not other.outcome_summaries.exists()


def test_a_submit_marks_the_period_stale_in_the_submits_transaction():
    group, _ = facilitated_group()
    started(group, dt.datetime(2025, 5, 2, 9, tzinfo=UTC))
    holding = add_period(group.organisation, "2025Q2-2025Q2")
    marking.mark_stale(group)
    holding.refresh_from_db()
    assert holding.stale is True and holding.marked_at is not None
    assert holding.label == "Groups starting 2025 Q2"


# --- the evaluation page ------------------------------------------------------------------------


@pytest.fixture
def organisation_with_answers():
    group, facilitator = facilitated_group(name="Spring course")
    org = group.organisation
    started(group, dt.datetime(2025, 2, 3, 18, tzinfo=UTC))
    for i in range(6):
        m = active_member(group)
        for tp, total in (("baseline", 40 + i), ("post", 45 + i)):
            a, _ = Assessment.objects.get_or_create(membership=m, time_point=tp, status=AssessmentStatus.COMPLETED)
            Response.objects.create(
                assessment=a, instrument_code="wemwbs", instrument_version=1, total=total,
                scores={"total": total, "subscales": {}}, submitted_at=timezone.now(),
            )  # fmt: skip
    recompute.recompute_all(organisation_id=org.id)
    return {"org": org, "group": group, "facilitator": facilitator, "lead": person(org, RoleKind.LEAD)}


def url(org, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("outcomes:evaluation", args=[org.slug]) + (f"?{query}" if query else "")


def test_a_lead_chooses_a_range_sees_it_being_computed_then_its_figures(client, organisation_with_answers, on_commit):
    org, lead = organisation_with_answers["org"], organisation_with_answers["lead"]
    client.force_login(lead)
    page = client.get(url(org)).content.decode()
    assert 'name="from_quarter"' in page and 'name="to_quarter"' in page
    assert '<label class="form-label" for="id_from_quarter">' in page
    assert 'value="2025Q1"' in page  # from the organisation's first group start …
    today = Quarter.of(timezone.now().date())
    assert f'value="{today}"' in page  # … to this quarter

    # Without running the queued job: the range exists, stale, and the page says it is being computed.
    response = client.post(url(org), {"from_quarter": "2025Q1", "to_quarter": "2025Q2"})
    assert response.status_code == 302 and response["Location"] == url(org, cohort="period%3A2025Q1-2025Q2")
    response = client.get(response["Location"])
    state = CohortState.objects.get(organisation=org, dimension="period")
    assert (state.value, state.stale, state.computed_at) == ("2025Q1-2025Q2", True, None)
    assert state.label == "Groups starting 2025 Q1 – 2025 Q2"
    page = response.content.decode()
    assert "being computed" in page and "Groups starting 2025 Q1 – 2025 Q2" in page
    assert "Participant flow" not in page
    event = AuditEvent.objects.get(action=AuditEvent.Action.EVALUATION_PERIOD_ADDED)
    assert event.actor == lead and event.detail["period"] == "2025Q1-2025Q2"

    # Asking again changes nothing; the queued recompute (run here) makes it fresh.
    client.post(url(org), {"from_quarter": "2025Q1", "to_quarter": "2025Q2"})
    assert CohortState.objects.filter(dimension="period").count() == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EVALUATION_PERIOD_ADDED).count() == 1
    with on_commit():
        scheduling.schedule_recompute(org.id)
    state.refresh_from_db()
    assert state.stale is False and state.computed_at is not None
    page = client.get(url(org, cohort="period:2025Q1-2025Q2")).content.decode()
    assert "being computed" not in page and "Participant flow" in page
    assert "42.50" in page and "47.50" in page  # the means at baseline and post of the six members
    assert '<option value="2025Q2" selected>' in page  # the form shows the range on screen


def test_a_new_range_is_computed_after_commit(client, organisation_with_answers, on_commit):
    org = organisation_with_answers["org"]
    client.force_login(organisation_with_answers["lead"])
    with on_commit():
        client.post(url(org), {"from_quarter": "2025Q1", "to_quarter": "2025Q1"})
    state = CohortState.objects.get(dimension="period")
    assert state.stale is False and state.outcome_summaries.filter(time_point="baseline").get().n == 6


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"from_quarter": "2025Q3", "to_quarter": "2025Q1"},
            "2025 Q3 is after 2025 Q1: choose the earlier quarter first",
        ),
        ({"from_quarter": "2025Q9", "to_quarter": "2025Q2"}, "Choose the first quarter from the list"),
        ({"from_quarter": "2001Q1", "to_quarter": "2025Q2"}, "Choose the first quarter from the list"),
        ({"from_quarter": "2025Q1", "to_quarter": "2099Q4"}, "Choose the last quarter from the list"),
        ({"from_quarter": "2025Q1"}, "Choose the last quarter."),
        ({"from_quarter": "", "to_quarter": "2025Q1"}, "Choose the first quarter."),
        ({"from_quarter": "<script>", "to_quarter": "2025Q1"}, "Choose the first quarter from the list"),
    ],
)
@pytest.mark.parametrize("method", ["post", "get"])
def test_a_bad_range_gets_a_clear_message_and_changes_nothing(
    client, organisation_with_answers, params, message, method
):
    org = organisation_with_answers["org"]
    client.force_login(organisation_with_answers["lead"])
    before = set(CohortState.objects.values_list("pk", "stale"))
    response = client.post(url(org), params) if method == "post" else client.get(url(org, **params))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "<script>" not in page
    assert set(CohortState.objects.values_list("pk", "stale")) == before
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EVALUATION_PERIOD_ADDED).exists()
    assert '<option value="organisation:" selected>' in page and "Participant flow" in page  # as before


def test_a_range_in_a_link_shows_its_figures_if_they_exist_and_never_creates_or_evicts_one(
    client, organisation_with_answers, monkeypatch
):
    monkeypatch.setattr(cohorts, "MAX_PERIODS", 1)
    org = organisation_with_answers["org"]
    kept = add_period(org, "2025Q1-2025Q1")
    recompute.recompute_stale(organisation_id=org.id)
    client.force_login(organisation_with_answers["lead"])
    page = client.get(url(org, from_quarter="2025Q1", to_quarter="2025Q2")).content.decode()  # not kept
    assert "no figures for this range yet" in page and 'method="post"' in page
    assert list(CohortState.objects.filter(dimension="period")) == [kept]  # nothing created, nothing evicted
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EVALUATION_PERIOD_ADDED).exists()
    page = client.get(url(org, from_quarter="2025Q1", to_quarter="2025Q1")).content.decode()  # kept
    assert f'<option value="period:{kept.value}" selected>' in page and "Participant flow" in page


def test_facilitators_members_and_other_organisations_cannot_choose_a_range(client, organisation_with_answers):
    org = organisation_with_answers["org"]
    outsider = person(OrganisationFactory(), RoleKind.LEAD)
    member = organisation_with_answers["group"].memberships.first().user
    for user in (organisation_with_answers["facilitator"], member, outsider):
        client.force_login(user)
        assert client.post(url(org), {"from_quarter": "2025Q1", "to_quarter": "2025Q2"}).status_code == 404
        assert client.get(url(org, from_quarter="2025Q1", to_quarter="2025Q2")).status_code == 404
    assert not CohortState.objects.filter(dimension="period").exists()


def test_an_organisation_keeps_at_most_max_periods_and_the_one_computed_longest_ago_gives_way(
    client, organisation_with_answers, monkeypatch
):
    monkeypatch.setattr(cohorts, "MAX_PERIODS", 2)
    org, lead = organisation_with_answers["org"], organisation_with_answers["lead"]
    old = add_period(org, "2025Q1-2025Q1")
    CohortState.objects.filter(pk=old.pk).update(computed_at=timezone.now() - dt.timedelta(days=3))
    add_period(org, "2025Q1-2025Q2")
    client.force_login(lead)
    client.post(url(org), {"from_quarter": "2025Q2", "to_quarter": "2025Q3"})
    values = set(CohortState.objects.filter(dimension="period").values_list("value", flat=True))
    assert values == {"2025Q1-2025Q2", "2025Q2-2025Q3"}
    assert AuditEvent.objects.get(action=AuditEvent.Action.EVALUATION_PERIOD_ADDED).detail["evicted"] == "2025Q1-2025Q1"
    # Every kept range still being computed: none gives way, and the lead is told.
    CohortState.objects.filter(dimension="period").update(stale=True)
    page = client.post(url(org), {"from_quarter": "2025Q1", "to_quarter": "2025Q4"}).content.decode()
    assert "being computed just now" in page
    assert CohortState.objects.filter(dimension="period").count() == 2


# --- disclosure across overlapping periods ------------------------------------------------------


def test_a_suppressed_count_cannot_be_recovered_by_subtracting_one_periods_n_from_anothers(client):
    """Q1 started 8 completers, Q2 only 3: "Q1–Q2" minus "Q1" would give the 3 away."""
    spring, _ = facilitated_group(name="Spring course")
    org = spring.organisation
    summer, _ = facilitated_group(org, name="Summer course")
    started(spring, dt.datetime(2025, 2, 3, 18, tzinfo=UTC))
    started(summer, dt.datetime(2025, 5, 5, 18, tzinfo=UTC))
    for group, n in ((spring, 8), (summer, 3)):
        for i in range(n):
            m = active_member(group)
            for tp, total in (("baseline", 40 + i), ("post", 44 + i)):
                a, _ = Assessment.objects.get_or_create(membership=m, time_point=tp, status=AssessmentStatus.COMPLETED)
                Response.objects.create(
                    assessment=a, instrument_code="wemwbs", instrument_version=1, total=total,
                    scores={"total": total, "subscales": {}}, submitted_at=timezone.now(),
                )  # fmt: skip
    for value in ("2025Q1-2025Q1", "2025Q1-2025Q2", "2025Q2-2025Q4"):
        add_period(org, value, computed=False)
    recompute.recompute_all(organisation_id=org.id)
    lead = person(org, RoleKind.LEAD)
    client.force_login(lead)
    content = client.get(reverse("outcomes:export_summary_csv", args=[org.slug])).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    period_rows = {r["cohort_value"]: r for r in rows if r["table"] == "outcome" and r["cohort_dimension"] == "period"}
    assert set(period_rows) == {"2025Q1-2025Q1", "2025Q1-2025Q2", "2025Q2-2025Q4"}
    assert period_rows["2025Q2-2025Q4"]["n"] == SUPPRESSED  # 3 people
    assert period_rows["2025Q1-2025Q2"]["cohort_label"] == "Groups starting 2025 Q1 – 2025 Q2"

    # The direct attack on this pair of periods …
    wide, narrow = period_rows["2025Q1-2025Q2"]["n"], period_rows["2025Q1-2025Q1"]["n"]
    assert set(HIDDEN) & {wide, narrow}
    # … and every other: a hidden count is disclosed when its groups are a combination of published counts'.
    group_ids = sorted(SupportGroup.objects.filter(organisation=org).values_list("pk", flat=True))
    org_groups = SupportGroup.objects.filter(organisation=org)
    for table, count in (("outcome", "n"), ("change", "n_pairs"), ("flow", "enrolled")):
        shown, hidden = [], []
        for r in rows:
            if r["table"] != table or (table == "outcome" and r["time_point"] != "baseline"):
                continue
            members = set(
                org_groups.filter(groups_filter(r["cohort_dimension"], r["cohort_value"])).values_list("pk", flat=True)
            )
            vector = np.array([1.0 if pk in members else 0.0 for pk in group_ids])
            (hidden if r[count] in HIDDEN else shown).append(((r["cohort_dimension"], r["cohort_value"]), vector))
        assert hidden, table
        published = np.array([v for _, v in shown]) if shown else np.zeros((0, len(group_ids)))
        rank = np.linalg.matrix_rank(published) if shown else 0
        for key, vector in hidden:
            assert np.linalg.matrix_rank(np.vstack([published, vector])) > rank, (table, key)
