"""Scoring (vectorised), checked against the application's own scoring on a sample."""

from __future__ import annotations

import json

import numpy as np


def score_rows(defn, matrix: np.ndarray) -> tuple[list[float | None], list[str]]:
    """Totals and ``scores`` JSON for a matrix of answers (rows × defn.items, -1 = unanswered).

    Sums and counts are numpy; the rules (prorating, ``max_missing``, mean × multiplier) follow
    ``outcomes.instruments.scoring.aggregate`` exactly, with the same int/float types, so the JSON matches
    ``ScoreResult.as_dict`` (what a submit stores); ``check_scores`` compares them on a sample.
    """
    from outcomes.instruments.scoring import SCORING_VERSION, band

    if defn.lookup is not None or defn.subscales:
        raise NotImplementedError(f"{defn.code}: lookup tables and subscales are not vectorised here")
    keys = [item.key for item in defn.items]
    scored = [i for i, item in enumerate(defn.items) if item.scored]
    values = matrix[:, scored].astype(np.int64)
    for j, i in enumerate(scored):
        item = defn.items[i]
        if item.reverse:
            answered = values[:, j] >= 0
            values[answered, j] = item.options.minimum + item.options.maximum - values[answered, j]
    present = values >= 0
    sums = np.where(present, values, 0).sum(axis=1).tolist()
    counts = present.sum(axis=1).tolist()
    n_items = len(scored)
    rule, missing = defn.score, defn.missing
    band_cache: dict = {}
    risk = [(rule_.id, keys.index(rule_.item), rule_) for rule_ in defn.risk_rules]
    flags_all = [
        [rid for rid, col, r in risk if matrix[row, col] >= 0 and r.triggered_by(int(matrix[row, col]))]
        for row in range(matrix.shape[0])
    ]
    totals: list[float | None] = []
    documents: list[str] = []
    for s, n_answered, flags in zip(sums, counts, flags_all, strict=True):
        n_missing = n_items - n_answered
        if n_answered == 0 or n_missing > missing.max_missing:
            raw, prorated = None, False
        else:
            prorated = n_missing > 0
            if rule.method == "mean":
                raw = s * rule.multiplier / n_answered
            else:
                raw = s * n_items / n_answered if prorated else s
                raw = raw * rule.multiplier if rule.multiplier != 1 else raw
        bands = band_cache.get(raw)
        if bands is None:
            bands = band_cache[raw] = {scheme.name: band(raw, scheme) for scheme in defn.bands}
        totals.append(None if raw is None else float(raw))
        documents.append(
            json.dumps(
                {
                    "total": raw,
                    "raw_total": raw,
                    "transformed_total": None,
                    "subscales": {},
                    "bands": bands,
                    "n_answered": n_answered,
                    "n_missing": n_missing,
                    "prorated": prorated,
                    "risk_flags": flags,
                }
            )
        )
    assert SCORING_VERSION == 1  # the version written to scoring_version below
    return totals, documents


def answers_json(defn, matrix: np.ndarray) -> list[str]:
    keys = [item.key for item in defn.items]
    return [json.dumps({k: v for k, v in zip(keys, row, strict=True) if v >= 0}) for row in matrix.tolist()]


def check_scores(defn, matrix: np.ndarray, documents: list[str], sample: np.ndarray) -> int:
    """The vectorised score documents equal ``ScoreResult.as_dict`` (what a submit stores) on a sample."""
    from outcomes.instruments.scoring import score

    keys = [item.key for item in defn.items]
    for row in sample.tolist():
        answers = {k: v for k, v in zip(keys, matrix[row].tolist(), strict=True) if v >= 0}
        if json.dumps(score(defn, answers).as_dict()) != documents[row]:
            raise SystemExit(
                f"vectorised score differs from outcomes.instruments.scoring.score for {defn.code}: {answers}"
            )
    return len(sample)
