"""Protection of nested tables and its independent auditor (docs/statistics.md §6).

The protection (outcomes.evaluation.disclosure.hierarchy) decides what to hide; the auditor
(outcomes.evaluation.disclosure.audit) sees only what would be published and computes, by linear
programming, the interval each hidden figure must lie in. The auditor must pass what the protection
publishes, and must catch tables protected less well.
"""

from __future__ import annotations

import pytest

from outcomes.evaluation.disclosure.audit import Published, audit
from outcomes.evaluation.disclosure.hidden import Hidden, Reason, is_hidden
from outcomes.evaluation.disclosure.hierarchy import TableBuilder, label, links_of, protect, published_view
from outcomes.evaluation.disclosure.seeded import seeded_tables


def _audit(tables, protection, *, k):
    truth = {key: int(tables.value[i]) for i, key in enumerate(tables.keys)}
    return audit(published_view(tables, protection), k=k, links=links_of(tables), truth=truth)


def _worked_example():
    """docs/statistics.md §6: curriculum A has groups of 3 and 9, curriculum B one group of 12."""
    b = TableBuilder()
    for group, n in (("g1", 3), ("g2", 9), ("g3", 12)):
        b.atom("n", group, "n", n)
    b.figure("organisation", "n", ["g1", "g2", "g3"], ["n"])
    b.figure("A", "n", ["g1", "g2"], ["n"])
    b.figure("B", "n", ["g3"], ["n"])
    for group in ("g1", "g2", "g3"):
        b.figure(group, "n", [group], ["n"])
    return b.build()


def _view(values: dict, k: int = 5) -> list[Published]:
    atoms = {"organisation": ("g1", "g2", "g3"), "A": ("g1", "g2"), "B": ("g3",), "g1": ("g1",), "g2": ("g2",)}
    atoms["g3"] = ("g3",)
    return [Published(key, atoms[key], values[key]) for key in atoms]


# --- the typed hidden value ----------------------------------------------------------------------


def test_a_hidden_value_says_which_rule_hid_it():
    small, other = Hidden.small(5), Hidden.complementary(5)
    assert small.reason is Reason.SMALL and other.reason is Reason.COMPLEMENTARY
    assert small != other and small == Hidden(Reason("small"), 5)
    assert str(small) == "suppressed (<5)" and str(other) == "suppressed (complementary)"
    assert "fewer than 5" in small.explanation() and "worked out" in other.explanation()
    assert other.as_json() == {"hidden": "complementary", "k": 5}
    assert is_hidden(small) and not is_hidden(3)
    with pytest.raises(ValueError):
        Hidden("tiny", 5)
    with pytest.raises(ValueError):
        Hidden.small(0)


def test_a_label_tells_only_which_side_of_k_a_figure_is():
    assert label(0, 5) == label(4, 5) == Hidden.small(5)
    assert label(5, 5) == label(80, 5) == Hidden.complementary(5)


# --- the worked example --------------------------------------------------------------------------


def test_worked_example_hides_the_small_group_and_its_sibling_only():
    tables = _worked_example()
    protection = protect(tables, k=5)
    assert protection.hidden == {"g1": Hidden.small(5), "g2": Hidden.complementary(5)}
    result = _audit(tables, protection, k=5)
    assert result.ok
    assert result.intervals["g1"] == pytest.approx((0, 4))  # anything a small figure can be
    assert result.intervals["g2"] == pytest.approx((8, 12))  # g1 + g2 = 12, g1 at most 4


def test_the_auditor_works_out_a_small_group_left_alone_in_its_curriculum():
    # Only the 3 hidden: curriculum A (12) minus the 9 gives it away.
    result = audit(_view({"organisation": 24, "A": 12, "B": 12, "g1": Hidden.small(5), "g2": 9, "g3": 12}), k=5)
    assert [v.key for v in result.violations] == ["g1"]
    assert result.intervals["g1"] == pytest.approx((3, 3))


def test_the_auditor_sees_through_a_complement_in_the_wrong_subtable():
    # Hiding the 12 of curriculum B does not help the 3 of curriculum A: A's total still gives it away
    # (and B's total gives the 12 away, so hiding it hid nothing).
    view = _view({"organisation": 24, "A": 12, "B": 12, "g1": Hidden.small(5), "g2": 9, "g3": Hidden.complementary(5)})
    result = audit(view, k=5)
    assert {v.key for v in result.violations} == {"g1", "g3"}
    assert result.intervals["g3"] == pytest.approx((12, 12))


def test_the_auditor_reads_the_labels_too():
    # g1 + g2 = 12 with g2 hidden as "k or more" and shown nowhere else: g1 is 0..4, fine. But if g2 were
    # labelled small as well, both would be at most 4 and could not add up to 12: the view is impossible.
    view = _view({"organisation": 24, "A": 12, "B": 12, "g1": Hidden.small(5), "g2": Hidden.small(5), "g3": 12})
    with pytest.raises(ValueError, match="contradict"):
        audit(view, k=5)


# --- seeded organisations ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded():
    """A seeded organisation of four groups of 2 to 16 members, protected with k = 5."""
    tables = seeded_tables(4, seed=0, members=(2, 16), periods=1)
    return tables, protect(tables, k=5)


@pytest.mark.parametrize(("seed", "members", "k"), [(0, (2, 16), 5), (1, (20, 20), 5), (3, (5, 30), 10)])
def test_the_protected_tables_of_a_seeded_organisation_pass_the_audit(seed, members, k, seeded):
    if seed == 0:
        tables, protection = seeded
    else:
        tables = seeded_tables(3, seed=seed, members=members, periods=1)
        protection = protect(tables, k=k)
    assert protection.unprotected == []
    small = [key for i, key in enumerate(tables.keys) if tables.published[i] and 0 < tables.value[i] < k]
    assert small and all(protection.hidden[key] == Hidden.small(k) for key in small)
    # Known figures (a cohort with nobody at a time point) are never hidden.
    assert not any(key in protection.hidden for i, key in enumerate(tables.keys) if not tables.hideable[i])
    result = _audit(tables, protection, k=k)
    assert result.violations == []


def test_with_k_3_what_the_labels_alone_pin_down_is_reported_and_flagged():
    # Labels 0–2 and "3 or more" are tight: the labels alone can determine a small figure. The protection
    # must say which, and those are exactly what the auditor flags.
    tables = seeded_tables(4, seed=2, members=(3, 12), periods=1)
    protection = protect(tables, k=3)
    flagged = {v.key for v in _audit(tables, protection, k=3).violations}
    assert flagged and flagged <= set(protection.unprotected)


def test_the_auditor_catches_a_seeded_organisation_protected_by_small_numbers_only(seeded):
    tables, protection = seeded
    primary_only = type(protection)(k=5, hidden={k: h for k, h in protection.hidden.items() if h.is_small})
    # Hidden zeros are labelled small as well: keep only the truly small ones.
    primary_only.hidden = {key: h for key, h in primary_only.hidden.items() if 0 < tables.value[tables.index[key]] < 5}
    result = _audit(tables, primary_only, k=5)
    assert result.violations
    assert any("determine" in v.why or "narrow" in v.why for v in result.violations)


def test_enrolled_is_hidden_in_every_flow_table_or_in_none(seeded):
    tables, protection = seeded
    for group in links_of(tables):
        states = {key in protection.hidden for key in group}
        assert len(states) == 1, group


# --- tables that share a count (issue 15, item 4) ------------------------------------------------


def _n_and_flow(*, linked: bool):
    """A scale's n at the end (outcomes table) and the flow's count assessed then, equal in every cohort."""
    b = TableBuilder()
    for g, count in (("g1", 2), ("g2", 10)):
        b.atom("n", g, "n", count)
        b.atom("flow", g, "assessed", count)
        b.atom("flow", g, "not_assessed", 3)
    for name, units in (("organisation", ["g1", "g2"]), ("g1", ["g1"]), ("g2", ["g2"])):
        b.figure((name, "n"), "n", units, ["n"], weight=3)
        b.figure((name, "assessed"), "flow", units, ["assessed"])
        b.figure((name, "enrolled"), "flow", units, ["assessed", "not_assessed"], weight=3)
        if linked:  # a reader takes equal counts of the same cohort and time point for one figure
            b.link((name, "n"), (name, "assessed"))
    return b.build()


def test_a_count_hidden_in_one_table_is_not_shown_by_another():
    tables = _n_and_flow(linked=True)
    protection = protect(tables, k=5)
    for name in ("organisation", "g1", "g2"):
        assert ((name, "n") in protection.hidden) == ((name, "assessed") in protection.hidden)
    assert _audit(tables, protection, k=5).ok


def test_protecting_each_table_on_its_own_leaves_a_route_the_auditor_finds():
    # Today's route: each table protected alone hides the organisation's count in the flow (a complement
    # of group 1's 2) and group 2's n in the outcomes, so each shows what the other hides.
    separate = protect(_n_and_flow(linked=False), k=5)
    assert ("organisation", "assessed") in separate.hidden and ("organisation", "n") not in separate.hidden
    result = _audit(_n_and_flow(linked=True), separate, k=5)
    assert ("g1", "n") in {v.key for v in result.violations}


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_is_refused_with_a_message():
    b = TableBuilder()
    with pytest.raises(ValueError, match="negative"):
        b.atom("n", "g1", "n", -1)
    b.figure("g1", "n", ["g1"], ["n"])
    with pytest.raises(ValueError, match="twice"):
        b.figure("g1", "n", ["g1"], ["n"])
