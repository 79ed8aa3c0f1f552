"""One reliable-change rule for the organisation (docs/statistics.md §4): the parameters of the Reliable Change
Index are a property of the instrument or of the organisation, never of the table being shown.

- The reliability r_xx (test–retest, else Cronbach's α) always comes from the instrument file, with its source;
  an instrument whose file publishes none gets no reliable-change counts (a coefficient is never invented).
- SD₁ is the clinical norm's SD where the file publishes one. Otherwise it is the organisation's baseline,
  frozen (a ``ReliableChangeBaseline`` row) by the first recompute that finds at least
  ``MIN_BASELINE_SCORES`` baseline scores of that instrument version: the sample SD of all of them. Until then
  no counts are made. A lead may change a frozen SD (``baseline_change``: audited, and every figure of the
  organisation is recomputed); nothing else changes it.

Because every cohort of the organisation uses the same parameters, one member's category is the same in every
table, and the groups' counts add up to the organisation's.
"""

from __future__ import annotations

import math

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from outcomes.evaluation.statistics import single
from outcomes.instruments import registry
from outcomes.instruments.types import InstrumentDefinition
from outcomes.models import CohortState, ReliableChangeBaseline, Response, TimePoint
from peersupport import audit
from peersupport.models import AuditEvent, Organisation

from .scheduling import schedule_recompute

MIN_BASELINE_SCORES = 10  # [conv] fewer baseline scores give an SD too unsteady to freeze
SCALE = "total"  # the files' reliabilities are those of the total score
SOURCE_CLINICAL = "clinical norm"
SOURCE_BASELINE = "organisation baseline"


def latest_definitions() -> dict[str, InstrumentDefinition]:
    """The newest installed version of each instrument (the version the figures are computed with)."""
    latest: dict[str, InstrumentDefinition] = {}
    for (code, version), defn in registry.installed().items():
        if code not in latest or version > latest[code].version:
            latest[code] = defn
    return latest


def reliability_of(defn: InstrumentDefinition | None) -> tuple[float, str, str] | None:
    """(r_xx, "test-retest" or "alpha", source) from the instrument file, or None when it publishes none."""
    if defn is None or defn.reliability is None:
        return None
    if defn.reliability.test_retest:
        return defn.reliability.test_retest, "test-retest", defn.reliability.source
    if defn.reliability.alpha:
        return defn.reliability.alpha, "alpha", defn.reliability.source
    return None


def clinical_norm(defn: InstrumentDefinition):
    """The clinical norm whose SD the Reliable Change Index uses, if the instrument file has one."""
    return next((n for n in defn.norms if n.kind == "clinical" and n.sd), None)


def needs_baseline(defn: InstrumentDefinition) -> bool:
    """Whether this instrument's SD₁ has to come from the organisation's baseline."""
    return reliability_of(defn) is not None and clinical_norm(defn) is None


def _parameters(defn: InstrumentDefinition, baseline: ReliableChangeBaseline | None) -> dict | None:
    reliability = reliability_of(defn)
    if reliability is None:
        return None
    r_xx, kind, r_source = reliability
    clinical = clinical_norm(defn)
    normative = next((n for n in defn.norms if n.kind == "normative" and n.sd), None)
    if clinical is not None:
        sd = {"sd_pre": clinical.sd, "sd_source": SOURCE_CLINICAL, "sd_reference": clinical.source, "sd_n": clinical.n}
        sd["sd_set_at"] = None
    elif baseline is not None:
        how = (
            _("frozen from %(n)s baseline scores") % {"n": baseline.frozen_n}
            if baseline.how == ReliableChangeBaseline.How.FROZEN
            else _("set by a lead (frozen value %(sd)s from %(n)s baseline scores)")
            % {"sd": f"{baseline.frozen_sd:.4g}", "n": baseline.frozen_n}
        )
        sd = {"sd_pre": baseline.sd, "sd_source": SOURCE_BASELINE, "sd_reference": how, "sd_n": baseline.frozen_n}
        sd["sd_set_at"] = baseline.set_at.isoformat()
    else:
        return None
    cutoff = None
    if clinical is not None and normative is not None:
        cutoff = single.jt_cutoffs(clinical.mean, clinical.sd, normative.mean, normative.sd, defn.higher_is_better).c
    return {
        **sd,
        "reliability": r_xx,
        "reliability_kind": kind,
        "reliability_source": r_source,
        "cutoff": cutoff,
        "instrument_version": defn.version,
    }


def file_parameters(defn: InstrumentDefinition | None) -> dict | None:
    """The parameters the instrument file alone gives (None when SD₁ would need the organisation's baseline)."""
    return _parameters(defn, None) if defn is not None else None


def baseline_scores(organisation_id: int, code: str, version: int) -> np.ndarray:
    """Every valid baseline total of this instrument version in the organisation (one per membership)."""
    totals = Response.objects.filter(
        assessment__membership__group__organisation_id=organisation_id,
        assessment__time_point=TimePoint.BASELINE,
        instrument_code=code,
        instrument_version=version,
        submitted_at__isnull=False,
        total__isnull=False,
    ).values_list("total", flat=True)
    return np.array(list(totals), dtype=np.float64)


def parameters_for(organisation_id: int, *, computing: list[int] | None = None) -> dict[str, dict | None]:
    """The reliable-change parameters of each instrument for the organisation's figures, by instrument code,
    freezing the baseline SD of any instrument version that has reached ``MIN_BASELINE_SCORES`` (in the
    caller's transaction, audited). A freeze marks the organisation's other cohorts (not in ``computing``,
    the ones being recomputed now) stale, so no table keeps counts made without it."""
    definitions = latest_definitions()
    stored = {
        (row.instrument_code, row.instrument_version): row
        for row in ReliableChangeBaseline.objects.filter(organisation_id=organisation_id, scale=SCALE)
    }
    froze = []
    for code, defn in definitions.items():
        if needs_baseline(defn) and (code, defn.version) not in stored:
            row = _freeze(organisation_id, defn)
            if row is not None:
                stored[(code, defn.version)] = row
                froze.append(row)
    if froze:
        others = CohortState.objects.filter(organisation_id=organisation_id).exclude(pk__in=computing or [])
        if others.update(stale=True, marked_at=timezone.now()):
            transaction.on_commit(lambda: schedule_recompute(organisation_id))
    return {code: _parameters(defn, stored.get((code, defn.version))) for code, defn in definitions.items()}


def _freeze(organisation_id: int, defn: InstrumentDefinition) -> ReliableChangeBaseline | None:
    scores = baseline_scores(organisation_id, defn.code, defn.version)
    if scores.size < MIN_BASELINE_SCORES:
        return None
    sd = float(np.std(scores, ddof=1))
    if not math.isfinite(sd) or sd <= 0:  # everyone scored the same: no SD to divide by yet
        return None
    now = timezone.now()
    row, created = ReliableChangeBaseline.objects.get_or_create(
        organisation_id=organisation_id,
        instrument_code=defn.code,
        instrument_version=defn.version,
        scale=SCALE,
        defaults={
            "sd": sd,
            "set_at": now,
            "frozen_sd": sd,
            "frozen_mean": float(scores.mean()),
            "frozen_n": int(scores.size),
            "frozen_at": now,
        },
    )
    if created:
        audit.record(
            AuditEvent.Action.RELIABLE_CHANGE_SD_FROZEN,
            organisation=Organisation.objects.get(pk=organisation_id),
            obj=row,
            instrument=f"{defn.code}@{defn.version}",
            scale=SCALE,
            sd=sd,
            n=int(scores.size),
        )
    return row


def baseline_change(*, baseline: ReliableChangeBaseline, sd: float, note: str, by, request=None) -> None:
    """A lead sets SD₁ of a frozen baseline (with a reason): audited, and every figure of the organisation is
    recomputed with it."""
    note = (note or "").strip()
    if not math.isfinite(sd) or sd <= 0:
        raise ValidationError(_("SD₁ must be a number above 0."))
    if not note:
        raise ValidationError(_("Say why SD₁ is changed: the reason is kept with it."))
    with transaction.atomic():
        row = ReliableChangeBaseline.objects.select_for_update().get(pk=baseline.pk)
        before = row.sd
        row.sd, row.how, row.set_by, row.set_at, row.note = (
            sd,
            ReliableChangeBaseline.How.SET_BY_LEAD,
            by,
            timezone.now(),
            note,
        )
        row.save(update_fields=["sd", "how", "set_by", "set_at", "note"])
        audit.record(
            AuditEvent.Action.RELIABLE_CHANGE_SD_CHANGED,
            actor=by,
            organisation=row.organisation,
            obj=row,
            request=request,
            instrument=f"{row.instrument_code}@{row.instrument_version}",
            scale=row.scale,
            sd_before=before,
            sd_after=sd,
            note=note,
        )
        CohortState.objects.filter(organisation_id=row.organisation_id).update(stale=True, marked_at=timezone.now())
        organisation_id = row.organisation_id
        transaction.on_commit(lambda: schedule_recompute(organisation_id))
    baseline.refresh_from_db()


def overview(organisation: Organisation) -> list[dict]:
    """For the lead page: each instrument with a published reliability, what its SD₁ is and where it comes from."""
    stored = {
        (row.instrument_code, row.instrument_version): row
        for row in ReliableChangeBaseline.objects.filter(organisation=organisation, scale=SCALE).select_related(
            "set_by"
        )
    }
    rows = []
    for code, defn in sorted(latest_definitions().items()):
        reliability = reliability_of(defn)
        if reliability is None:
            rows.append({"definition": defn, "reliability": None})
            continue
        baseline = stored.get((code, defn.version))
        rows.append(
            {
                "definition": defn,
                "reliability": reliability,
                "clinical": clinical_norm(defn),
                "baseline": baseline,
                "parameters": _parameters(defn, baseline),
                "waiting": needs_baseline(defn) and baseline is None,
            }
        )
    return rows
