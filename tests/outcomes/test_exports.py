"""Lead exports: who may download, what is audited, pseudonyms, formula injection, suppression, streaming."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import numpy as np
import openpyxl
import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from outcomes.evaluation.disclosure.mask import DEFAULT_K, MIN_K
from outcomes.evaluation.disclosure.suppression import threshold_for
from outcomes.evaluation.protection import protect_organisation
from outcomes.exports.cells import neutralise
from outcomes.models import (
    Assessment,
    ChangeSummary,
    CohortState,
    FlowSummary,
    OutcomeSummary,
    Response,
    ResponseSource,
)
from peersupport.models import AuditEvent, ConsentDecision, Organisation, RoleKind
from tests.factories import OrganisationFactory, active_member, facilitated_group, person, submitted

pytestmark = pytest.mark.django_db

HOSTILE = '=HYPERLINK("http://evil.example","x")'
K = DEFAULT_K
SUPPRESSED = f"suppressed (<{K})"
COMPLEMENTARY = "suppressed (complementary)"
#: What a reader of the file takes for a hidden cell, whichever rule hid it.
HIDDEN = (SUPPRESSED, COMPLEMENTARY)

EXPORT_URLS = (
    "outcomes:exports",
    "outcomes:export_summary_csv",
    "outcomes:export_summary_xlsx",
    "outcomes:export_meta_analysis_csv",
    "outcomes:export_items_csv",
    "outcomes:export_dictionary_csv",
)
DOWNLOADS = EXPORT_URLS[1:]


def submit(membership, time_point, answers, *, code="phq9", version=1, source=ResponseSource.ONLINE, when=None):
    total = sum(v for v in answers.values() if v is not None)
    return submitted(membership, time_point, answers, code=code, version=version, source=source, when=when, total=total)


def phq9(value: int) -> dict:
    return {**{f"q{i}": value for i in range(1, 10)}, "difficulty": 1}


def cohort(organisation, dimension, value="", label=""):
    return CohortState.objects.create(
        organisation=organisation, dimension=dimension, value=value, label=label, stale=False
    )


def outcome(state, n, *, time_point="baseline", mean=10.0, sd=-2.5):
    # A negative "sd" is nonsense statistically but proves negative numbers stay numbers.
    return OutcomeSummary.objects.create(
        cohort=state, instrument_code="phq9", scale="total", time_point=time_point, n=n, mean=mean, sd=sd,
        median=mean, q1=mean - 2, q3=mean + 2, ci_low=mean - 1, ci_high=mean + 1,
    )  # fmt: skip


def change(state, n_pairs, improved, unchanged, deteriorated, recovered=None, *, to="post"):
    return ChangeSummary.objects.create(
        cohort=state, instrument_code="phq9", scale="total", from_time_point="baseline", to_time_point=to,
        higher_is_better=False, n_pairs=n_pairs, mean_change=-3.25, sd_change=4.0, ci_low=-5.0, ci_high=-1.5,
        t=-3.1, p=0.004, p_wilcoxon=0.006, wilcoxon_method="exact", d_z=-0.8, d_av=-0.6, g_av=-0.58,
        g_av_ci_low=-0.9, g_av_ci_high=-0.2, r_pre_post=0.55, improved=improved, unchanged=unchanged,
        deteriorated=deteriorated, recovered=recovered,
        rci_parameters={"sd_pre": 5.0, "sd_source": "clinical norm", "reliability": 0.84,
                        "reliability_kind": "alpha", "cutoff": 10.0},
    )  # fmt: skip


def flow(state, *, enrolled, started, completed, withdrawn, reasons, done, dose_n, share=0.5):
    return FlowSummary.objects.create(
        cohort=state, enrolled=enrolled, started=started, completed_group=completed, withdrawn=withdrawn,
        withdrawal_reasons=reasons, assessments_done=done, dose_n=dose_n, dose_median=0.6, dose_q1=0.4,
        dose_q3=0.8, dose_share_half=share,
    )  # fmt: skip


@pytest.fixture
def service():
    """An organisation with a hostile-named group, three members' answers, and summary figures."""
    group, facilitator = facilitated_group(name=HOSTILE, delivery="online")
    org = group.organisation
    other_group, _ = facilitated_group(org, name="Tuesday group", delivery="in_person")
    lead = person(org, RoleKind.LEAD)
    members = [active_member(group) for _ in range(2)] + [active_member(other_group)]
    day = dt.datetime(2025, 3, 4, 23, 30, tzinfo=dt.UTC)  # 4 March in UTC, 4 March in London (GMT)
    for index, membership in enumerate(members):
        submit(membership, "baseline", phq9(index + 1), when=day)
        submit(membership, "post", phq9(index), when=day + dt.timedelta(days=60), source=ResponseSource.IMPORT)
    # A member who later withdrew consent: what they gave before is still exported.
    withdrawn = members[0].user
    ConsentDecision.objects.create(
        user=withdrawn,
        consent_version=withdrawn.consent_decisions.first().consent_version,
        action=ConsentDecision.Action.WITHDRAWN,
    )
    # A draft is not data.
    draft_assessment = Assessment.objects.create(membership=members[1], time_point="follow_up_3")
    Response.objects.create(
        assessment=draft_assessment, instrument_code="phq9", instrument_version=1, answers={"q1": 3}
    )

    whole = cohort(org, "organisation", label="All groups")
    hostile = cohort(org, "group", str(group.pk), HOSTILE)
    tuesday = cohort(org, "group", str(other_group.pk), "Tuesday group")
    online = cohort(org, "delivery", "online", "Online")
    # n: 20 = 17 + 3. The 3 is primary-suppressed; 17 must go too, or 20 − 17 gives it away.
    outcome(whole, 20)
    outcome(hostile, 17)
    outcome(tuesday, 3)
    outcome(online, 17)
    # 12 + 6 + 2 = 20; the 2 is hidden, so the 6 must be too. Groups add up to the organisation.
    change(whole, 20, 12, 6, 2, recovered=7)
    change(hostile, 14, 9, 4, 1, recovered=5)
    change(tuesday, 6, 3, 2, 1, recovered=2)
    change(online, 14, 9, 4, 1, recovered=5)
    flow(
        whole, enrolled=24, started=22, completed=10, withdrawn=9, dose_n=24,
        reasons={"health": 5, "time_or_place": 3, "not_recorded": 1}, done={"baseline": 20, "post": 18},
    )  # fmt: skip
    flow(
        hostile, enrolled=18, started=16, completed=8, withdrawn=6, dose_n=18,
        reasons={"health": 5, "time_or_place": 1}, done={"baseline": 17, "post": 14},
    )  # fmt: skip
    flow(
        tuesday, enrolled=6, started=6, completed=2, withdrawn=3, dose_n=6,
        reasons={"time_or_place": 2, "not_recorded": 1}, done={"baseline": 3, "post": 4},
    )  # fmt: skip
    flow(
        online, enrolled=18, started=16, completed=8, withdrawn=6, dose_n=18,
        reasons={"health": 5, "time_or_place": 1}, done={"baseline": 17, "post": 14},
    )  # fmt: skip
    protect_organisation(org.pk)  # figures written by hand: the recompute would have protected them here
    return {"org": org, "lead": lead, "facilitator": facilitator, "members": members, "group": group}


def download(client, user, name, org) -> bytes:
    client.force_login(user)
    response = client.get(reverse(name, args=[org.slug]))
    assert response.status_code == 200, name
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content)
    return response.content


def read_csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


# --- who may export -----------------------------------------------------------------------------


def test_facilitators_members_and_leads_of_other_organisations_get_404_on_every_export_url(client, service):
    org = service["org"]
    other_lead = person(OrganisationFactory(), RoleKind.LEAD)
    for user in (service["facilitator"], service["members"][1].user, other_lead):
        client.force_login(user)
        for name in EXPORT_URLS:
            assert client.get(reverse(name, args=[org.slug])).status_code == 404, (user, name)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()
    client.logout()
    assert client.get(reverse("outcomes:export_items_csv", args=[org.slug])).status_code == 302  # to sign-in


def test_each_export_writes_one_audit_row_with_the_lead_as_actor(client, service):
    org, lead = service["org"], service["lead"]
    for name in DOWNLOADS:
        before = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count()
        download(client, lead, name, org)
        events = list(AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).order_by("-id"))
        assert len(events) == before + 1, name
        assert events[0].actor == lead and events[0].organisation == org
        assert events[0].detail["kind"] and "rows" in events[0].detail
    kinds = set(AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).values_list("detail__kind", flat=True))
    assert kinds == {"summary_csv", "summary_xlsx", "meta_analysis_csv", "items_csv", "dictionary_csv"}
    client.get(reverse("outcomes:exports", args=[org.slug]))  # the page itself exports nothing
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == len(DOWNLOADS)


# --- item-level export --------------------------------------------------------------------------


# The item-level export's person-level rule: tests/outcomes/test_item_export_rule.py.


# --- formula injection --------------------------------------------------------------------------


def test_text_cells_that_a_spreadsheet_would_run_are_neutralised_and_numbers_are_left_alone():
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(dangerous) == "'" + dangerous
    assert neutralise("Tuesday group") == "Tuesday group"
    assert neutralise(-3.5) == -3.5 and neutralise(-2) == -2 and neutralise(0) == 0


def test_a_hostile_group_name_is_neutralised_in_the_csv_and_the_xlsx_and_negative_numbers_stay_numbers(client, service):
    org, lead = service["org"], service["lead"]
    rows = read_csv(download(client, lead, "outcomes:export_summary_csv", org))
    labels = {row["cohort_label"] for row in rows}
    assert "'" + HOSTILE in labels
    assert not any(label.startswith(("=", "+", "-", "@")) for label in labels)
    org_change = next(r for r in rows if r["table"] == "change" and r["cohort_dimension"] == "organisation")
    assert org_change["mean_change"] == "-3.25" and org_change["t"] == "-3.1"  # negative numbers, not "'-3.25"

    workbook = openpyxl.load_workbook(io.BytesIO(download(client, lead, "outcomes:export_summary_xlsx", org)))
    assert workbook.sheetnames == ["Outcomes", "Change", "Flow", "Comparisons", "Attrition", "About"]
    for sheet in ("Outcomes", "Change", "Flow"):
        cells = [cell for row in workbook[sheet].iter_rows(min_row=2) for cell in row]
        hostile = [cell for cell in cells if isinstance(cell.value, str) and "HYPERLINK" in cell.value]
        assert hostile, sheet
        for cell in hostile:
            assert cell.data_type == "s" and cell.value == "'" + HOSTILE
        assert not any(cell.data_type == "f" for cell in cells)
    header = [cell.value for cell in workbook["Change"][1]]
    org_row = next(row for row in workbook["Change"].iter_rows(min_row=2, values_only=True) if row[0] == "organisation")
    assert org_row[header.index("mean_change")] == -3.25  # a number cell, not text
    assert org_row[header.index("n_pairs")] == 20


# --- suppression --------------------------------------------------------------------------------


def recovered_by_subtraction(total, cells) -> list[int]:
    """The attack: if a published total has exactly one suppressed part, total − shown parts is that part."""
    if total in ("", *HIDDEN):
        return []
    hidden = [i for i, cell in enumerate(cells) if cell in HIDDEN]
    if len(hidden) != 1:
        return []
    return [int(total) - sum(int(cell or 0) for cell in cells if cell not in HIDDEN)]


def attack(rows: list[dict]) -> list[tuple]:
    """Every suppressed count the published totals give away, within a row or across a cohort dimension."""
    leaks = []
    for row in rows:
        if row["table"] == "change":
            cells = [row["improved"], row["unchanged"], row["deteriorated"]]
            leaks += [(row["cohort_label"], "change", v) for v in recovered_by_subtraction(row["n_pairs"], cells)]
        if row["table"] == "flow":
            cells = [row[name] for name in row if name.startswith("withdrawn_")]
            leaks += [(row["cohort_label"], "reasons", v) for v in recovered_by_subtraction(row["withdrawn"], cells)]
    # Across cohorts: the organisation's figure minus its groups' shown figures.
    keys = {
        "outcome": (("instrument", "scale", "time_point"), ("n",)),
        "change": (("instrument", "scale", "from_time_point", "to_time_point"), ("n_pairs", "improved", "unchanged")),
        "flow": ((), ("enrolled", "started", "completed_group", "withdrawn", "assessed_baseline", "assessed_post")),
    }
    for table, (family_columns, counts) in keys.items():
        table_rows = [row for row in rows if row["table"] == table]
        families = {tuple(row[c] for c in family_columns) for row in table_rows}
        for family in families:
            members = [row for row in table_rows if tuple(row[c] for c in family_columns) == family]
            whole = [row for row in members if row["cohort_dimension"] == "organisation"]
            groups = [row for row in members if row["cohort_dimension"] == "group"]
            for count in counts:
                for row in whole:
                    cells = [group[count] for group in groups]
                    leaks += [(table, family, count, v) for v in recovered_by_subtraction(row[count], cells)]
    return leaks


def change_counts_solved_by_linear_algebra(rows: list[dict], group_ids: list[str]) -> list[tuple]:
    """The stronger attack: every published change count is a sum of unknown per-group parts (recovered,
    improved-not-recovered, unchanged, deteriorated); a suppressed count is disclosed when its sum is a
    combination of the published ones."""
    parts = ("recovered", "improved_only", "unchanged", "deteriorated")
    column = {(g, p): i for i, (g, p) in enumerate((g, p) for g in group_ids for p in parts)}
    makes = {
        "n_pairs": parts,
        "improved": ("recovered", "improved_only"),
        "recovered": ("recovered",),
        "unchanged": ("unchanged",),
        "deteriorated": ("deteriorated",),
    }
    shown, hidden = [], []
    for row in rows:
        if row["table"] != "change":
            continue
        groups = group_ids if row["cohort_dimension"] == "organisation" else [row["cohort_value"]]
        for name, made_of in makes.items():
            vector = np.zeros(len(column))
            for g in groups:
                for p in made_of:
                    vector[column[(g, p)]] = 1
            (hidden if row[name] in HIDDEN else shown).append((row["cohort_label"], name, vector))
    published = np.array([vector for *_, vector in shown])
    rank = np.linalg.matrix_rank(published)
    return [
        (label, name) for label, name, vector in hidden if np.linalg.matrix_rank(np.vstack([published, vector])) == rank
    ]


def test_the_attack_recovers_a_count_hidden_without_secondary_suppression():
    naive = [
        {"table": "change", "cohort_label": "x", "cohort_dimension": "group", "instrument": "phq9", "scale": "total",
         "from_time_point": "baseline", "to_time_point": "post", "n_pairs": "20", "improved": "12", "unchanged": "6",
         "deteriorated": SUPPRESSED},
    ]  # fmt: skip
    assert attack(naive) == [("x", "change", 2)]


def test_suppressed_counts_cannot_be_recovered_by_subtracting_the_shown_cells_from_a_published_total(client, service):
    rows = read_csv(download(client, service["lead"], "outcomes:export_summary_csv", service["org"]))
    assert attack(rows) == []
    whole_change = next(r for r in rows if r["table"] == "change" and r["cohort_dimension"] == "organisation")
    # 2 deteriorated is primary-suppressed, and counts of its row with it; n_pairs 20 and its statistics stay.
    assert whole_change["n_pairs"] == "20" and whole_change["mean_change"] == "-3.25"
    assert whole_change["deteriorated"] == SUPPRESSED and whole_change["unchanged"] in HIDDEN
    # Cross-cohort: the small group is hidden, and so is the other group, or 20 − 17 would give it away.
    outcomes = {r["cohort_label"]: r for r in rows if r["table"] == "outcome"}
    assert outcomes["Tuesday group"]["n"] == SUPPRESSED and outcomes["Tuesday group"]["mean"] == SUPPRESSED
    assert outcomes["'" + HOSTILE]["n"] == COMPLEMENTARY and outcomes["'" + HOSTILE]["mean"] == COMPLEMENTARY
    # Across tables: the organisation's n at baseline (20) is its flow's count assessed at baseline, hidden
    # there (24 − 20 would say 4 were not assessed), so it is hidden here too, with its statistics.
    flows = {r["cohort_label"]: r for r in rows if r["table"] == "flow"}
    assert flows["All groups"]["assessed_baseline"] == COMPLEMENTARY
    assert outcomes["All groups"]["n"] == COMPLEMENTARY and outcomes["All groups"]["mean"] == COMPLEMENTARY
    # Flow: 4 of the hostile group's 18 are still in the group (18 − 8 completed − 6 withdrawn): not
    # published, but it would follow by subtraction, so "withdrawn" is hidden too; 16 of 18 started
    # means 2 did not, so "started" is hidden.
    hostile = flows["'" + HOSTILE]
    assert (hostile["enrolled"], hostile["withdrawn"], hostile["started"]) == ("18", COMPLEMENTARY, COMPLEMENTARY)
    assert hostile["withdrawn_time_or_place"] == SUPPRESSED  # 1 person
    # The organisation's reasons 5 + 3 + 1: the 3 and the 1 are hidden, and so the 9 withdrawn that adds them up.
    whole = flows["All groups"]
    assert whole["withdrawn_health"] == "5" and whole["withdrawn"] == COMPLEMENTARY
    assert whole["withdrawn_time_or_place"] == whole["withdrawn_not_recorded"] == SUPPRESSED
    assert flows["Tuesday group"]["enrolled"] == "6"
    assert all(
        flows[name][column] in ("0", *HIDDEN) or int(flows[name][column]) >= K
        for name in flows
        for column in flows[name]
        if column.startswith(("withdrawn", "assessed_", "enrolled", "started", "completed"))
    )


def test_randomly_filled_tables_never_give_a_suppressed_count_away(client):
    rng = random.Random(20250304)
    org = OrganisationFactory()
    lead = person(org, RoleKind.LEAD)
    groups = [facilitated_group(org, delivery=rng.choice(["online", "in_person"]))[0] for _ in range(5)]
    whole = cohort(org, "organisation", label="All groups")
    totals: dict[str, list[int]] = {"change": [0, 0, 0, 0], "flow": [0] * 8}
    for group in groups:
        state = cohort(org, "group", str(group.pk), group.name)
        improved, unchanged, deteriorated = (rng.randint(0, 9) for _ in range(3))
        recovered = rng.randint(0, improved)
        change(state, improved + unchanged + deteriorated, improved, unchanged, deteriorated, recovered)
        for index, value in enumerate((improved, unchanged, deteriorated, recovered)):
            totals["change"][index] += value
        health, practical, not_recorded = (rng.randint(0, 4) for _ in range(3))
        completed, ongoing = rng.randint(0, 8), rng.randint(0, 3)
        withdrawn = health + practical + not_recorded
        enrolled = completed + ongoing + withdrawn
        started = rng.randint(0, enrolled)
        baseline = rng.randint(0, enrolled)
        flow(
            state, enrolled=enrolled, started=started, completed=completed, withdrawn=withdrawn, dose_n=enrolled,
            reasons={"health": health, "practical": practical, "not_recorded": not_recorded},
            done={"baseline": baseline},
        )  # fmt: skip
        for index, value in enumerate((enrolled, started, completed, withdrawn, health, practical, not_recorded)):
            totals["flow"][index] += value
        totals["flow"][7] += baseline
    improved, unchanged, deteriorated, recovered = totals["change"]
    change(whole, improved + unchanged + deteriorated, improved, unchanged, deteriorated, recovered)
    enrolled, started, completed, withdrawn, health, practical, not_recorded, baseline = totals["flow"]
    flow(
        whole, enrolled=enrolled, started=started, completed=completed, withdrawn=withdrawn, dose_n=enrolled,
        reasons={"health": health, "practical": practical, "not_recorded": not_recorded}, done={"baseline": baseline},
    )  # fmt: skip
    protect_organisation(org.pk)
    rows = read_csv(download(client, lead, "outcomes:export_summary_csv", org))
    assert any(set(HIDDEN) & set(row.values()) for row in rows)  # the attack has something to try
    assert attack(rows) == []
    assert change_counts_solved_by_linear_algebra(rows, [str(g.pk) for g in groups]) == []


def test_the_threshold_is_the_organisations_own_but_never_below_the_minimum():
    org = OrganisationFactory()
    assert threshold_for(org) == DEFAULT_K
    org.suppression_threshold = 10
    assert threshold_for(org) == 10
    org.suppression_threshold = 1
    assert threshold_for(org) == MIN_K


def _hidden_cells(rows: list[dict]) -> dict[tuple, str]:
    """(row number, column) → text of every hidden cell of the summary CSV."""
    return {(i, column): value for i, row in enumerate(rows) for column, value in row.items() if "(<" in value}


def test_a_higher_threshold_suppresses_more(client, service):
    at_default = read_csv(download(client, service["lead"], "outcomes:export_summary_csv", service["org"]))
    Organisation.objects.filter(pk=service["org"].pk).update(suppression_threshold=10)
    protect_organisation(service["org"].pk)  # a new threshold recomputes the figures, and so their protection
    at_ten = read_csv(download(client, service["lead"], "outcomes:export_summary_csv", service["org"]))
    assert len(at_ten) == len(at_default)
    hidden_default, hidden_ten = _hidden_cells(at_default), _hidden_cells(at_ten)
    # Every cell hidden at the default is hidden at 10 too, more are, and each says which threshold hid it.
    assert set(hidden_default) < set(hidden_ten)
    assert set(hidden_ten.values()) == {"suppressed (<10)"} and set(hidden_default.values()) == {SUPPRESSED}
    whole_change = next(r for r in at_ten if r["table"] == "change" and r["cohort_dimension"] == "organisation")
    assert whole_change["unchanged"] == "suppressed (<10)"


# --- meta-analysis, dictionary, page ------------------------------------------------------------


def test_the_meta_analysis_csv_has_n_mean_and_sd_per_time_point_and_the_pre_post_figures(client, service):
    rows = read_csv(download(client, service["lead"], "outcomes:export_meta_analysis_csv", service["org"]))
    whole = next(r for r in rows if r["cohort_dimension"] == "organisation")
    assert (whole["instrument"], whole["scale"]) == ("phq9", "total")
    # Hidden with the flow's count assessed at baseline, its twin (see the subtraction test above).
    assert (whole["n_baseline"], whole["mean_baseline"], whole["sd_baseline"]) == (COMPLEMENTARY,) * 3
    assert whole["n_post"] == ""  # no figures at post in the fixture
    assert whole["n_pairs_baseline_post"] == "20"
    assert (whole["mean_change_baseline_post"], whole["sd_change_baseline_post"]) == ("-3.25", "4.0")
    assert whole["r_pre_post_baseline_post"] == "0.55"
    tuesday = next(r for r in rows if r["cohort_label"] == "Tuesday group")
    assert tuesday["n_baseline"] == SUPPRESSED and tuesday["mean_baseline"] == SUPPRESSED
    # Its 6 pairs are hidden too (complementary): they are 3 improved + 2 unchanged + 1 deteriorated, all hidden.
    assert tuesday["n_pairs_baseline_post"] == COMPLEMENTARY


def test_the_data_dictionary_describes_every_column_and_item_without_licensed_wording(client, service):
    rows = read_csv(download(client, service["lead"], "outcomes:export_dictionary_csv", service["org"]))
    described = {(row["export"], row["column"]) for row in rows if row["section"] == "column"}
    for name, export in (
        ("outcomes:export_items_csv", "items"),
        ("outcomes:export_meta_analysis_csv", "meta_analysis"),
        ("outcomes:export_summary_csv", "summary"),
    ):
        header = next(
            csv.reader(io.StringIO(download(client, service["lead"], name, service["org"]).decode("utf-8-sig")))
        )
        assert {(export, column) for column in header} <= described, export
    assert all(row["description"] for row in rows)
    items = {(row["instrument"], row["item_key"]): row for row in rows if row["section"] == "item"}
    assert items[("phq9", "q9")]["item_number"] == "9" and items[("phq9", "q9")]["scored"] == "scored"
    assert items[("phq9", "difficulty")]["scored"] == "filler"
    assert "0 = " in items[("phq9", "q1")]["option_labels"]
    assert items[("hhi", "q3")]["reverse"] == "true" and items[("hhi", "q3")]["option_labels"] == ""
    assert items[("hhi", "q3")]["licence_mode"] == "licence_required"
    notes = " ".join(row["description"] for row in rows if row["section"] == "note")
    assert "withdraw" in notes and "suppressed" in notes


def test_the_exports_page_lists_every_download_says_the_item_export_streams_and_has_no_inline_code(client, service):
    org = service["org"]
    client.force_login(service["lead"])
    response = client.get(reverse("outcomes:exports", args=[org.slug]))
    html = response.content.decode()
    for name in DOWNLOADS:
        assert reverse(name, args=[org.slug]) in html
    assert "streamed" in html and "suppressed (&lt;5)" in html
    assert 'name="viewport"' in html
    assert "<script>" not in html and "<style" not in html and ' style="' not in html
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("name", [n for n in DOWNLOADS if n.endswith("_csv")])
def test_every_csv_starts_with_a_utf8_byte_order_mark_so_excel_reads_dashes_and_accents(client, service, name):
    content = download(client, service["lead"], name, service["org"])
    assert content.startswith(b"\xef\xbb\xbf") and content[3:4] != b"\xef"  # one mark, then the header
    assert next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[0] != ""
