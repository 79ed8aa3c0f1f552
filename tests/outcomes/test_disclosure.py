"""Tests for outcomes.evaluation.disclosure.mask (docs/statistics.md §6).

Two attackers check the masks: one does what a reader with a calculator would
(subtract the shown cells of a line from its published total, and repeat with
whatever that reveals), the other solves the published totals as linear
equations (a hidden cell is disclosed if it is the same in every table that
matches them).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.evaluation.disclosure.mask import DEFAULT_K, MIN_K, primary_suppression, suppress_value, suppression_mask

# --- attackers ---------------------------------------------------------------------------------


def recovered_by_subtraction(table, mask, *, rows: bool = True, cols: bool = True) -> set[tuple[int, int]]:
    """Cells a reader can work out from one line at a time, repeating until nothing new appears."""
    table, known = np.asarray(table), ~np.asarray(mask)
    lines = []
    if rows:
        lines += [[(i, j) for j in range(table.shape[1])] for i in range(table.shape[0])]
    if cols:
        lines += [[(i, j) for i in range(table.shape[0])] for j in range(table.shape[1])]
    recovered: set[tuple[int, int]] = set()
    progress = True
    while progress:
        progress = False
        for line in lines:
            hidden = [cell for cell in line if not known[cell]]
            if len(hidden) == 1:
                total = sum(table[cell] for cell in line)  # published
                value = total - sum(table[cell] for cell in line if known[cell])
                assert value == table[hidden[0]]  # the attack is right whenever it applies
                known[hidden[0]] = True
                recovered.add(hidden[0])
                progress = True
    return recovered


def recovered_by_linear_algebra(table, mask, *, rows: bool = True, cols: bool = True) -> set[tuple[int, int]]:
    """Hidden cells fixed by the published totals: their unit vector lies in the span of the constraints."""
    mask = np.asarray(mask)
    hidden = [tuple(int(v) for v in cell) for cell in np.argwhere(mask)]
    if not hidden:
        return set()
    constraints = []
    if rows:
        constraints += [[1.0 if cell[0] == i else 0.0 for cell in hidden] for i in range(mask.shape[0])]
    if cols:
        constraints += [[1.0 if cell[1] == j else 0.0 for cell in hidden] for j in range(mask.shape[1])]
    if not constraints:
        return set()
    a = np.array(constraints)
    rank = np.linalg.matrix_rank(a)
    disclosed = set()
    for index, cell in enumerate(hidden):
        unit = np.zeros(len(hidden))
        unit[index] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            disclosed.add(cell)
    return disclosed


def test_the_subtraction_attacker_finds_a_lone_hidden_cell():
    # Only the 3 is hidden: 3 = 23 − 20 from its row. A checker that cannot fail is no checker.
    table = [[3, 20], [10, 10]]
    lone = [[True, False], [False, False]]
    assert recovered_by_subtraction(table, lone) == {(0, 0)}
    assert recovered_by_linear_algebra(table, lone) == {(0, 0)}


# --- primary suppression -----------------------------------------------------------------------


@pytest.mark.parametrize("k", [3, 5, 10])
def test_primary_suppression_hides_counts_from_1_to_k_minus_1_and_shows_zeros(k):
    table = np.arange(0, 2 * k + 2).reshape(2, -1)
    mask = primary_suppression(table, k=k)

    for (i, j), value in np.ndenumerate(table):
        assert mask[i, j] == (1 <= value <= k - 1), value


def test_primary_suppression_uses_5_by_default():
    assert DEFAULT_K == 5
    assert primary_suppression([[0, 1, 4, 5, 6]]).tolist() == [[False, True, True, False, False]]


@pytest.mark.parametrize("k", [2, 1, 0, -5])
def test_a_threshold_below_3_is_refused(k):
    assert MIN_K == 3
    with pytest.raises(ValueError, match="at least 3"):
        suppression_mask([[1, 2], [3, 4]], k=k)
    with pytest.raises(ValueError, match="at least 3"):
        primary_suppression([[1, 2], [3, 4]], k=k)
    with pytest.raises(ValueError, match="at least 3"):
        suppress_value(10, k)


@pytest.mark.parametrize("table", [[[1, -1]], [[1.5, 2]], [[float("nan"), 2]], [1, 2, 3]])
def test_a_table_that_is_not_counts_is_refused(table):
    with pytest.raises(ValueError):
        suppression_mask(table)


# --- secondary suppression ---------------------------------------------------------------------


def test_secondary_suppression_hides_the_next_smallest_cell_in_the_line():
    table = [
        [3, 10, 12],
        [20, 30, 40],
        [0, 8, 9],
    ]
    mask = suppression_mask(table, k=5)

    # The 3 alone would be 25 − 10 − 12 from row 0 and 23 − 20 − 0 from column 0.
    # Row 0's next smallest is 10; column 0's next smallest non-zero cell is 20. That leaves row 1
    # and column 1 with one hidden cell each; hiding 30 (their shared cell) closes the rectangle.
    expected = [
        [True, True, False],
        [True, True, False],
        [False, False, False],
    ]
    assert mask.tolist() == expected
    assert recovered_by_subtraction(table, mask) == set()


def test_a_table_with_no_small_counts_is_published_whole():
    table = [[5, 12, 7], [9, 0, 30]]
    assert not suppression_mask(table).any()


def test_a_cell_recoverable_only_by_combining_rows_and_columns_is_protected():
    # Two 2×2 blocks of small counts joined by the 2 at (1, 2): every line has two or more hidden
    # cells, so subtraction within one line finds nothing, yet (1, 2) = row 0 + row 1 − column 0 − column 1.
    table = [
        [2, 3, 20, 20],
        [4, 1, 2, 20],
        [20, 20, 3, 4],
        [20, 20, 2, 1],
    ]
    primary = primary_suppression(table)
    assert recovered_by_subtraction(table, primary) == set()
    assert recovered_by_linear_algebra(table, primary) == {(1, 2)}

    mask = suppression_mask(table)
    assert (mask & primary).tolist() == primary.tolist()
    assert recovered_by_linear_algebra(table, mask) == set()


def test_only_row_totals_published_needs_no_column_protection():
    # One row of counts with only its total published: hiding the 3 alone would give it away, hiding the
    # smallest non-zero other cell (10) does not, and zeros stay shown.
    mask = suppression_mask([[3, 0, 10, 40]], column_totals_published=False)

    assert mask.tolist() == [[True, False, True, False]]


def test_a_hidden_cell_that_is_its_own_published_total_is_refused():
    # One column with published row totals: each row total *is* the cell.
    with pytest.raises(ValueError, match="cannot be protected"):
        suppression_mask([[3], [10]])


@st.composite
def count_tables(draw) -> tuple[np.ndarray, int]:
    rows = draw(st.integers(min_value=2, max_value=6))
    cols = draw(st.integers(min_value=2, max_value=6))
    k = draw(st.integers(min_value=MIN_K, max_value=10))
    # Mostly small counts so that suppression has something to do, with zeros and some large cells.
    cell = st.one_of(st.integers(0, k + 2), st.just(0), st.integers(0, 200))
    table = draw(st.lists(st.lists(cell, min_size=cols, max_size=cols), min_size=rows, max_size=rows))
    return np.array(table), k


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count_tables())
def test_no_suppressed_cell_can_be_recovered_from_published_totals(table_and_k):
    table, k = table_and_k
    mask = suppression_mask(table, k=k)

    primary = (table > 0) & (table < k)
    assert (mask | ~primary).all(), "every small count is hidden"
    assert recovered_by_subtraction(table, mask) == set()
    assert recovered_by_linear_algebra(table, mask) == set()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count_tables(), st.booleans())
def test_no_suppressed_cell_can_be_recovered_when_only_one_set_of_totals_is_published(table_and_k, rows_published):
    table, k = table_and_k
    options = {"row_totals_published": rows_published, "column_totals_published": not rows_published}
    mask = suppression_mask(table, k=k, **options)

    assert (mask | ~((table > 0) & (table < k))).all()
    assert recovered_by_subtraction(table, mask, rows=rows_published, cols=not rows_published) == set()
    assert recovered_by_linear_algebra(table, mask, rows=rows_published, cols=not rows_published) == set()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count_tables())
def test_complementary_cells_avoid_zeros_while_non_zero_cells_remain(table_and_k):
    table, k = table_and_k
    mask = suppression_mask(table, k=k)

    for i, j in np.argwhere(mask & (table == 0)):
        # A hidden zero is only acceptable when no shown non-zero cell was left in its row or column.
        shown_row = (~mask[i]) & (table[i] > 0)
        shown_col = (~mask[:, j]) & (table[:, j] > 0)
        assert not shown_row.any() or not shown_col.any()


# --- single statistics -------------------------------------------------------------------------


@pytest.mark.parametrize("k", [3, 5, 10])
def test_a_statistic_based_on_fewer_than_k_people_is_hidden(k):
    assert [suppress_value(n, k) for n in range(0, k + 2)] == [True] * k + [False, False]


def test_a_statistic_uses_5_people_by_default():
    assert suppress_value(4) is True
    assert suppress_value(5) is False


def test_a_negative_number_of_people_is_refused():
    with pytest.raises(ValueError, match="negative"):
        suppress_value(-1)
