"""``manage.py audit_disclosure``: the auditor on what an organisation publishes today (docs/statistics.md §6)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from outcomes.evaluation import recompute
from outcomes.evaluation.disclosure.audit import audit
from outcomes.evaluation.disclosure.hidden import Hidden
from outcomes.evaluation.disclosure.published import published_figures
from outcomes.evaluation.summary import FLOW_REASONS, FLOW_TIME_POINTS, summary_tables
from outcomes.management.commands.audit_disclosure import cohort_groups
from tests.factories import active_member, facilitated_group
from tests.outcomes.test_aggregation import answered

pytestmark = pytest.mark.django_db


def _two_groups(sizes=(17, 3)):
    big, _ = facilitated_group()
    small, _ = facilitated_group(organisation=big.organisation)
    for group, n in zip((big, small), sizes, strict=True):
        for i in range(n):
            answered(active_member(group), "baseline", 20 + i)
    recompute.recompute_all(organisation_id=big.organisation_id)
    return big, small


def test_the_command_finds_nothing_to_work_out_in_todays_tables(capsys):
    big, small = _two_groups()
    call_command("audit_disclosure", "--org", big.organisation.slug)
    out = capsys.readouterr().out
    assert "0 breaking the rule" in out and "hidden" in out


def test_the_command_names_a_figure_a_reader_can_work_out():
    big, small = _two_groups()
    organisation = big.organisation
    tables = summary_tables(organisation)
    # Show the big group's n again: the organisation's 20 minus 17 gives the small group's 3 away.
    for row in tables.outcomes:
        if row["cohort_dimension"] == "group" and row["cohort_value"] == str(big.pk):
            row["n"] = 17
    figures, links = published_figures(
        tables, cohort_groups(organisation), reasons=FLOW_REASONS, time_points=FLOW_TIME_POINTS
    )
    result = audit(figures, k=tables.k, links=links)
    worked_out = {v.key for v in result.violations}
    assert any(key[1:] == ("group", str(small.pk), "n") and key[0][0] == "outcome" for key in worked_out)


def test_an_unknown_organisation_is_refused():
    with pytest.raises(CommandError, match="No organisation"):
        call_command("audit_disclosure", "--org", "no-such-organisation")


def test_hidden_figures_carry_the_label_the_recompute_stored_and_the_auditor_reads_it():
    big, small = _two_groups()
    tables = summary_tables(big.organisation)
    figures, _links = published_figures(
        tables, cohort_groups(big.organisation), reasons=FLOW_REASONS, time_points=FLOW_TIME_POINTS
    )
    hidden = {f.key: f for f in figures if isinstance(f.value, Hidden)}
    assert hidden and all(f.labelled for f in hidden.values())

    def n_of(group):
        return {
            f.value for key, f in hidden.items() if key[0][0] == "outcome" and key[1:] == ("group", str(group.pk), "n")
        }

    # The small group's 3 is labelled small; the big group's 17, hidden so that 20 − 17 does not give it away,
    # complementary.
    assert n_of(small) == {Hidden.small(tables.k)} and n_of(big) == {Hidden.complementary(tables.k)}
