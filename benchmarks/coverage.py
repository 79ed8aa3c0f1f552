"""Seeded Monte Carlo coverage of the within-group effect-size intervals (docs/statistics.md §3).

Run from the repository root (no database; one to three minutes on a shared 2-core machine):

    .venv/bin/python benchmarks/coverage.py [--reps 4000] [--seed 20261204]

For every cell of n ∈ {6, 10, 20, 30, 50} × r ∈ {0.3, 0.5, 0.8, 0.95} × SD ratio (post/pre) ∈ {1, 1.5}
× true d_av ∈ {0.2, 0.5, 0.8} it draws ``reps`` bivariate-normal samples and counts how often each
95% interval holds the population value:

* ``AK``      the shipped d_av / g_av interval (``intervals.d_av``): Algina–Keselman noncentral t;
* ``AK·J``    the same limits multiplied by J, as some texts suggest for g_av (not shipped);
* ``Bor-av``  Borenstein's pre-post variance with g_av plugged in (what the report used before);
* ``d_z``     the exact noncentral-t interval for d_z (``intervals.d_z``);
* ``d_rm``    d_rm ± 1.96·√V_d with Borenstein's variance (``intervals.repeated_measures``).

The population values: δ_av = μ_d / ((σ_pre + σ_post)/2), δ_z = μ_d / σ_d, δ_rm = μ_d / σ_within with
σ_within = σ_d / √(2(1 − ρ)). The script checks that the shipped interval lies within 0.93–0.97 in every
cell with n ≥ 10 and exits 1 if not; it also checks, on the first replicates of each cell, that the
vectorised computation here gives the same limits as the shipped scalar functions.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from outcomes.evaluation.statistics import intervals  # noqa: E402

NS = (6, 10, 20, 30, 50)
RS = (0.3, 0.5, 0.8, 0.95)
RATIOS = (1.0, 1.5)
DELTAS = (0.2, 0.5, 0.8)
TARGET = (0.93, 0.97)
CHECKED_REPLICATES = 5


def cell(rng: np.random.Generator, *, n: int, r: float, ratio: float, delta: float, reps: int) -> dict[str, float]:
    s1, s2 = 1.0, ratio
    mu = delta * (s1 + s2) / 2
    sigma_d = math.sqrt(s1 * s1 + s2 * s2 - 2 * r * s1 * s2)
    delta_z = mu / sigma_d
    delta_rm = mu / (sigma_d / math.sqrt(2 * (1 - r)))

    z1 = rng.standard_normal((reps, n))
    z2 = rng.standard_normal((reps, n))
    pre = s1 * z1
    post = mu + s2 * (r * z1 + math.sqrt(1 - r * r) * z2)

    diff = post - pre
    mean_d = diff.mean(axis=1)
    sd_d = diff.std(axis=1, ddof=1)
    sd1, sd2 = pre.std(axis=1, ddof=1), post.std(axis=1, ddof=1)
    s_av = (sd1 + sd2) / 2
    se = sd_d / math.sqrt(n)
    lam_low, lam_high = intervals.noncentral_t_limits(mean_d / se, n - 1)
    j = intervals.hedges_j(n - 1)

    av_low, av_high = lam_low * se / s_av, lam_high * se / s_av
    z_low, z_high = lam_low / math.sqrt(n), lam_high / math.sqrt(n)

    c1, c2 = pre - pre.mean(axis=1, keepdims=True), post - post.mean(axis=1, keepdims=True)
    r_hat = (c1 * c2).sum(axis=1) / np.sqrt((c1 * c1).sum(axis=1) * (c2 * c2).sum(axis=1))
    d_rm = mean_d / (sd_d / np.sqrt(2 * (1 - r_hat)))
    se_rm = np.sqrt((1 / n + d_rm**2 / (2 * n)) * 2 * (1 - r_hat))
    g_av = j * mean_d / s_av
    se_bor_av = j * np.sqrt((1 / n + (mean_d / s_av) ** 2 / (2 * n)) * 2 * (1 - r_hat))

    for i in range(CHECKED_REPLICATES):  # the vectorised figures are the shipped functions' figures
        shipped = intervals.g_av(pre[i], post[i])
        assert math.isclose(shipped.low, av_low[i], rel_tol=1e-9, abs_tol=1e-12), (shipped, av_low[i])
        assert math.isclose(shipped.high, av_high[i], rel_tol=1e-9, abs_tol=1e-12), (shipped, av_high[i])
        rm = intervals.repeated_measures(pre[i], post[i])
        assert math.isclose(rm.d.low, d_rm[i] - 1.96 * se_rm[i], rel_tol=1e-9, abs_tol=1e-12)
        dz = intervals.d_z(pre[i], post[i])
        assert math.isclose(dz.low, z_low[i], rel_tol=1e-9, abs_tol=1e-12)

    def covers(low, high, value):
        ok = np.isfinite(low) & np.isfinite(high)
        return float(np.mean(ok & (low <= value) & (value <= high)))

    return {
        "AK": covers(av_low, av_high, delta),
        "AK·J": covers(j * av_low, j * av_high, delta),
        "Bor-av": covers(g_av - 1.96 * se_bor_av, g_av + 1.96 * se_bor_av, delta),
        "d_z": covers(z_low, z_high, delta_z),
        "d_rm": covers(d_rm - 1.96 * se_rm, d_rm + 1.96 * se_rm, delta_rm),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    columns = ("AK", "AK·J", "Bor-av", "d_z", "d_rm")
    mc_se = math.sqrt(0.95 * 0.05 / args.reps)
    print(f"Coverage of nominal 95% intervals; {args.reps} replicates per cell (Monte Carlo SE ≈ {mc_se:.4f}),")
    print(f"seed {args.seed}. Shipped d_av/g_av interval: AK. Target for AK where n ≥ 10: {TARGET[0]}–{TARGET[1]}.")
    print()
    print(f"{'d_av':>5} {'SDratio':>7} {'r':>5} {'n':>3}  " + "  ".join(f"{c:>6}" for c in columns))
    failures = []
    shipped = {n: [] for n in NS}
    for delta in DELTAS:
        for ratio in RATIOS:
            for r in RS:
                for n in NS:
                    row = cell(rng, n=n, r=r, ratio=ratio, delta=delta, reps=args.reps)
                    shipped[n].append(row["AK"])
                    flag = ""
                    if n >= 10 and not TARGET[0] <= row["AK"] <= TARGET[1]:
                        failures.append((delta, ratio, r, n, row["AK"]))
                        flag = "  <- outside target"
                    cells = "  ".join(f"{row[c]:>6.3f}" for c in columns)
                    print(f"{delta:>5} {ratio:>7} {r:>5} {n:>3}  {cells}{flag}", flush=True)
    print()
    for n in NS:
        print(f"AK coverage at n = {n:>2}: {min(shipped[n]):.3f}–{max(shipped[n]):.3f} over {len(shipped[n])} cells")
    print(f"{len(failures)} cell(s) with n ≥ 10 outside {TARGET[0]}–{TARGET[1]}; {time.perf_counter() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
