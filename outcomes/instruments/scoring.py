"""Scoring: pure functions driven by an :class:`~outcomes.instruments.loading.InstrumentDefinition`.

The primitives (reverse, sum, mean, prorate, lookup, band) are small functions;
which ones apply, and with what parameters, comes from the definition file. No
instrument is named in this module.

Scores are never rounded here: round only where a score is shown, and say how.
Too few answers give ``None``, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from outcomes.instruments.types import BandScheme, InstrumentDefinition, MissingRule, ScoreRule

# Bump whenever a change here could change any score, so stored scores say which code produced them.
SCORING_VERSION = 1

Number = int | float


class ScoringInputError(ValueError):
    """An answer cannot be scored: unknown item, wrong type, or a value that is not one of the item's options.

    The message is written for the person filling in the form (a form turns it into a field error).
    """

    def __init__(self, message: str, *, item_key: object = None, value: object = None):
        super().__init__(message)
        self.item_key = item_key
        self.value = value


@dataclass(frozen=True)
class ScoreResult:
    code: str
    version: int
    total: Number | None  # the reported score: the transformed total when there is a lookup table
    raw_total: Number | None  # before the lookup table (the sum or mean of the scored items)
    transformed_total: Number | None  # after the lookup table; None when the instrument has none
    subscales: Mapping[str, Number | None]
    bands: Mapping[str, str | None]  # band scheme → label for ``total``
    n_answered: int  # scored items answered
    n_missing: int  # scored items not answered
    prorated: bool  # True when the total stands in for missing answers
    risk_flags: tuple[str, ...]  # ids of risk rules triggered, whatever the total
    scoring_version: int = field(default=SCORING_VERSION)

    def as_dict(self) -> dict:
        """The score document stored as ``Response.scores``: plain JSON-ready values, keys in this order (the
        instrument's code and version and the scoring version are columns of the response of their own)."""
        return {
            "total": self.total,
            "raw_total": self.raw_total,
            "transformed_total": self.transformed_total,
            "subscales": dict(self.subscales),
            "bands": dict(self.bands),
            "n_answered": self.n_answered,
            "n_missing": self.n_missing,
            "prorated": self.prorated,
            "risk_flags": list(self.risk_flags),
        }


# --------------------------------------------------------------------------- primitives


def reverse(value: Number, *, minimum: Number, maximum: Number) -> Number:
    """Reverse-key a value on a ``minimum``..``maximum`` scale: ``minimum + maximum - value``."""
    return minimum + maximum - value


def total_sum(values: Iterable[Number]) -> Number:
    return sum(values)


def mean(values: Iterable[Number]) -> float:
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return sum(values) / len(values)


def prorate(values: Iterable[Number], *, n_items: int) -> float:
    """Stand the answered items in for all ``n_items``: mean of answered × ``n_items``."""
    values = list(values)
    if not values:
        raise ValueError("cannot prorate from no answers")
    return sum(values) * n_items / len(values)


def aggregate(
    values: list[Number], *, n_items: int, rule: ScoreRule, missing: MissingRule
) -> tuple[Number | None, bool]:
    """Apply a score rule and its missing-data rule to the (already reversed) answered values.

    Returns ``(score, prorated)``; the score is None when too many items are missing.
    """
    n_missing = n_items - len(values)
    if not values or n_missing > missing.max_missing:
        return None, False
    prorated = n_missing > 0
    if rule.method == "mean":
        # multiply before dividing so that complete integer answers give exact values
        return sum(values) * rule.multiplier / len(values), prorated
    raw = prorate(values, n_items=n_items) if prorated else total_sum(values)
    return (raw * rule.multiplier if rule.multiplier != 1 else raw), prorated


def lookup(raw: Number, table: Mapping[int, Number]) -> Number:
    """Transform a whole-number raw score with a conversion table (e.g. SWEMWBS raw → metric)."""
    if not float(raw).is_integer() or int(raw) not in table:
        raise ValueError(f"raw score {raw} is not in the conversion table")
    return table[int(raw)]


def band(value: Number | None, scheme: BandScheme) -> str | None:
    """Label of the half-open band ``min <= value < max`` holding ``value``; None if none does."""
    if value is None:
        return None
    for candidate in scheme.bands:
        if candidate.contains(value):
            return candidate.label
    return None


# --------------------------------------------------------------------------- scoring


def validate_answers(defn: InstrumentDefinition, answers: object) -> dict[str, Number]:
    """Check every answer against the definition; return the answered items (None dropped)."""
    if not isinstance(answers, Mapping):
        raise ScoringInputError("Answers must be given as a mapping of item key to value.")
    items = {item.key: item for item in defn.items}
    clean: dict[str, Number] = {}
    for key, value in answers.items():
        if not isinstance(key, str) or key not in items:
            raise ScoringInputError(
                f"{_show(key)} is not a question in {defn.title} (version {defn.version}).", item_key=key, value=value
            )
        if value is None:
            continue
        item = items[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScoringInputError(
                f"The answer to question {item.number} must be a number, not {type(value).__name__}.",
                item_key=key,
                value=value,
            )
        if (isinstance(value, float) and not math.isfinite(value)) or not item.options.allows(value):
            raise ScoringInputError(
                f"{_show(value)} is not an allowed answer to question {item.number}; "
                f"choose {_describe_options(item.options)}.",
                item_key=key,
                value=value,
            )
        clean[key] = value
    return clean


def _show(value: object, limit: int = 40) -> str:
    """A short repr for messages (huge ints and long strings are cut, never raise)."""
    try:
        text = repr(value)
    except ValueError:  # int too large to convert to str
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe_options(options) -> str:
    if options.integer_range is not None:
        low, high = options.integer_range
        return f"a whole number from {low} to {high}"
    return "one of " + ", ".join(_format_number(option.value) for option in options.choices)


def _format_number(value: Number) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def score(defn: InstrumentDefinition, answers: Mapping[str, Number | None]) -> ScoreResult:
    """Score one set of answers to ``defn``.

    ``answers`` maps item keys to the chosen option values; unanswered items may be
    absent or None. Fillers (``scored: false``) are validated and ignored. Raises
    :class:`ScoringInputError` for an unknown item key, a non-number, or a value that
    is not one of the item's options.
    """
    answered = validate_answers(defn, answers)

    scored_values: dict[str, Number] = {}
    for item in defn.scored_items:
        if item.key in answered:
            value = answered[item.key]
            if item.reverse:
                value = reverse(value, minimum=item.options.minimum, maximum=item.options.maximum)
            scored_values[item.key] = value

    n_items = len(defn.scored_items)
    raw_total, prorated = aggregate(
        list(scored_values.values()), n_items=n_items, rule=defn.score, missing=defn.missing
    )
    transformed_total = None
    if defn.lookup is not None and raw_total is not None:
        transformed_total = lookup(raw_total, defn.lookup.table)
    total = transformed_total if defn.lookup is not None else raw_total

    subscales = {}
    for subscale in defn.subscales:
        values = [scored_values[key] for key in subscale.items if key in scored_values]
        subscales[subscale.name], _ = aggregate(
            values, n_items=len(subscale.items), rule=subscale.rule, missing=subscale.missing
        )

    return ScoreResult(
        code=defn.code,
        version=defn.version,
        total=total,
        raw_total=raw_total,
        transformed_total=transformed_total,
        subscales=MappingProxyType(subscales),
        bands=MappingProxyType({scheme.name: band(total, scheme) for scheme in defn.bands}),
        n_answered=len(scored_values),
        n_missing=n_items - len(scored_values),
        prorated=prorated,
        risk_flags=tuple(rule.id for rule in defn.risk_rules if rule.triggered_by(answered.get(rule.item))),
    )
