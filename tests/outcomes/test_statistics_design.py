"""Comparisons between arms made of whole groups (outcomes.evaluation.statistics.design; docs/statistics.md §9).

The module fits statsmodels through its array interface; the tests fit the same models through the
formula interface on a data frame, so a wrong design matrix, arm coding or variance read-out shows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from outcomes.evaluation.statistics import design

TOL = 1e-6


def clustered(*, groups: int, size: int, icc: float, effect: float, seed: int) -> pd.DataFrame:
    """Follow-up = 10 + 0.6·baseline + effect·arm + group effect + noise, total residual variance 25."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(groups), size)
    arm = group % 2 == 0
    baseline = rng.normal(20, 5, group.size)
    u = rng.normal(0, math.sqrt(icc * 25), groups)[group]
    e = rng.normal(0, math.sqrt((1 - icc) * 25), group.size)
    return pd.DataFrame(
        {"y": 10 + 0.6 * baseline + effect * arm + u + e, "baseline": baseline, "arm": arm.astype(float), "g": group}
    )


def compare(df: pd.DataFrame) -> design.DesignComparison:
    return design.compare_arms(df.y.tolist(), df.baseline.tolist(), df.arm.astype(bool).tolist(), df.g.tolist())


def test_mixed_model_matches_statsmodels_formula_fit_on_clustered_data():
    df = clustered(groups=40, size=12, icc=0.2, effect=2.0, seed=20261204)
    result = compare(df)
    reference = smf.mixedlm("y ~ arm + baseline", df, groups=df["g"]).fit(reml=True)
    assert result.converged and result.supports_conclusion
    assert result.mixed.difference == pytest.approx(reference.fe_params["arm"], abs=TOL)
    assert result.mixed.se == pytest.approx(reference.bse_fe["arm"], abs=TOL)
    low, high = reference.conf_int().loc["arm"]
    assert result.mixed.ci_low == pytest.approx(low, abs=TOL) and result.mixed.ci_high == pytest.approx(high, abs=TOL)
    assert result.mixed.p == pytest.approx(reference.pvalues["arm"], abs=TOL)
    tau2, sigma2 = float(reference.cov_re.iloc[0, 0]), float(reference.scale)
    assert result.group_variance == pytest.approx(tau2, abs=TOL)
    assert result.residual_variance == pytest.approx(sigma2, abs=TOL)
    assert result.icc == pytest.approx(tau2 / (tau2 + sigma2), abs=TOL)
    assert result.design_effect == pytest.approx(1 + 11 * result.icc, abs=TOL)
    assert (result.groups_a, result.groups_b, result.n_a, result.n_b) == (20, 20, 240, 240)


def test_ancova_matches_statsmodels_ols_formula_fit():
    df = clustered(groups=12, size=9, icc=0.1, effect=1.5, seed=3)
    result = compare(df)
    reference = smf.ols("y ~ arm + baseline", df).fit()
    low, high = reference.conf_int().loc["arm"]
    assert result.ancova.difference == pytest.approx(reference.params["arm"], abs=TOL)
    assert result.ancova.se == pytest.approx(reference.bse["arm"], abs=TOL)
    assert result.ancova.ci_low == pytest.approx(low, abs=TOL) and result.ancova.ci_high == pytest.approx(high, abs=TOL)
    assert result.ancova.p == pytest.approx(reference.pvalues["arm"], abs=TOL)


def test_icc_is_recovered_from_many_groups_and_clustering_widens_the_interval():
    df = clustered(groups=200, size=10, icc=0.3, effect=1.0, seed=11)
    result = compare(df)
    assert result.icc == pytest.approx(0.3, abs=0.06)
    # people in a group resemble each other, so the model that knows it is less sure than ANCOVA
    assert result.mixed.se > 1.5 * result.ancova.se


def test_fewer_than_five_groups_per_side_gives_no_p_value_and_says_why():
    df = clustered(groups=40, size=10, icc=0.2, effect=2.0, seed=5)
    few = df[df.g.isin([0, 2, 4, 6, 1, 3, 5, 7, 9, 11])]  # 4 groups in arm A, 6 in arm B
    result = compare(few)
    assert (result.groups_a, result.groups_b) == (4, 6)
    assert result.ancova.p is None and result.mixed.p is None
    assert not result.supports_conclusion
    assert "cannot support a conclusion" in result.caveat and "(4 and 6)" in result.caveat
    enough = compare(df[df.g.isin(range(10))])  # 5 and 5
    assert (enough.groups_a, enough.groups_b) == (5, 5)
    assert enough.ancova.p is not None and enough.mixed.p is not None


def test_one_group_against_the_rest_never_supports_a_conclusion():
    df = clustered(groups=20, size=10, icc=0.2, effect=2.0, seed=6)
    arm = (df.g == 0).tolist()
    result = design.compare_arms(df.y.tolist(), df.baseline.tolist(), arm, df.g.tolist())
    assert result.groups_a == 1 and result.mixed.p is None and result.ancova.p is None


def test_people_missing_a_score_are_left_out():
    df = clustered(groups=10, size=8, icc=0.2, effect=2.0, seed=8)
    full = compare(df)
    y = df.y.tolist() + [None, 30.0]
    baseline = df.baseline.tolist() + [20.0, float("nan")]
    result = design.compare_arms(y, baseline, df.arm.astype(bool).tolist() + [True, False], df.g.tolist() + [0, 1])
    assert result.n_a + result.n_b == 80
    assert result.mixed.difference == pytest.approx(full.mixed.difference, abs=1e-9)


def test_a_group_in_both_arms_is_refused():
    with pytest.raises(ValueError, match="both arms"):
        design.compare_arms([1, 2, 3, 4], [1, 2, 3, 5], [True, False, True, False], ["a", "a", "b", "b"])


def test_too_few_people_gives_no_figures():
    result = design.compare_arms([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], [True, False, False], [1, 2, 2])
    assert result.ancova is None and result.mixed is None and result.caveat.endswith(design.TOO_FEW_PEOPLE)
    assert "cannot support a conclusion" in result.caveat  # 1 group against 2: said as well
