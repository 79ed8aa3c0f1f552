"""Evaluation statistics for outcome reports.

Pure functions over plain sequences of scores; no models, no database. Every
formula follows ``docs/statistics.md`` (the section is named in each
docstring) and is computed in float64 without rounding: rounding to 2 dp is the
template's job.

Conventions shared by every function here:

* ``None`` and NaN in the input mean "no score" and are dropped (paired
  functions drop the whole pair). Infinite scores are refused with
  ``ValueError``: no instrument produces one, so it is a bug upstream.
* A value that is undefined for the data (an SD from one score, a t statistic
  when every difference is the same, ...) is returned as ``None``, never as NaN
  or infinity, so templates and JSON exports never meet a NaN.
* Change is always raw change, ``post - pre``, and every effect size carries the
  sign of that raw change. Whether a positive change is an improvement depends
  on the instrument, so results carry ``direction`` and an ``improvement`` figure
  signed so that positive means better.

The code is in one module per section, re-exported here (import them from ``single``):
``descriptives`` (§1, and the dose of §5), ``change`` (§2 and §3: paired change, within-group effect sizes),
``reliable`` (§4), ``between`` (§3, two groups), with what they share in ``shared``. None of them imports
``outcomes.evaluation.statistics.many``, nor it them.
"""

from outcomes.evaluation.statistics.single.between import BetweenGroups, between_groups
from outcomes.evaluation.statistics.single.change import PairedChange, exact_unit, paired_change, pearson_r
from outcomes.evaluation.statistics.single.descriptives import Descriptives, Dose, describe, dose
from outcomes.evaluation.statistics.single.reliable import (
    ChangeCategory,
    Cutoffs,
    ReliableChange,
    jt_cutoffs,
    reliable_change,
)
from outcomes.evaluation.statistics.single.shared import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    Scores,
    hedges_j_approx,
    hedges_j_exact,
)

__all__ = [
    "BetweenGroups",
    "ChangeCategory",
    "Cutoffs",
    "Descriptives",
    "Dose",
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "PairedChange",
    "ReliableChange",
    "Scores",
    "between_groups",
    "describe",
    "dose",
    "exact_unit",
    "hedges_j_approx",
    "hedges_j_exact",
    "jt_cutoffs",
    "paired_change",
    "pearson_r",
    "reliable_change",
]
