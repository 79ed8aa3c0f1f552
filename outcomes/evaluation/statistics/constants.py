"""Constants every statistic here shares (docs/statistics.md, conventions)."""

#: Two-sided 95% intervals throughout.
CONFIDENCE = 0.95
#: Normal quantile used by Borenstein's and Jacobson & Truax's formulas, as printed there.
Z_95 = 1.96
#: A correlation within this of ±1 is ±1 (see ``single.exact_unit``).
R_UNIT = 1e-12
