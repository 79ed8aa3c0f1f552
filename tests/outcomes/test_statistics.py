"""Tests for outcomes.evaluation.statistics.single.

Three kinds of check:

* the published reference values in docs/statistics.md (§4 and §8), to the
  printed 6 significant figures;
* seeded random data against an independent computation (scipy's tests,
  statsmodels, numpy, or the formula written out here differently from the
  module), to 1e-9;
* edge cases and a property: whatever finite scores come in, no NaN or infinity
  comes out.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats
from statsmodels.stats.weightstats import DescrStatsW

from outcomes.evaluation.statistics import intervals
from outcomes.evaluation.statistics.single import (
    ChangeCategory,
    between_groups,
    describe,
    dose,
    hedges_j_approx,
    hedges_j_exact,
    jt_cutoffs,
    paired_change,
    reliable_change,
)

PRINTED = 1e-5  # the reference values are printed to 6 significant figures
TIGHT = 1e-9


def printed(value: float) -> object:
    return pytest.approx(value, rel=PRINTED)


def tight(value: float) -> object:
    return pytest.approx(value, rel=TIGHT, abs=1e-12)


# --- docs/statistics.md §8: worked dataset ---------------------------------------------------


@pytest.fixture
def worked() -> tuple[list[float], list[float]]:
    """n = 8, higher is better (e.g. WEMWBS)."""
    pre = [40, 45, 38, 50, 42, 36, 48, 41]
    post = [46, 48, 45, 51, 40, 44, 57, 45]
    return pre, post


@pytest.fixture
def between_fixture() -> tuple[list[float], list[float]]:
    """Change scores of the worked dataset (A) against a second group (B)."""
    return [6, 3, 7, 1, -2, 8, 9, 4], [2, -1, 4, 0, 3, 1, -2, 5]


def test_descriptives_match_the_worked_example(worked):
    pre, post = (describe(x) for x in worked)

    assert pre.n == 8
    assert (pre.mean, pre.sd, pre.median) == (printed(42.5), printed(4.84031), printed(41.5))
    assert (pre.q1, pre.q3, pre.iqr) == (printed(39.5), printed(45.75), printed(6.25))
    assert (pre.ci_low, pre.ci_high) == (printed(38.4534), printed(46.5466))

    assert post.n == 8
    assert (post.mean, post.sd, post.median) == (printed(47.0), printed(5.12696), printed(45.5))
    assert (post.q1, post.q3, post.iqr) == (printed(44.75), printed(48.75), printed(4.0))
    assert (post.ci_low, post.ci_high) == (printed(42.7138), printed(51.2862))


def test_paired_change_matches_the_worked_example(worked):
    result = paired_change(*worked, higher_is_better=True)

    assert result.n_pairs == 8
    assert (result.mean_change, result.sd_change) == (printed(4.5), printed(3.74166))
    assert (result.ci_low, result.ci_high) == (printed(1.37190), printed(7.62810))
    assert result.df == 7
    assert (result.t, result.p) == (printed(3.40168), printed(0.0114163))
    assert (result.wilcoxon_statistic, result.p_wilcoxon) == (printed(2.0), printed(0.0234375))
    assert result.wilcoxon_method == "exact"
    assert result.r_pre_post == printed(0.719580)


def test_within_group_effect_sizes_match_the_worked_example(worked):
    result = paired_change(*worked, higher_is_better=True)

    assert (result.d_z, result.d_av, result.d_rm) == (printed(1.20268), printed(0.902956), printed(0.900674))
    assert (result.j_approx, result.j_exact) == (printed(0.888889), printed(0.888203))
    assert (result.g_z, result.g_av, result.g_rm) == (printed(1.06904), printed(0.802627), printed(0.800600))
    assert (result.d_z_ci_low, result.d_z_ci_high) == (printed(0.252003), printed(2.10804))


def test_borenstein_pre_post_variance_matches_the_worked_example(worked):
    result = paired_change(*worked, higher_is_better=True)

    # Borenstein's d for matched groups is standardised by S_within, i.e. it is d_rm.
    assert result.s_within == printed(4.99626)
    assert result.d_rm == printed(0.900674)
    assert (result.v_d_rm, result.se_d_rm) == (printed(0.0985400), printed(0.313911))
    assert (result.d_rm_ci_low, result.d_rm_ci_high) == (printed(0.285409), printed(1.51594))
    assert (result.g_rm, result.v_g_rm) == (printed(0.800600), printed(0.0778588))
    assert (result.g_rm_ci_low, result.g_rm_ci_high) == (printed(0.253697), printed(1.34750))


def test_g_av_interval_is_the_algina_keselman_interval_of_docs_section_3(worked):
    result = paired_change(*worked, higher_is_better=True)

    # docs/statistics.md §8: the population d_av's interval, which g_av (0.802627) estimates too.
    assert (result.g_av_ci_low, result.g_av_ci_high) == (printed(0.189201), printed(1.58269))
    assert result.g_av_ci_low < result.g_av < result.g_av_ci_high
    shipped = intervals.g_av(*worked)
    assert (result.g_av_ci_low, result.g_av_ci_high) == (shipped.low, shipped.high)


def test_identical_changes_leave_g_av_without_an_interval_never_a_zero_width_one():
    result = paired_change([10, 12, 15, 9], [13, 15, 18, 12], higher_is_better=True)

    assert result.g_av is not None
    assert (result.g_av_ci_low, result.g_av_ci_high, result.d_z_ci_low, result.g_rm_ci_low) == (None,) * 4


def test_between_groups_matches_the_borenstein_fixture(between_fixture):
    result = between_groups(*between_fixture)

    assert (result.n1, result.n2, result.df) == (8, 8, 14)
    assert (result.mean1, result.sd1) == (printed(4.5), printed(3.74166))
    assert (result.mean2, result.sd2) == (printed(1.5), printed(2.44949))
    assert result.s_pooled == printed(3.16228)
    assert (result.d, result.v_d) == (printed(0.948683), printed(0.278125))
    assert result.j_approx == printed(0.945455)
    assert (result.g, result.v_g, result.se_g) == (printed(0.896937), printed(0.248612), printed(0.498610))
    assert (result.ci_low, result.ci_high) == (printed(-0.0803380), printed(1.87421))
    assert (result.t, result.p) == (printed(1.89737), printed(0.0785984))


def test_between_group_a_is_the_change_score_of_the_worked_dataset(worked, between_fixture):
    pre, post = worked
    assert [b - a for a, b in zip(pre, post, strict=True)] == between_fixture[0]


# --- docs/statistics.md §4: CORE-10 reliable change ------------------------------------------

CORE10 = {"m_dys": 19.7, "s_dys": 7.7, "m_fun": 4.7, "s_fun": 4.8, "alpha": 0.90}


def test_jacobson_truax_cutoffs_match_the_core10_example():
    a, b, c = jt_cutoffs(CORE10["m_dys"], CORE10["s_dys"], CORE10["m_fun"], CORE10["s_fun"], False)

    assert (a, b, c) == (printed(4.3), printed(14.3), printed(10.46))


def test_cutoffs_point_the_other_way_when_higher_is_better():
    cutoffs = jt_cutoffs(30.0, 5.0, 50.0, 4.0, True)

    assert cutoffs.a == pytest.approx(30.0 + 2 * 5.0)
    assert cutoffs.b == pytest.approx(50.0 - 2 * 4.0)
    assert cutoffs.c == pytest.approx((4.0 * 30.0 + 5.0 * 50.0) / 9.0)


def test_reliable_change_matches_the_core10_worked_example():
    c = jt_cutoffs(CORE10["m_dys"], CORE10["s_dys"], CORE10["m_fun"], CORE10["s_fun"], False).c
    result = reliable_change(
        [22, 18, 15], [12, 9, 11], sd_pre=CORE10["s_dys"], reliability=CORE10["alpha"], higher_is_better=False, cutoff=c
    )

    assert (result.se_m, result.s_diff, result.change_needed) == (printed(2.43495), printed(3.44354), printed(6.74935))
    assert result.rci == (printed(-2.90398), printed(-2.61359), printed(-1.16159))
    # 22→12 reliably improved but still above c; 18→9 crossed c; 15→11 is within measurement error.
    assert result.categories == (ChangeCategory.IMPROVED, ChangeCategory.RECOVERED, ChangeCategory.UNCHANGED)
    assert (result.n_recovered, result.n_improved, result.n_unchanged, result.n_deteriorated) == (1, 1, 1, 0)
    assert result.n_reliably_improved == 2


def test_without_a_cutoff_nobody_is_counted_as_recovered():
    result = reliable_change([22, 18, 15], [12, 9, 11], sd_pre=7.7, reliability=0.9, higher_is_better=False)

    assert result.n_recovered is None
    assert result.categories == (ChangeCategory.IMPROVED, ChangeCategory.IMPROVED, ChangeCategory.UNCHANGED)


def test_starting_exactly_on_the_cutoff_and_crossing_it_counts_as_recovered():
    # Lower is better, c = 20: 20→10 starts on c and ends strictly below it; 25→20 ends on c, not past
    # it; 5→0 was on the healthy side from the start, so there was nothing to cross.
    result = reliable_change([20, 25, 5], [10, 20, 0], sd_pre=2.0, reliability=0.5, higher_is_better=False, cutoff=20.0)

    # S_diff = √2·2·√0.5 = 2, so every change of 5 or more points is reliable.
    assert result.categories == (ChangeCategory.RECOVERED, ChangeCategory.IMPROVED, ChangeCategory.IMPROVED)


def test_reliable_change_counts_deterioration_using_the_direction_flag():
    # The same scores read on a higher-is-better scale: the falls are now deteriorations.
    result = reliable_change([22, 18, 15], [12, 9, 11], sd_pre=7.7, reliability=0.9, higher_is_better=True)

    assert result.categories == (ChangeCategory.DETERIORATED, ChangeCategory.DETERIORATED, ChangeCategory.UNCHANGED)


def test_reliable_change_skips_incomplete_pairs_but_keeps_their_place():
    result = reliable_change([22, None, 15, 30], [12, 9, None, 29], sd_pre=7.7, reliability=0.9, higher_is_better=False)

    assert result.n_pairs == 2
    assert result.rci[1] is None and result.rci[2] is None
    assert result.categories[1] is None and result.categories[2] is None


@pytest.mark.parametrize("reliability", [-0.1, 1.0, 1.5])
def test_reliable_change_refuses_a_reliability_outside_0_to_1(reliability):
    with pytest.raises(ValueError, match="reliability"):
        reliable_change([1], [2], sd_pre=5.0, reliability=reliability, higher_is_better=True)


def test_reliable_change_refuses_a_non_positive_sd():
    with pytest.raises(ValueError, match="sd_pre"):
        reliable_change([1], [2], sd_pre=0.0, reliability=0.8, higher_is_better=True)


# --- seeded random data against independent computations --------------------------------------

SEEDED_N = [2, 3, 8, 13, 20, 50, 60]


def _random_pairs(n: int, seed: int, *, integer: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pre = rng.normal(40, 8, n)
    post = 0.6 * pre + rng.normal(20, 6, n)
    if integer:  # questionnaire totals: ties and zero differences
        pre, post = np.round(pre / 4), np.round(post / 4)
    return pre, post


def _with_gaps(values: np.ndarray, seed: int) -> list[float | None]:
    """The same scores with None and NaN interleaved; both mean "missing"."""
    rng = np.random.default_rng(seed)
    out: list[float | None] = []
    for v in values:
        out.append(float(v))
        gap = rng.integers(0, 4)
        if gap == 1:
            out.append(None)
        elif gap == 2:
            out.append(float("nan"))
    return out


@pytest.mark.parametrize("n", SEEDED_N)
def test_describe_agrees_with_numpy_and_statsmodels(n):
    x = np.random.default_rng(100 + n).normal(30, 7, n)
    result = describe(_with_gaps(x, seed=n))

    assert result.n == n
    assert result.mean == tight(np.mean(x))
    assert result.sd == tight(np.std(x, ddof=1))
    assert result.median == tight(np.median(x))
    q1, q3 = np.percentile(x, [25, 75])
    assert (result.q1, result.q3, result.iqr) == (tight(q1), tight(q3), tight(q3 - q1))
    low, high = DescrStatsW(x).tconfint_mean(alpha=0.05)
    assert (result.ci_low, result.ci_high) == (tight(low), tight(high))


def _gaps_in_pairs(pre: np.ndarray, post: np.ndarray, seed: int) -> tuple[list, list]:
    """Insert incomplete pairs (one side missing) between the complete ones."""
    rng = np.random.default_rng(seed)
    pre_out: list[float | None] = []
    post_out: list[float | None] = []
    for a, b in zip(pre, post, strict=True):
        pre_out.append(float(a))
        post_out.append(float(b))
        kind = rng.integers(0, 4)
        if kind == 1:
            pre_out.append(float(rng.normal()))
            post_out.append(None)
        elif kind == 2:
            pre_out.append(float("nan"))
            post_out.append(float(rng.normal()))
    return pre_out, post_out


@pytest.mark.parametrize("n", SEEDED_N)
@pytest.mark.parametrize("integer", [False, True])
def test_paired_change_agrees_with_scipy_on_seeded_data(n, integer):
    pre, post = _random_pairs(n, seed=n, integer=integer)
    if np.all(post == pre) or np.std(post - pre) == 0:
        pytest.skip("seed gave identical differences; covered by the edge-case tests")
    result = paired_change(*_gaps_in_pairs(pre, post, seed=7 * n), higher_is_better=True)

    assert result.n_pairs == n
    assert result.mean_pre == tight(np.mean(pre))
    assert result.mean_post == tight(np.mean(post))
    reference = stats.ttest_rel(post, pre)
    ci = reference.confidence_interval(0.95)
    assert (result.t, result.p, result.df) == (tight(reference.statistic), tight(reference.pvalue), reference.df)
    assert (result.ci_low, result.ci_high) == (tight(ci.low), tight(ci.high))
    assert result.mean_change == tight(np.mean(post - pre))
    assert result.sd_change == tight(np.std(post - pre, ddof=1))
    assert result.improvement == tight(np.mean(post - pre))


@pytest.mark.parametrize("n", SEEDED_N)
@pytest.mark.parametrize("integer", [False, True])
def test_paired_effect_sizes_agree_with_their_definitions_on_seeded_data(n, integer):
    pre, post = _random_pairs(n, seed=n, integer=integer)
    if np.std(post - pre) == 0 or np.std(pre) == 0 or np.std(post) == 0:
        pytest.skip("seed gave a zero SD; covered by the edge-case tests")
    result = paired_change(pre, post, higher_is_better=True)

    diff = post - pre
    m, sd_d = np.mean(diff), np.std(diff, ddof=1)
    s1, s2 = np.std(pre, ddof=1), np.std(post, ddof=1)
    r = stats.pearsonr(pre, post).statistic
    assert result.r_pre_post == tight(r)
    assert result.d_z == tight(stats.ttest_rel(post, pre).statistic / math.sqrt(n))
    assert result.d_z == tight(m / sd_d)
    assert result.d_av == tight(m / ((s1 + s2) / 2))
    perfectly_correlated = 1 - r < 1e-12  # the n = 3 integer seed lies exactly on a line
    if perfectly_correlated:
        assert result.d_rm is None or abs(result.d_rm) < 1e-6
    else:
        # Lakens' raw-score form, algebraically but not computationally the module's d̄/S_within.
        assert result.d_rm == tight(m / math.sqrt(s1**2 + s2**2 - 2 * r * s1 * s2) * math.sqrt(2 * (1 - r)))
    df = n - 1
    if df >= 2:
        j_exact = special.gamma(df / 2) / (math.sqrt(df / 2) * special.gamma((df - 1) / 2))
        j = 1 - 3 / (4 * df - 1)
        assert (result.j_approx, result.j_exact) == (tight(j), tight(j_exact))
        assert (result.g_z, result.g_av) == (tight(j * result.d_z), tight(j * result.d_av))
        shipped = intervals.g_av(pre, post)
        assert (result.g_av_ci_low, result.g_av_ci_high) == (shipped.low, shipped.high)
        if not perfectly_correlated:
            v_rm = (1 / n + result.d_rm**2 / (2 * n)) * 2 * (1 - r)
            assert result.v_d_rm == tight(v_rm)
            assert result.g_rm_ci_low == tight(j * result.d_rm - 1.96 * j * math.sqrt(v_rm))
            assert result.g_rm_ci_high == tight(j * result.d_rm + 1.96 * j * math.sqrt(v_rm))
    else:
        assert result.j_approx is None and result.g_z is None


def _nct_cdf_by_quadrature(t: float, df: int, nc: float) -> float:
    """P(T ≤ t) for T = (Z + nc)/√(V/df), V ~ χ²(df), integrated directly rather than via scipy.stats.nct."""

    def integrand(v: float) -> float:
        return stats.norm.cdf(t * math.sqrt(v / df) - nc) * stats.chi2.pdf(v, df)

    value, _ = integrate.quad(integrand, 0, np.inf, epsabs=1e-13, epsrel=1e-12, limit=500)
    return value


@pytest.mark.parametrize("n", [2, 3, 8, 20, 50])
def test_d_z_interval_inverts_the_noncentral_t(n):
    pre, post = _random_pairs(n, seed=n)
    result = paired_change(pre, post, higher_is_better=True)

    df, root_n = n - 1, math.sqrt(n)
    assert _nct_cdf_by_quadrature(result.t, df, result.d_z_ci_low * root_n) == pytest.approx(0.975, abs=1e-8)
    assert _nct_cdf_by_quadrature(result.t, df, result.d_z_ci_high * root_n) == pytest.approx(0.025, abs=1e-8)


def _signed_rank_p(d: np.ndarray) -> tuple[float, float, str]:
    """Two-sided Wilcoxon signed-rank (zeros dropped), method chosen as scipy's "auto" describes it."""
    nonzero = d[d != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    r_plus = float(ranks[nonzero > 0].sum())
    r_minus = float(ranks[nonzero < 0].sum())
    count = nonzero.size
    ties = np.unique(np.abs(nonzero)).size < count
    if d.size <= 50 and not ties and count == d.size:
        # Exact: number of sign patterns reaching each rank sum, by dynamic programming over ranks 1..n.
        ways = np.zeros(count * (count + 1) // 2 + 1)
        ways[0] = 1
        for rank in range(1, count + 1):
            ways[rank:] = ways[rank:] + ways[:-rank].copy()
        dist = ways / ways.sum()
        k = round(r_plus)
        p = min(1.0, 2 * min(dist[: k + 1].sum(), dist[k:].sum()))
        return min(r_plus, r_minus), p, "exact"
    if d.size <= 13:
        # Every sign flip of the differences, each equally likely under H0.
        null = []
        for signs in itertools.product([1, -1], repeat=count):
            null.append(float(ranks[np.array(signs) * nonzero > 0].sum()))
        null_a = np.array(null)
        tol = 1e-9 * max(1.0, r_plus)
        p = min(1.0, 2 * min(np.mean(null_a <= r_plus + tol), np.mean(null_a >= r_plus - tol)))
        return min(r_plus, r_minus), p, "permutation"
    _, tie_sizes = np.unique(np.abs(nonzero), return_counts=True)
    mean = count * (count + 1) / 4
    se = math.sqrt((count * (count + 1) * (2 * count + 1) - np.sum(tie_sizes**3 - tie_sizes) / 2) / 24)
    return min(r_plus, r_minus), 2 * stats.norm.sf(abs(r_plus - mean) / se), "asymptotic"


@pytest.mark.parametrize("n", SEEDED_N)
@pytest.mark.parametrize("integer", [False, True])
def test_wilcoxon_agrees_with_an_independent_signed_rank_test(n, integer):
    pre, post = _random_pairs(n, seed=n, integer=integer)
    if np.all(post == pre):
        pytest.skip("no non-zero differences")
    result = paired_change(pre, post, higher_is_better=True)

    statistic, p, method = _signed_rank_p(post - pre)
    assert result.wilcoxon_method == method
    assert result.wilcoxon_statistic == tight(statistic)
    assert result.p_wilcoxon == tight(p)
    assert result.p_wilcoxon == tight(stats.wilcoxon(post, pre).pvalue)


def test_seeded_data_exercise_every_wilcoxon_method():
    methods = set()
    for n, integer in itertools.product(SEEDED_N, [False, True]):
        methods.add(_signed_rank_p(np.subtract(*_random_pairs(n, seed=n, integer=integer)[::-1]))[2])
    assert methods == {"exact", "permutation", "asymptotic"}


@pytest.mark.parametrize(("n1", "n2"), [(2, 3), (3, 3), (8, 8), (8, 13), (50, 20)])
def test_between_groups_agrees_with_ttest_ind_on_seeded_data(n1, n2):
    rng = np.random.default_rng(1000 * n1 + n2)
    a, b = rng.normal(5, 4, n1), rng.normal(2, 5, n2)
    result = between_groups(_with_gaps(a, seed=n1), _with_gaps(b, seed=n2))

    reference = stats.ttest_ind(a, b)
    assert (result.t, result.p) == (tight(reference.statistic), tight(reference.pvalue))
    df = n1 + n2 - 2
    s_pooled = math.sqrt((np.var(a, ddof=1) * (n1 - 1) + np.var(b, ddof=1) * (n2 - 1)) / df)
    d = (np.mean(a) - np.mean(b)) / s_pooled
    v_d = (n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2))
    j = 1 - 3 / (4 * df - 1)
    assert (result.s_pooled, result.d, result.v_d) == (tight(s_pooled), tight(d), tight(v_d))
    assert (result.g, result.v_g) == (tight(j * d), tight(j**2 * v_d))
    assert result.ci_low == tight(j * d - 1.96 * j * math.sqrt(v_d))
    assert result.ci_high == tight(j * d + 1.96 * j * math.sqrt(v_d))
    assert result.j_exact == tight(special.gamma(df / 2) / (math.sqrt(df / 2) * special.gamma((df - 1) / 2)))


@pytest.mark.parametrize("n", [2, 3, 8, 50])
def test_reliable_change_agrees_with_the_formula_on_seeded_data(n):
    pre, post = _random_pairs(n, seed=n)
    sd, rel, c = 8.0, 0.85, 38.0
    result = reliable_change(pre, post, sd_pre=sd, reliability=rel, higher_is_better=True, cutoff=c)

    s_diff = math.sqrt(2) * sd * math.sqrt(1 - rel)
    rci = (post - pre) / s_diff
    assert result.s_diff == tight(s_diff)
    assert result.rci == tuple(tight(v) for v in rci)
    assert result.n_reliably_improved == int(np.sum(rci > 1.96))
    assert result.n_deteriorated == int(np.sum(rci < -1.96))
    assert result.n_recovered == int(np.sum((rci > 1.96) & (pre <= c) & (post > c)))
    assert result.n_recovered + result.n_improved + result.n_unchanged + result.n_deteriorated == n


@pytest.mark.parametrize("members", [2, 3, 8, 50])
def test_dose_agrees_with_numpy_on_seeded_data(members):
    rng = np.random.default_rng(members)
    offered = rng.integers(0, 12, members)
    attended = np.array([rng.integers(0, o + 1) for o in offered])
    result = dose(attended.tolist(), offered.tolist(), threshold=0.5)

    kept = offered > 0
    ratios = attended[kept] / offered[kept]
    assert (result.n_members, result.n_skipped) == (int(kept.sum()), int((~kept).sum()))
    q1, median, q3 = np.percentile(ratios, [25, 50, 75])
    assert (result.q1, result.median, result.q3) == (tight(q1), tight(median), tight(q3))
    assert result.share_at_or_above == tight(np.mean(ratios >= 0.5))


def test_dose_counts_a_member_exactly_at_the_threshold():
    result = dose([2, 1, 0], [4, 4, 4], threshold=0.5)

    assert result.n_at_or_above == 1
    assert result.share_at_or_above == pytest.approx(1 / 3)


@pytest.mark.parametrize(("attended", "offered"), [([3], [2]), ([-1], [2]), ([1, 2], [2])])
def test_dose_refuses_impossible_attendance(attended, offered):
    with pytest.raises(ValueError):
        dose(attended, offered)


def test_dose_with_no_sessions_offered_to_anyone_has_no_figures():
    result = dose([0, 0], [0, 0])

    assert (result.n_members, result.n_skipped, result.median, result.share_at_or_above) == (0, 2, None, None)


def test_exact_hedges_j_stays_finite_for_large_df():
    # Γ(df/2) overflows a float for df > ~340; the gammaln route must not.
    assert hedges_j_exact(5000) == pytest.approx(hedges_j_approx(5000), rel=1e-6)


# --- edge cases --------------------------------------------------------------------------------


def _numbers(result: object) -> list[object]:
    values: list[object] = []
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        values.extend(value if isinstance(value, tuple) else [value])
    return [v for v in values if isinstance(v, float | int | np.floating)]


def _only_n_and_labels_are_set(result: object, *set_fields: str) -> bool:
    return all(getattr(result, f.name) is None for f in dataclasses.fields(result) if f.name not in set_fields)


def test_describe_of_no_scores_gives_n_zero_and_nothing_else():
    assert describe([]) == describe([None, float("nan")])
    assert describe([]).n == 0
    assert _only_n_and_labels_are_set(describe([]), "n")


def test_describe_of_one_score_has_no_sd_or_interval():
    result = describe([None, 7.0])

    assert (result.n, result.mean, result.median, result.q1, result.q3) == (1, 7.0, 7.0, 7.0, 7.0)
    assert (result.sd, result.ci_low, result.ci_high) == (None, None, None)


def test_describe_ignores_none_and_nan():
    assert describe([1, None, 4, float("nan"), 10]) == describe([1, 4, 10])


def test_describe_refuses_an_infinite_score():
    with pytest.raises(ValueError, match="infinite"):
        describe([1.0, float("inf")])


def test_paired_change_when_everyone_is_missing_at_follow_up():
    result = paired_change([20, 25, 30], [None, None, None], higher_is_better=False)

    assert result.n_pairs == 0
    assert result.direction == "lower_is_better"
    assert _only_n_and_labels_are_set(result, "n_pairs", "direction")


def test_paired_change_with_no_participants():
    assert paired_change([], [], higher_is_better=True).n_pairs == 0


def test_paired_change_with_one_pair_reports_only_the_change():
    result = paired_change([10, None], [14, 3], higher_is_better=True)

    assert (result.n_pairs, result.mean_change, result.improvement) == (1, 4.0, 4.0)
    for name in (
        "sd_change",
        "ci_low",
        "ci_high",
        "t",
        "p",
        "r_pre_post",
        "d_z",
        "d_av",
        "d_rm",
        "g_av",
        "g_av_ci_low",
    ):
        assert getattr(result, name) is None, name


def test_paired_change_with_identical_differences_has_no_t_or_d_z():
    result = paired_change([1, 2, 3, 4], [3, 4, 5, 6], higher_is_better=True)

    assert result.mean_change == 2.0
    assert result.sd_change == 0.0
    assert (result.t, result.p, result.d_z, result.d_z_ci_low, result.d_rm) == (None, None, None, None, None)
    # d̄ ± t·0 would be an interval of zero width: not estimable instead (docs/statistics.md §3)
    assert (result.ci_low, result.ci_high) == (None, None)


def test_paired_change_with_perfectly_correlated_scores_but_unequal_sds_has_no_d_rm():
    # post − mean(post) = ⅔·(pre − mean(pre)): r = 1, so S_within = SD_d/√(2(1 − r)) is infinite.
    result = paired_change([14, 5, 11], [13, 7, 11], higher_is_better=True)

    assert result.r_pre_post == pytest.approx(1.0)
    assert result.sd_change > 0
    assert (result.s_within, result.d_rm, result.g_rm, result.g_rm_ci_low) == (None, None, None, None)
    assert result.d_av is not None and result.d_z is not None


def test_paired_change_with_no_change_at_all_has_no_tests():
    result = paired_change([5, 6, 7], [5, 6, 7], higher_is_better=True)

    assert result.mean_change == 0.0
    assert (result.t, result.p, result.p_wilcoxon, result.wilcoxon_method) == (None, None, None, None)


def test_paired_change_drops_pairs_with_nan_on_either_side():
    with_nan = paired_change([1, float("nan"), 3, 4, 9], [2, 5, float("nan"), 7, 8], higher_is_better=True)
    complete = paired_change([1, 4, 9], [2, 7, 8], higher_is_better=True)

    assert with_nan == complete


def test_paired_change_refuses_lists_of_different_lengths():
    with pytest.raises(ValueError, match="same participants"):
        paired_change([1, 2, 3], [1, 2], higher_is_better=True)


def test_direction_flag_flips_improvement_but_not_the_effect_sizes(worked):
    up = paired_change(*worked, higher_is_better=True)
    down = paired_change(*worked, higher_is_better=False)

    assert (up.direction, down.direction) == ("higher_is_better", "lower_is_better")
    assert down.improvement == -up.improvement
    assert (down.mean_change, down.d_z, down.d_av, down.g_av) == (up.mean_change, up.d_z, up.d_av, up.g_av)


def test_effect_sizes_carry_the_sign_of_raw_change(worked):
    pre, post = worked
    forward = paired_change(pre, post, higher_is_better=True)
    backward = paired_change(post, pre, higher_is_better=True)

    for name in ("mean_change", "d_z", "d_av", "d_rm", "g_av", "g_rm", "t"):
        assert getattr(backward, name) == pytest.approx(-getattr(forward, name)), name
    assert backward.g_av_ci_high == pytest.approx(-forward.g_av_ci_low)
    assert backward.d_z_ci_high == pytest.approx(-forward.d_z_ci_low)


def test_between_groups_with_an_empty_group_has_no_figures():
    result = between_groups([1, 2, 3], [None])

    assert (result.n1, result.n2, result.mean1, result.mean2) == (3, 0, 2.0, None)
    assert (result.d, result.g, result.t, result.p) == (None, None, None, None)


def test_between_groups_with_two_people_has_a_d_but_no_bias_correction():
    result = between_groups([1, 3], [2])

    assert result.df == 1
    assert result.d is not None and result.t is not None
    assert (result.j_approx, result.g, result.ci_low) == (None, None, None)


def test_between_groups_with_no_spread_has_no_d():
    result = between_groups([4, 4], [4, 4, 4])

    assert result.s_pooled == 0.0
    assert (result.d, result.t, result.p, result.g) == (None, None, None, None)


# --- property: finite in, no NaN or infinity out -----------------------------------------------

score = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=70).map(float),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),  # overflow and underflow territory
)


@st.composite
def paired_scores(draw) -> tuple[list[float | None], list[float | None]]:
    n = draw(st.integers(min_value=0, max_value=25))
    return draw(st.lists(score, min_size=n, max_size=n)), draw(st.lists(score, min_size=n, max_size=n))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paired_scores(), st.booleans())
def test_finite_scores_never_produce_nan_or_infinity(pair, higher_is_better):
    pre, post = pair
    results = [
        describe(pre),
        describe(post),
        paired_change(pre, post, higher_is_better=higher_is_better),
        between_groups(pre, post),
        reliable_change(pre, post, sd_pre=7.5, reliability=0.8, higher_is_better=higher_is_better, cutoff=30.0),
    ]
    for result in results:
        for value in _numbers(result):
            assert math.isfinite(value), (type(result).__name__, result)
