"""The types of an instrument definition: the dataclasses a loaded file becomes, and the error a broken one
raises. The vocabulary (domains, licence modes) comes from ``schema.json`` beside this module."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"
DEFINITION_SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

DOMAINS = tuple(DEFINITION_SCHEMA["properties"]["domain"]["enum"])
LICENCE_MODES = tuple(DEFINITION_SCHEMA["properties"]["licence"]["properties"]["mode"]["enum"])
# Licence modes whose wording must never be committed: the licensee supplies it.
LICENSEE_TEXT_MODES = frozenset({"registration_required", "licence_required"})

# --------------------------------------------------------------------------- errors


class InstrumentDefinitionError(ValueError):
    """An instrument file is broken. ``str()`` names the file and the field path of each problem."""

    def __init__(self, filename: str, problems: list[tuple[str, str]]):
        self.filename = filename
        self.problems = tuple(problems) or (("(root)", "invalid"),)
        self.field = self.problems[0][0]
        super().__init__("; ".join(f"{filename}: {field}: {message}" for field, message in self.problems))


def format_path(parts) -> str:
    """``["items", 3, "options"]`` → ``items[3].options``; the empty path is ``(root)``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(root)"


# --------------------------------------------------------------------------- dataclasses


@dataclass(frozen=True)
class ResponseOption:
    value: int | float
    label: str | None  # None: the licensee supplies the wording


@dataclass(frozen=True)
class OptionSet:
    """Allowed answers for an item: a list of labelled values or a whole-number range (counts)."""

    name: str
    choices: tuple[ResponseOption, ...] = ()
    integer_range: tuple[int, int] | None = None

    @property
    def minimum(self) -> int | float:
        if self.integer_range is not None:
            return self.integer_range[0]
        return min(option.value for option in self.choices)

    @property
    def maximum(self) -> int | float:
        if self.integer_range is not None:
            return self.integer_range[1]
        return max(option.value for option in self.choices)

    @property
    def values(self) -> frozenset[int | float]:
        if self.integer_range is not None:
            return frozenset(range(self.integer_range[0], self.integer_range[1] + 1))
        return frozenset(option.value for option in self.choices)

    @property
    def integral(self) -> bool:
        if self.integer_range is not None:
            return True
        return all(float(value).is_integer() for value in self.values)

    @property
    def symmetric(self) -> bool:
        """True when ``min + max - x`` maps the allowed values onto themselves (needed to reverse-score)."""
        if self.integer_range is not None:
            return True
        low, high = self.minimum, self.maximum
        return {low + high - value for value in self.values} == set(self.values)

    def allows(self, value: int | float) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer_range is not None:
            if isinstance(value, float) and not value.is_integer():
                return False
            return self.integer_range[0] <= value <= self.integer_range[1]
        return any(value == option.value for option in self.choices)


@dataclass(frozen=True)
class Item:
    key: str
    number: int
    text: str | None  # None: licensee-supplied text
    options: OptionSet
    reverse: bool
    scored: bool  # False for fillers and extra questions: asked and stored, never added in
    required: bool


@dataclass(frozen=True)
class ScoreRange:
    minimum: int | float
    maximum: int | float


@dataclass(frozen=True)
class MissingRule:
    """Score only when at most ``max_missing`` scored items are unanswered.

    With ``prorate`` the answered items stand for the missing ones (mean of the
    answered items × number of items for a sum; mean of the answered items for a
    mean). ``max_missing > 0`` requires ``prorate``.
    """

    max_missing: int
    prorate: bool
    source: str | None = None


@dataclass(frozen=True)
class ScoreRule:
    method: str  # "sum" or "mean"
    multiplier: int | float
    range: ScoreRange
    label: str | None = None


@dataclass(frozen=True)
class Subscale:
    name: str
    label: str | None
    items: tuple[str, ...]
    rule: ScoreRule
    missing: MissingRule


@dataclass(frozen=True)
class Band:
    """A half-open range ``lower <= score < upper``; ``upper`` None means no upper limit."""

    lower: int | float
    upper: int | float | None
    label: str

    def contains(self, value: int | float) -> bool:
        return self.lower <= value and (self.upper is None or value < self.upper)


@dataclass(frozen=True)
class BandScheme:
    name: str
    bands: tuple[Band, ...]
    source: str


@dataclass(frozen=True)
class Lookup:
    name: str
    source: str
    table: Mapping[int, float]
    note: str | None = None


@dataclass(frozen=True)
class Reliability:
    alpha: float | None
    alpha_range: tuple[float, float] | None
    test_retest: float | None
    source: str
    note: str | None = None


@dataclass(frozen=True)
class Norm:
    kind: str  # "clinical" or "normative"
    population: str
    mean: float
    sd: float | None
    n: int | None
    source: str
    note: str | None = None


@dataclass(frozen=True)
class MeaningfulChange:
    kind: str  # "meaningful_change" or "reliable_change_index"
    value: float
    source: str
    note: str | None = None


@dataclass(frozen=True)
class RiskRule:
    """Flags a single answer for the safeguarding workflow, whatever the total score."""

    id: str
    item: str
    operator: str  # "gt", "ge" or "eq"
    value: int | float
    description: str

    def triggered_by(self, answer: int | float | None) -> bool:
        if answer is None:
            return False
        if self.operator == "gt":
            return answer > self.value
        if self.operator == "ge":
            return answer >= self.value
        return answer == self.value


@dataclass(frozen=True)
class Licence:
    mode: str
    note: str
    copyright: str | None
    citation: str


@dataclass(frozen=True)
class TextSource:
    source: str | None
    note: str | None


@dataclass(frozen=True)
class Translation:
    locale: str
    instructions: str | None
    items: Mapping[str, str]


@dataclass(frozen=True)
class InstrumentDefinition:
    code: str
    version: int
    title: str
    domain: str
    instructions: str | None
    stem: str | None
    items: tuple[Item, ...]
    option_sets: Mapping[str, OptionSet]
    score: ScoreRule
    missing: MissingRule
    subscales: tuple[Subscale, ...]
    lookup: Lookup | None
    bands: tuple[BandScheme, ...]
    higher_is_better: bool
    reliability: Reliability | None
    norms: tuple[Norm, ...]
    meaningful_change: MeaningfulChange | None
    risk_rules: tuple[RiskRule, ...]
    licence: Licence
    text_source: TextSource
    translations: Mapping[str, Translation]
    notes: tuple[str, ...]
    filename: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.code, self.version)

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.scored)

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)


def definition_text_complete(defn: InstrumentDefinition) -> bool:
    """True when every item has its wording, so the form can be shown without licensee text.

    Labelled response options need their labels too; whole-number ranges (counts) need none.
    """
    if any(item.text is None for item in defn.items):
        return False
    return all(option.label is not None for item in defn.items for option in item.options.choices)


# --------------------------------------------------------------------------- loading
