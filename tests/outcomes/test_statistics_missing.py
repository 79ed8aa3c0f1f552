"""Attrition, baseline balance and multiple imputation (outcomes.evaluation.statistics.missing).

docs/statistics.md §5 and §11. The imputation is checked as a user of the figures would: on seeded
data where people with low baseline scores drop out (missing at random given baseline), the
completers' mean change is biased and the imputed one is not; and it agrees with statsmodels' own
MICE on the same data within Monte Carlo error.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.imputation import mice

from outcomes.evaluation.statistics import missing as ms


def test_attrition_is_given_against_enrolled_and_against_baseline():
    a = ms.attrition(enrolled=40, with_baseline=32, with_score=20)
    assert a.against_enrolled == pytest.approx(0.5)
    assert a.against_baseline == pytest.approx(0.375)
    assert ms.attrition(enrolled=0, with_baseline=0, with_score=0).against_baseline is None
    with pytest.raises(ValueError, match="exceed"):
        ms.attrition(enrolled=10, with_baseline=12, with_score=3)
    with pytest.raises(ValueError, match="negative"):
        ms.attrition(enrolled=10, with_baseline=5, with_score=-1)


def test_reasons_for_leaving_are_counted_and_blanks_named():
    assert ms.reasons_for_leaving(["moved", None, "work", "moved", " ", "work", "moved"]) == [
        ("moved", 3),
        ("not recorded", 2),
        ("work", 2),
    ]


def test_baseline_balance_uses_borenstein_smd_and_interval():
    # docs/statistics.md §8's between-group fixture: d 0.948683, V_d 0.278125
    a = [6, 3, 7, 1, -2, 8, 9, 4]
    b = [2, -1, 4, 0, 3, 1, -2, 5]
    balance = ms.baseline_balance([*a, *b, None], [True] * 8 + [False] * 8 + [True])
    assert (balance.n_completers, balance.n_non_completers) == (8, 8)
    assert balance.mean_completers == pytest.approx(4.5) and balance.mean_non_completers == pytest.approx(1.5)
    assert balance.smd == pytest.approx(0.948683, abs=1e-6)
    half = 1.96 * math.sqrt(0.278125)
    assert balance.smd_ci_low == pytest.approx(0.948683 - half, abs=1e-6)
    assert balance.smd_ci_high == pytest.approx(0.948683 + half, abs=1e-6)
    lonely = ms.baseline_balance([1, 2, 3], [True, True, False])
    assert lonely.smd is None and lonely.mean_non_completers == 3


def test_rubin_pools_as_the_formulas_say():
    q, u, m = [1.0, 1.2, 0.9, 1.1], [0.04, 0.05, 0.045, 0.05], 4
    pooled = ms.rubin(q, u, df_complete=30)
    b = np.var(q, ddof=1)
    total = np.mean(u) + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / total
    nu_old = (m - 1) / lam**2
    nu_obs = (30 + 1) / (30 + 3) * 30 * (1 - lam)
    nu = nu_old * nu_obs / (nu_old + nu_obs)
    assert pooled.estimate == pytest.approx(1.05)
    assert pooled.se == pytest.approx(math.sqrt(total))
    assert pooled.df == pytest.approx(nu)
    assert pooled.ci_high - pooled.estimate == pytest.approx(stats.t.ppf(0.975, nu) * math.sqrt(total))
    same = ms.rubin([2.0, 2.0], [0.1, 0.1], df_complete=9)
    assert same.df == 9 and same.fraction_missing_information == 0
    with pytest.raises(ValueError):
        ms.rubin([1.0], [0.1], df_complete=5)


def mar_data(seed=3, n=300):
    rng = np.random.default_rng(seed)
    pre = rng.normal(20, 5, n)
    post = 0.7 * pre + rng.normal(10, 3, n)  # population mean change 0.7·20 + 10 − 20 = 4
    dropped = rng.random(n) < 1 / (1 + np.exp((pre - 18) / 2))  # the lower the baseline, the likelier to leave
    return pre, np.where(dropped, np.nan, post), float(np.mean(post - pre))


def test_imputation_corrects_the_completers_bias_when_dropout_depends_on_baseline():
    pre, post, truth = mar_data()  # truth: everyone's mean change, had nobody left
    result = ms.impute_mean_change(pre.tolist(), post.tolist())
    assert result.imputed_post > 60 and result.imputed_pre == 0
    assert result.completers_mean < truth - 0.5  # those who stayed started higher and changed less
    assert result.pooled.ci_low < truth < result.pooled.ci_high
    assert abs(result.pooled.estimate - truth) < abs(result.completers_mean - truth) / 2
    assert 0 < result.pooled.fraction_missing_information < 1


def test_imputation_agrees_with_statsmodels_mice():
    """statsmodels' chained equations (predictive mean matching) on the same data, pooled by hand."""
    pre, post, _ = mar_data(seed=4)
    ours = ms.impute_mean_change(pre.tolist(), post.tolist())
    np.random.seed(4)  # statsmodels' MICEData draws from numpy's global generator
    data = mice.MICEData(pd.DataFrame({"pre": pre, "post": post}))
    data.update_all(5)
    changes = []
    for _ in range(20):
        data.update_all()
        changes.append(float((data.data["post"] - data.data["pre"]).mean()))
    assert ours.pooled.estimate == pytest.approx(np.mean(changes), abs=2 * ours.pooled.se)
    assert ours.pooled.estimate - ours.completers_mean == pytest.approx(
        np.mean(changes) - ours.completers_mean, rel=0.5
    )


def test_the_same_seed_gives_the_same_figures():
    pre, post, _ = mar_data(seed=5, n=80)
    first = ms.impute_mean_change(pre, post, seed=1)
    assert ms.impute_mean_change(pre, post, seed=1) == first
    assert ms.impute_mean_change(pre, post, seed=2).pooled.estimate != first.pooled.estimate


def test_without_missing_scores_imputation_is_the_completers_figure():
    pre, post = [40, 45, 38, 50, 42, 36, 48, 41], [46, 48, 45, 51, 40, 44, 57, 45]
    result = ms.impute_mean_change(pre, post)
    assert result.pooled.estimate == pytest.approx(4.5) and result.completers_mean == pytest.approx(4.5)
    assert result.pooled.ci_low == pytest.approx(1.37190, abs=1e-5)
    assert result.pooled.ci_high == pytest.approx(result.completers_ci_high)


def test_missing_baselines_are_imputed_too_and_covariates_are_used():
    rng = np.random.default_rng(9)
    n = 120
    dose = rng.integers(0, 12, n).astype(float)
    pre = rng.normal(20, 4, n)
    post = pre + 0.5 * dose + rng.normal(0, 2, n)
    pre_obs = np.where(rng.random(n) < 0.15, np.nan, pre)
    post_obs = np.where(dose < 4, np.nan, post)  # people who came rarely gave no follow-up
    without = ms.impute_mean_change(pre_obs, post_obs)
    with_dose = ms.impute_mean_change(pre_obs, post_obs, covariates=dose[:, None])
    truth = float(np.mean(post - pre))
    assert with_dose.imputed_pre > 0 and with_dose.left_out_without_scores == 0
    assert without.left_out_without_scores > 0 and without.n + without.left_out_without_scores == n
    assert abs(with_dose.pooled.estimate - truth) < abs(without.pooled.estimate - truth)


def test_too_few_completers_gives_no_pooled_figure():
    result = ms.impute_mean_change([1, 2, None, 4, 5], [2, 4, 3, None, None])
    assert result.pooled is None and result.n_completers == 2
