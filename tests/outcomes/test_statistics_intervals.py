"""Within-group effect-size intervals (outcomes.evaluation.statistics.intervals; docs/statistics.md §3).

Reference values are docs/statistics.md §8's worked dataset (printed to 6 significant figures); the
Algina–Keselman interval is checked against a scalar root-finding written out here; the
noncentral-t interval's duality with the paired t-test is checked on seeded data; and one seeded
coverage cell is simulated (benchmarks/coverage.py runs the whole grid).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from outcomes.evaluation.statistics import intervals as iv

PRE = [40, 45, 38, 50, 42, 36, 48, 41]
POST = [46, 48, 45, 51, 40, 44, 57, 45]
PRINTED = 1e-5


def close(actual, expected, tol=PRINTED):
    return math.isclose(actual, expected, rel_tol=tol, abs_tol=tol)


def test_worked_dataset_d_z_and_its_noncentral_t_interval():
    result = iv.d_z(PRE, POST)
    assert close(result.estimate, 1.20268)
    assert close(result.low, 0.252003) and close(result.high, 2.10804)
    assert result.estimable and result.method == iv.METHOD_NONCENTRAL_T


def test_worked_dataset_d_rm_and_g_rm_with_borenstein_variance():
    rm = iv.repeated_measures(PRE, POST)
    assert close(rm.r, 0.719580)
    assert close(rm.s_within, 4.99626)
    assert close(rm.d.estimate, 0.900674)
    assert close(rm.v_d, 0.0985400) and close(rm.se_d, 0.313911)
    assert close(rm.d.low, 0.285409) and close(rm.d.high, 1.51594)
    assert close(rm.g.estimate, 0.800600) and close(rm.v_g, 0.0778588)
    assert close(rm.g.low, 0.253697) and close(rm.g.high, 1.34750)


def _scalar_algina_keselman(pre, post):
    """docs/statistics.md §3's formula, solved bound by bound with brentq, then put on d_av's scale."""
    pre, post = np.asarray(pre, float), np.asarray(post, float)
    n = pre.size
    s1, s2 = pre.std(ddof=1), post.std(ddof=1)
    r = np.corrcoef(pre, post)[0, 1]
    t = (post - pre).mean() / math.sqrt((s1**2 + s2**2 - 2 * r * s1 * s2) / n)

    def root(p):
        return optimize.brentq(lambda lam: stats.nct.cdf(t, n - 1, lam) - p, t - 50, t + 50, xtol=1e-13)

    rms_scale = math.sqrt(2 * (s1**2 + s2**2 - 2 * r * s1 * s2) / (n * (s1**2 + s2**2)))
    to_average_sd = math.sqrt((s1**2 + s2**2) / 2) / ((s1 + s2) / 2)
    return root(0.975) * rms_scale * to_average_sd, root(0.025) * rms_scale * to_average_sd


def test_d_av_interval_is_the_algina_keselman_inversion():
    low, high = _scalar_algina_keselman(PRE, POST)
    result = iv.d_av(PRE, POST)
    assert close(result.estimate, 0.902956)
    assert close(result.low, 0.189201) and close(result.high, 1.58269)  # docs/statistics.md §8
    assert math.isclose(result.low, low, rel_tol=1e-9) and math.isclose(result.high, high, rel_tol=1e-9)
    rng = np.random.default_rng(7)
    for n in (6, 13, 40):
        pre = rng.normal(20, 5, n)
        post = 0.6 * pre + rng.normal(12, 6, n)
        low, high = _scalar_algina_keselman(pre, post)
        result = iv.d_av(pre, post)
        assert math.isclose(result.low, low, rel_tol=1e-9) and math.isclose(result.high, high, rel_tol=1e-9)


def test_g_av_is_corrected_but_keeps_the_interval_for_the_population_d_av():
    d, g = iv.d_av(PRE, POST), iv.g_av(PRE, POST)
    assert close(g.estimate, 0.802627)
    assert (g.low, g.high) == (d.low, d.high)
    assert g.low < g.estimate < g.high


def test_interval_excludes_zero_exactly_when_the_paired_t_test_rejects():
    rng = np.random.default_rng(20261204)
    disagreements = 0
    for _ in range(80):
        n = int(rng.integers(4, 30))
        pre = rng.normal(0, 1, n)
        post = pre * 0.5 + rng.normal(0.3, 1, n)
        p = stats.ttest_rel(post, pre).pvalue
        for result in (iv.d_z(pre, post), iv.d_av(pre, post)):
            if (result.low > 0 or result.high < 0) != (p < 0.05):
                disagreements += 1
    assert disagreements == 0


def test_swapping_pre_and_post_mirrors_the_interval():
    forward, backward = iv.d_av(PRE, POST), iv.d_av(POST, PRE)
    assert math.isclose(forward.low, -backward.high, rel_tol=1e-9)
    assert math.isclose(forward.high, -backward.low, rel_tol=1e-9)


def test_identical_changes_give_not_estimable_never_a_zero_width_interval():
    pre, post = [10, 12, 15, 9], [13, 15, 18, 12]
    for result in (iv.d_z(pre, post), iv.d_av(pre, post), iv.g_av(pre, post)):
        assert not result.estimable
        assert result.low is None and result.high is None
        assert "same amount" in result.not_estimable
    assert iv.d_av(pre, post).estimate == pytest.approx(3 / np.std(pre, ddof=1))
    rm = iv.repeated_measures(pre, post)
    assert not rm.d.estimable and not rm.g.estimable and rm.v_d is None


def test_no_spread_at_one_time_point_makes_d_rm_not_estimable():
    rm = iv.repeated_measures([5, 5, 5, 5], [6, 8, 7, 9])
    assert rm.r is None and rm.d.low is None and "correlation is undefined" in rm.d.not_estimable
    assert iv.d_av([5, 5, 5, 5], [5, 5, 5, 5]).not_estimable is not None


def test_too_few_pairs_and_missing_scores():
    assert iv.d_z([1], [2]).not_estimable == iv.NOT_ESTIMABLE_TOO_FEW_FOR_D_Z
    assert iv.d_z([1, 2], [2, 4]).estimable  # d_z needs no J, so two pairs give its interval
    assert iv.d_av([1, 2], [2, 4]).not_estimable == iv.NOT_ESTIMABLE_TOO_FEW
    # pairs with a missing score are dropped: the worked dataset plus two incomplete pairs
    result = iv.d_z([*PRE, None, 30], [*POST, 41, float("nan")])
    assert close(result.low, 0.252003)
    with pytest.raises(ValueError, match="same people"):
        iv.d_z([1, 2, 3], [1, 2])


def test_vectorised_limits_solve_the_noncentral_t_equations():
    t = np.array([-4.0, -0.5, 0.0, 1.3, 8.0, np.inf])
    low, high = iv.noncentral_t_limits(t, 9)
    assert np.isnan(low[-1]) and np.isnan(high[-1])
    assert np.allclose(stats.nct.cdf(t[:-1], 9, low[:-1]), 0.975, atol=1e-9)
    assert np.allclose(stats.nct.cdf(t[:-1], 9, high[:-1]), 0.025, atol=1e-9)


def test_one_seeded_coverage_cell_is_near_nominal():
    """n = 12, r = 0.8, SD ratio 1.5, d_av = 0.5: the cell docs/statistics.md §3's correction found at 0.83–0.87.

    The limits of all replicates are solved at once with ``noncentral_t_limits`` (the first few are
    checked against ``g_av`` itself)."""
    rng = np.random.default_rng(12)
    n, r, reps, delta = 12, 0.8, 2000, 0.5
    mu = delta * (1 + 1.5) / 2
    z1, z2 = rng.standard_normal((reps, n)), rng.standard_normal((reps, n))
    pre, post = z1, mu + 1.5 * (r * z1 + math.sqrt(1 - r * r) * z2)
    diff = post - pre
    se = diff.std(axis=1, ddof=1) / math.sqrt(n)
    s_av = (pre.std(axis=1, ddof=1) + post.std(axis=1, ddof=1)) / 2
    lam_low, lam_high = iv.noncentral_t_limits(diff.mean(axis=1) / se, n - 1)
    low, high = lam_low * se / s_av, lam_high * se / s_av
    for i in range(3):
        shipped = iv.g_av(pre[i], post[i])
        assert math.isclose(shipped.low, low[i], rel_tol=1e-9) and math.isclose(shipped.high, high[i], rel_tol=1e-9)
    coverage = np.mean((low <= delta) & (delta <= high))
    assert 0.93 <= coverage <= 0.97


def test_rows_at_once_equal_the_single_sample_functions():
    rng = np.random.default_rng(44)
    n = 9
    pre = rng.normal(30, 6, (6, n))
    post = 0.7 * pre + rng.normal(12, 4, (6, n))
    post[1] = pre[1] + 2.0  # identical changes: not estimable
    pre[2] = 25.0  # no spread at baseline: no d_rm
    rows = iv.paired_intervals_rows(pre, post)
    for i in range(6):
        dz, dav, rm = iv.d_z(pre[i], post[i]), iv.d_av(pre[i], post[i]), iv.repeated_measures(pre[i], post[i])
        pairs = [
            ("d_z_ci_low", dz.low), ("d_z_ci_high", dz.high), ("d_av_ci_low", dav.low), ("d_av_ci_high", dav.high),
            ("d_rm", rm.d.estimate), ("g_rm", rm.g.estimate), ("v_d_rm", rm.v_d), ("v_g_rm", rm.v_g),
            ("d_rm_ci_low", rm.d.low), ("d_rm_ci_high", rm.d.high), ("g_rm_ci_low", rm.g.low),
            ("g_rm_ci_high", rm.g.high),
        ]  # fmt: skip
        for name, single in pairs:
            if single is None:
                assert np.isnan(rows[name][i]), (i, name)
            else:
                assert math.isclose(rows[name][i], single, rel_tol=1e-9, abs_tol=1e-12), (i, name)
    assert np.isnan(rows["d_av_ci_low"][1]) and np.isnan(rows["d_rm"][2])
    assert not np.isnan(rows["d_av_ci_low"][2])
