"""The batch statistics a recompute runs give the one-sample functions' figures (and scipy's) to 1e-9."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from outcomes.evaluation.statistics import many as statistics_many
from outcomes.evaluation.statistics import signed_rank
from outcomes.evaluation.statistics import single as statistics


def same(a, b) -> bool:
    """Equal to 1e-9 (relative, or absolute near zero), with None on one side and NaN on the other both 'undefined'."""
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if b is None:
        return False
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def samples(seed: int, count: int = 400) -> list[np.ndarray]:
    """Samples of every size up to 60, with integer (tied) scores, constant samples and empty ones."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = int(rng.integers(0, 61))
        kind = i % 4
        if kind == 0:
            x = rng.normal(20, 6, n)
        elif kind == 1:
            x = rng.integers(0, 28, n).astype(float)
        elif kind == 2:
            x = np.full(n, 7.0)
        else:
            x = rng.integers(0, 4, n).astype(float)
        out.append(x)
    return out + [np.zeros(0), np.array([3.0]), np.array([3.0, 3.0])]


def test_describe_many_gives_describe_for_every_sample():
    data = samples(1)
    many = statistics_many.describe_many(data)
    for i, x in enumerate(data):
        one = statistics.describe(x)
        assert many["n"][i] == one.n
        for name in statistics_many.DESCRIBE_FIELDS:
            assert same(many[name][i], getattr(one, name)), (i, name, many[name][i], getattr(one, name))


def pairs(seed: int, count: int = 400) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Pre/post pairs: continuous, integer with ties and zero differences, no change at all, constant shift."""
    rng = np.random.default_rng(seed)
    pres, posts = [], []
    for i in range(count):
        n = int(rng.integers(1, 61)) if i % 10 else int(rng.integers(1, 4))
        kind = i % 5
        pre = rng.integers(5, 30, n).astype(float)
        if kind == 0:
            post = pre + rng.normal(-2, 4, n)
        elif kind == 1:
            post = np.clip(pre + rng.integers(-4, 3, n), 0, 40).astype(float)
        elif kind == 2:
            post = pre.copy()
        elif kind == 3:
            post = pre - 3
        else:
            post = rng.integers(5, 30, n).astype(float)
        pres.append(pre)
        posts.append(post)
    return pres, posts


@pytest.mark.parametrize("seed", [2, 3])
def test_paired_change_many_gives_paired_change_for_every_pair(seed):
    pres, posts = pairs(seed)
    many = statistics_many.paired_change_many(pres, posts)
    methods = set()
    for i, (pre, post) in enumerate(zip(pres, posts, strict=True)):
        one = statistics.paired_change(pre, post, higher_is_better=False)
        assert many["n_pairs"][i] == one.n_pairs
        for name in statistics_many.CHANGE_FIELDS:
            assert same(many[name][i], getattr(one, name)), (i, name, many[name][i], getattr(one, name))
        assert (many["wilcoxon_method"][i] or None) == one.wilcoxon_method
        methods.add(one.wilcoxon_method)
    assert methods == {"exact", "permutation", "asymptotic", None}


def test_wilcoxon_rows_give_scipys_auto_p_values_row_by_row():
    pres, posts = pairs(4, count=300)
    checked = {"exact": 0, "permutation": 0, "asymptotic": 0}
    for n in sorted({pre.size for pre in pres}):
        rows = [i for i, pre in enumerate(pres) if pre.size == n]
        pre, post = np.stack([pres[i] for i in rows]), np.stack([posts[i] for i in rows])
        statistic, p, methods = signed_rank.wilcoxon_rows(post, pre)
        for j, i in enumerate(rows):
            if not methods[j]:
                assert np.all(posts[i] == pres[i])
                continue
            expected = stats.wilcoxon(posts[i], pres[i])
            assert p[j] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)
            assert statistic[j] == pytest.approx(expected.statistic, rel=1e-9)
            checked[str(methods[j])] += 1
    assert all(checked.values()), checked


@pytest.mark.parametrize("cutoff", [None, 12.5])
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_reliable_change_counts_match_reliable_change(cutoff, higher_is_better):
    pres, posts = pairs(5, count=60)
    for pre, post in zip(pres, posts, strict=True):
        one = statistics.reliable_change(
            pre, post, sd_pre=4.0, reliability=0.8, higher_is_better=higher_is_better, cutoff=cutoff
        )
        counts = statistics_many.reliable_change_counts(
            pre, post, sd_pre=4.0, reliability=0.8, higher_is_better=higher_is_better, cutoff=cutoff
        )
        assert counts == {
            "improved": one.n_reliably_improved,
            "unchanged": one.n_unchanged,
            "deteriorated": one.n_deteriorated,
            "recovered": one.n_recovered,
        }


def test_between_groups_from_sums_gives_between_groups():
    rng = np.random.default_rng(6)
    cases = [
        (rng.normal(0, 3, int(rng.integers(1, 40))), rng.normal(1, 3, int(rng.integers(1, 400)))) for _ in range(200)
    ]
    cases += [
        (np.array([2.0]), np.array([5.0])),
        (np.full(4, 1.0), np.full(6, 1.0)),
        (np.array([1.0, 2.0]), np.array([3.0])),
    ]
    for a, b in cases:
        one = statistics.between_groups(a, b)
        ss = lambda x: float(((x - x.mean()) ** 2).sum())  # noqa: E731
        many = statistics_many.between_groups_from_sums(
            np.array([a.size]),
            np.array([a.sum()]),
            np.array([ss(a)]),
            np.array([b.size]),
            np.array([b.sum()]),
            np.array([ss(b)]),
        )
        expected = {"mean_a": one.mean1, "mean_b": one.mean2, "sd_a": one.sd1, "sd_b": one.sd2, "g": one.g,
                    "g_ci_low": one.ci_low, "g_ci_high": one.ci_high, "t": one.t, "p": one.p}  # fmt: skip
        for name, value in expected.items():
            assert same(many[name][0], value), (a.size, b.size, name, many[name][0], value)
        if one.t is not None:
            assert one.p == pytest.approx(stats.ttest_ind(a, b).pvalue, rel=1e-9)


@pytest.mark.parametrize("n", [14, 51, 400, 5000])
def test_the_normal_approximation_matches_scipy_on_large_samples_with_ties_and_zeros(n):
    rng = np.random.default_rng(n)
    pre = rng.integers(0, 28, (6, n)).astype(float)
    post = np.stack(
        [
            np.clip(pre[0] + rng.integers(-3, 3, n), 0, 27),  # integer scores: many ties and zeros
            pre[1] + rng.normal(0.5, 3, n),  # no ties
            pre[2] + np.where(rng.random(n) < 0.9, 0.0, 2.0),  # mostly zeros
            pre[3] + rng.integers(-1, 2, n) / 7,  # fractions (mean scores), ties
            pre[4] - 1,  # one tie group
            pre[5] + rng.normal(0.0, 2.0, n).round(1),
        ]
    )
    statistic, p, methods = signed_rank.wilcoxon_rows(post, pre)
    for i in range(post.shape[0]):
        expected = stats.wilcoxon(post[i], pre[i])
        if n > 50 or methods[i] == "asymptotic":
            assert methods[i] == "asymptotic"
        assert p[i] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300), i
        assert statistic[i] == pytest.approx(expected.statistic, rel=1e-12), i


@pytest.mark.parametrize("chunk", [statistics_many._CHUNK, 7, 1])  # runs of pairs: one, several, one per pair
def test_reliable_change_counts_many_gives_each_pairs_counts_with_its_own_parameters(chunk, monkeypatch):
    monkeypatch.setattr(statistics_many, "_CHUNK", chunk)
    pres, posts = pairs(6, count=120)
    rng = np.random.default_rng(6)
    sd_pre = rng.uniform(2.0, 8.0, len(pres))
    reliability = rng.uniform(0.6, 0.95, len(pres))
    higher = rng.integers(0, 2, len(pres)).astype(bool)
    cutoff = np.where(rng.integers(0, 2, len(pres)).astype(bool), np.nan, rng.uniform(8, 25, len(pres)))
    many = statistics_many.reliable_change_counts_many(
        pres, posts, sd_pre=sd_pre, reliability=reliability, higher_is_better=higher, cutoff=cutoff
    )
    for i, (pre, post) in enumerate(zip(pres, posts, strict=True)):
        one = statistics.reliable_change(
            pre,
            post,
            sd_pre=float(sd_pre[i]),
            reliability=float(reliability[i]),
            higher_is_better=bool(higher[i]),
            cutoff=None if math.isnan(cutoff[i]) else float(cutoff[i]),
        )
        expected = (one.n_reliably_improved, one.n_unchanged, one.n_deteriorated, one.n_recovered)
        assert tuple(many[name][i] for name in ("improved", "unchanged", "deteriorated", "recovered")) == expected, i
    assert statistics_many.reliable_change_counts_many(
        [], [], sd_pre=np.zeros(0), reliability=np.zeros(0), higher_is_better=np.zeros(0, bool), cutoff=np.zeros(0)
    ) == {"improved": [], "unchanged": [], "deteriorated": [], "recovered": []}


def test_runs_of_pairs_cover_every_pair_once_and_stay_within_the_limit_unless_one_pair_exceeds_it():
    sizes = [3, 4, 0, 9, 2, 2, 2, 15, 1]
    runs = statistics_many._chunks(sizes, 8)
    assert runs == [(0, 3), (3, 4), (4, 7), (7, 8), (8, 9)]
    assert statistics_many._chunks([], 8) == []
    assert statistics_many._chunks([0, 0], 8) == [(0, 2)]


@pytest.mark.parametrize(("slope", "r"), [(1.0, 1.0), (2.5, 1.0), (-1.0, -1.0), (-0.3, -1.0)])
def test_scores_on_an_exact_line_give_r_of_exactly_one_and_never_a_zero_width_interval(slope, r):
    rng = np.random.default_rng(7)
    pres = [rng.integers(0, 27, n).astype(float) / 3 for n in (3, 7, 12, 40)]  # thirds: inexact in binary
    posts = [slope * pre + 1.7 for pre in pres]
    many = statistics_many.paired_change_many(pres, posts)
    for i, (pre, post) in enumerate(zip(pres, posts, strict=True)):
        assert statistics.pearson_r(pre, post) == r
        assert many["r_pre_post"][i] == r
        if r == 1.0:  # 1 − r = 0: no S_within, so no d_rm (and no zero-width interval around it)
            assert np.isnan(many["d_rm"][i]) and np.isnan(many["g_rm_ci_low"][i])
        if slope == 1.0 and pre.size >= 3:  # every change the same: not estimable, never zero width
            assert np.isnan(many["g_av_ci_low"][i]) and np.isnan(many["d_z_ci_low"][i])
        elif pre.size >= 3:
            assert many["g_av_ci_low"][i] < many["g_av_ci_high"][i]
