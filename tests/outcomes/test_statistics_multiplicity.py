"""Holm adjustment and "same people as" (outcomes.evaluation.statistics.multiplicity; docs/statistics.md §10)."""

from __future__ import annotations

import numpy as np
import pytest

from outcomes.evaluation.statistics import multiplicity as mt


def test_holm_by_hand():
    # k = 4, sorted p: 0.01, 0.02, 0.03, 0.04 → 0.04, 0.06, 0.06 (monotone), 0.06 (max with 0.04·1)
    assert mt.holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert mt.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_holm_agrees_with_step_down_written_out_on_random_families():
    rng = np.random.default_rng(16)
    for k in (1, 2, 5, 17):
        p = rng.uniform(0, 0.2, k)
        order = np.argsort(p)
        expected = np.empty(k)
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (k - rank) * p[i]))
            expected[i] = running
        assert mt.holm(p.tolist()) == pytest.approx(expected.tolist(), abs=1e-12)


def test_withheld_p_values_are_not_tests():
    assert mt.holm([0.01, None, 0.04]) == pytest.approx([0.02, None, 0.04])
    assert mt.holm([None, None]) == [None, None]
    with pytest.raises(ValueError, match="between 0 and 1"):
        mt.holm([0.2, 1.5])


def test_a_cohort_with_the_organisations_people_is_the_same_people():
    cohorts = [
        ("organisation", {1, 2, 3, 4}),
        ("delivery:online", [4, 3, 2, 1]),
        ("format:structured", {1, 2}),
        ("group:7", {2, 1}),
        ("group:8", {3, 4, 5}),
        ("group:9", set()),
        ("group:10", set()),
    ]
    assert mt.same_people(cohorts) == {
        "organisation": None,
        "delivery:online": "organisation",
        "format:structured": None,
        "group:7": "format:structured",
        "group:8": None,
        "group:9": None,
        "group:10": None,
    }
    with pytest.raises(ValueError, match="twice"):
        mt.same_people([("a", {1}), ("a", {2})])


def test_repeats_are_left_out_of_the_holm_family():
    p = [0.01, 0.01, 0.03]
    same_as = [None, "organisation", None]
    assert mt.distinct_tests(p, same_as) == pytest.approx([0.02, None, 0.03])
