"""Instrument definitions: questionnaires described as data, loaded and checked.

One JSON file per instrument version lives in ``outcomes/instruments/`` and is
named ``<code>@<version>.json``. The file holds the structure (items, response
values, reverse keying, fillers), the scoring parameters (sum or mean, missing-data
rule, subscales, lookup table, bands), the reliability and norms used for
reliable-change calculations, risk rules and a licence block. The scoring
primitives themselves live in :mod:`outcomes.scoring`; only their parameters are
data.

A file is checked twice: against ``outcomes/schema.json`` (JSON Schema), then by
semantic checks the schema cannot express (unique keys, bands in order, lookup
table coverage, licensed text kept out of the repository, and so on). A broken
file is never half-loaded: :func:`load_definition` either returns a complete
:class:`InstrumentDefinition` or raises :class:`InstrumentDefinitionError`, whose
message names the file and the field path (``phq9@1.json: items[3].options: ...``).

Item keys and instrument versions never change once responses exist: to change
an instrument, add a new ``<code>@<version+1>.json``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

DEFAULT_INSTRUMENTS_DIR = Path(__file__).resolve().parent / "instruments"

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"
DEFINITION_SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))

DOMAINS = tuple(DEFINITION_SCHEMA["properties"]["domain"]["enum"])
LICENCE_MODES = tuple(DEFINITION_SCHEMA["properties"]["licence"]["properties"]["mode"]["enum"])
# Licence modes whose wording must never be committed: the licensee supplies it.
LICENSEE_TEXT_MODES = frozenset({"registration_required", "licence_required"})

jsonschema.Draft202012Validator.check_schema(DEFINITION_SCHEMA)
_VALIDATOR = jsonschema.Draft202012Validator(DEFINITION_SCHEMA)


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


class _DuplicateKeys(dict):
    """A JSON object that remembers keys given twice (plain json.load keeps the last silently)."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs):
    obj = _DuplicateKeys(pairs)
    seen: set[str] = set()
    dupes = []
    for key, _value in pairs:
        if key in seen:
            dupes.append(key)
        seen.add(key)
    obj.duplicates = tuple(dupes)
    return obj


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large a number")
    return value


def _find_duplicate_keys(node, path=()) -> list[tuple[str, str]]:
    problems = []
    if isinstance(node, dict):
        for key in getattr(node, "duplicates", ()):
            problems.append((format_path((*path, key)), f"key {key!r} is given more than once"))
        for key, value in node.items():
            problems.extend(_find_duplicate_keys(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            problems.extend(_find_duplicate_keys(value, (*path, index)))
    return problems


def _error_depth(error) -> int:
    """How far into the data an error (and the deepest of its alternatives) got."""
    depth = len(error.relative_path)
    if error.context:
        depth += max(_error_depth(sub) for sub in error.context)
    return depth


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flatten_alternatives(errors) -> list:
    """Alternatives of a oneOf/anyOf, with nested oneOf/anyOf at the same place expanded."""
    flat = []
    for sub in errors:
        if sub.validator in ("oneOf", "anyOf") and sub.context and not sub.relative_path:
            flat.extend(_flatten_alternatives(sub.context))
        else:
            flat.append(sub)
    return flat


def _explain(error) -> tuple[str, str]:
    """Field path and message for one schema error, descending into oneOf/anyOf alternatives."""
    parts = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            return format_path([*parts, missing[0]]), "required field is missing"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        extra = [name for name in error.instance if name not in error.schema.get("properties", {})]
        if extra:
            return format_path([*parts, extra[0]]), "unknown field (check the spelling)"
    if error.validator in ("oneOf", "anyOf") and error.context:
        alternatives = _flatten_alternatives(error.context)
        if all(sub.validator == "required" for sub in alternatives):
            names = ", ".join(sorted({name for sub in alternatives for name in sub.validator_value}))
            return format_path(parts), f"needs at least one of: {names}"
        if all(sub.validator == "type" and not sub.relative_path for sub in alternatives):
            expected = []
            for sub in alternatives:
                for name in sub.validator_value if isinstance(sub.validator_value, list) else [sub.validator_value]:
                    if name not in expected:
                        expected.append(name)
            return format_path(parts), f"{_short(error.instance)} has the wrong type (expected {' or '.join(expected)})"
        # The alternative that got furthest into the data is the one the author meant.
        best = max(alternatives, key=lambda sub: (_error_depth(sub), sub.validator != "type"))
        return _explain(best)
    return format_path(parts), error.message


def _schema_problems(data) -> list[tuple[str, str]]:
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [_explain(error) for error in errors]


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstrumentDefinitionError(path.name, [("(file)", f"cannot be read: {exc}")]) from exc
    try:
        return json.loads(
            text, object_pairs_hook=_object_pairs, parse_constant=_reject_constant, parse_float=_finite_float
        )
    except json.JSONDecodeError as exc:
        raise InstrumentDefinitionError(
            path.name, [("(JSON syntax)", f"line {exc.lineno} column {exc.colno}: {exc.msg}")]
        ) from exc
    except ValueError as exc:
        raise InstrumentDefinitionError(path.name, [("(JSON syntax)", str(exc))]) from exc


def _option_set(name: str, raw) -> OptionSet:
    if isinstance(raw, dict):
        bounds = raw["integer_range"]
        return OptionSet(name=name, integer_range=(bounds["min"], bounds["max"]))
    return OptionSet(name=name, choices=tuple(ResponseOption(value=o["value"], label=o["label"]) for o in raw))


def _score_rule(raw) -> ScoreRule:
    return ScoreRule(
        method=raw["method"],
        multiplier=raw.get("multiplier", 1),
        range=ScoreRange(raw["range"]["min"], raw["range"]["max"]),
        label=raw.get("label"),
    )


def _missing_rule(raw) -> MissingRule:
    return MissingRule(max_missing=raw["max_missing"], prorate=raw["prorate"], source=raw.get("source"))


def _semantic_problems(data, path: Path) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []

    def problem(parts, message):
        problems.append((format_path(parts), message))

    expected_name = f"{data['code']}@{data['version']}.json"
    if path.name != expected_name:
        problem(["code"], f"file name must be {expected_name!r} for code {data['code']!r} version {data['version']}")

    option_sets = {name: _option_set(name, raw) for name, raw in data["option_sets"].items()}
    for name, option_set in option_sets.items():
        if option_set.integer_range is not None:
            low, high = option_set.integer_range
            if low >= high:
                problem(["option_sets", name, "integer_range"], "min must be below max")
        else:
            values = [option.value for option in option_set.choices]
            if len(set(values)) != len(values):
                problem(["option_sets", name], "option values must be unique")

    keys: dict[str, int] = {}
    numbers: dict[int, int] = {}
    item_sets: dict[str, OptionSet] = {}
    for index, item in enumerate(data["items"]):
        if item["key"] in keys:
            problem(["items", index, "key"], f"duplicate item key {item['key']!r} (also items[{keys[item['key']]}])")
        else:
            keys[item["key"]] = index
        if item["number"] in numbers:
            problem(["items", index, "number"], f"duplicate item number {item['number']}")
        else:
            numbers[item["number"]] = index
        raw_options = item["options"]
        if isinstance(raw_options, str):
            if raw_options not in option_sets:
                problem(["items", index, "options"], f"unknown option set {raw_options!r}")
                continue
            option_set = option_sets[raw_options]
        else:
            option_set = _option_set(f"items[{index}]", raw_options)
            if option_set.integer_range is None:
                values = [option.value for option in option_set.choices]
                if len(set(values)) != len(values):
                    problem(["items", index, "options"], "option values must be unique")
            elif option_set.integer_range[0] >= option_set.integer_range[1]:
                problem(["items", index, "options", "integer_range"], "min must be below max")
        item_sets[item["key"]] = option_set
        if item["reverse"]:
            if not item["scored"]:
                problem(["items", index, "reverse"], "only scored items can be reverse-scored")
            if not option_set.symmetric:
                problem(
                    ["items", index, "options"],
                    "a reverse-scored item needs numeric options symmetric about their midpoint (min+max-x)",
                )

    scored = [item for item in data["items"] if item["scored"]]
    if not scored:
        problem(["items"], "at least one item must be scored")

    def check_rule(rule_parts, rule, missing_parts, missing, n_items):
        low, high = rule["range"]["min"], rule["range"]["max"]
        if low >= high:
            problem([*rule_parts, "range"], "min must be below max")
        if missing["max_missing"] >= max(n_items, 1):
            problem([*missing_parts, "max_missing"], f"must be below the number of items ({n_items})")
        if missing["max_missing"] > 0 and not missing["prorate"]:
            problem(
                [*missing_parts, "prorate"],
                "must be true when max_missing > 0 (otherwise missing answers would count as zero)",
            )

    check_rule(["score"], data["score"], ["missing"], data["missing"], len(scored))

    for name, subscale in data["subscales"].items():
        seen: set[str] = set()
        for index, key in enumerate(subscale["items"]):
            if key not in keys:
                problem(["subscales", name, "items", index], f"unknown item key {key!r}")
            elif not data["items"][keys[key]]["scored"]:
                problem(["subscales", name, "items", index], f"item {key!r} is not scored (filler)")
            if key in seen:
                problem(["subscales", name, "items", index], f"item {key!r} is listed twice")
            seen.add(key)
        sub_missing = subscale.get("missing", {"max_missing": 0, "prorate": False})
        parts = ["subscales", name]
        check_rule(parts, subscale, [*parts, "missing"], sub_missing, len(subscale["items"]))

    lookup = data.get("lookup")
    if lookup is not None:
        low, high = data["score"]["range"]["min"], data["score"]["range"]["max"]
        if data["missing"]["prorate"]:
            problem(["lookup"], "a lookup table is only defined for complete raw sums: set missing.prorate to false")
        if data["score"]["method"] != "sum" or data["score"].get("multiplier", 1) != 1:
            problem(["lookup"], "a lookup table needs score.method 'sum' without a multiplier")
        if any(not item_sets[item["key"]].integral for item in scored if item["key"] in item_sets):
            problem(["lookup"], "a lookup table needs whole-number option values")
        if not (float(low).is_integer() and float(high).is_integer()):
            problem(["score", "range"], "a lookup table needs a whole-number score range")
        else:
            table_keys = {int(raw) for raw in lookup["table"]}
            wanted = set(range(int(low), int(high) + 1))
            if gaps := sorted(wanted - table_keys):
                problem(["lookup", "table"], f"does not cover raw scores {gaps} (range {low}-{high})")
            if extra := sorted(table_keys - wanted):
                problem(["lookup", "table"], f"has raw scores {extra} outside the score range {low}-{high}")

    for scheme, raw_scheme in data["bands"].items():
        ranges = raw_scheme["ranges"]
        for index, band in enumerate(ranges):
            parts = ["bands", scheme, "ranges", index]
            if band["max"] is None and index != len(ranges) - 1:
                problem([*parts, "max"], "only the last band may be open-ended (max null)")
            if band["max"] is not None and band["min"] >= band["max"]:
                problem(parts, f"min {band['min']} must be below max {band['max']}")
            if index > 0:
                previous = ranges[index - 1]
                if previous["max"] is None or band["min"] < previous["max"]:
                    problem(
                        [*parts, "min"],
                        f"band {band['label']!r} overlaps or comes before band {previous['label']!r}: "
                        "bands must be in order and must not overlap (min inclusive, max exclusive)",
                    )

    rule_ids: set[str] = set()
    for index, rule in enumerate(data["risk_rules"]):
        if rule["item"] not in keys:
            problem(["risk_rules", index, "item"], f"unknown item key {rule['item']!r}")
        if rule["id"] in rule_ids:
            problem(["risk_rules", index, "id"], f"duplicate risk rule id {rule['id']!r}")
        rule_ids.add(rule["id"])

    for locale, translation in data["translations"].items():
        for key in translation["items"]:
            if key not in keys:
                problem(["translations", locale, "items", key], f"unknown item key {key!r}")

    if data["licence"]["mode"] in LICENSEE_TEXT_MODES:
        why = f"licence mode {data['licence']['mode']!r}: the licensee supplies the wording, so it must be null here"
        for field in ("instructions", "stem"):
            if data.get(field) is not None:
                problem([field], why)
        for index, item in enumerate(data["items"]):
            if item["text"] is not None:
                problem(["items", index, "text"], why)
        for name, option_set in option_sets.items():
            if any(option.label is not None for option in option_set.choices):
                problem(["option_sets", name], why + " (option labels)")
        for index, item in enumerate(data["items"]):
            if isinstance(item["options"], list) and any(option["label"] is not None for option in item["options"]):
                problem(["items", index, "options"], why + " (option labels)")
        if data["translations"]:
            problem(["translations"], why + " (translations)")

    has_text = data["instructions"] is not None or any(item["text"] is not None for item in data["items"])
    if has_text and data["text_source"]["source"] is None:
        problem(["text_source", "source"], "say where the shipped wording was copied from")

    return problems


def _build(data, path: Path) -> InstrumentDefinition:
    option_sets = {name: _option_set(name, raw) for name, raw in data["option_sets"].items()}
    items = []
    for index, raw in enumerate(data["items"]):
        options = raw["options"]
        option_set = option_sets[options] if isinstance(options, str) else _option_set(f"items[{index}]", options)
        items.append(
            Item(
                key=raw["key"],
                number=raw["number"],
                text=raw["text"],
                options=option_set,
                reverse=raw["reverse"],
                scored=raw["scored"],
                required=raw["required"],
            )
        )
    subscales = tuple(
        Subscale(
            name=name,
            label=raw.get("label"),
            items=tuple(raw["items"]),
            rule=_score_rule(raw),
            missing=_missing_rule(raw.get("missing", {"max_missing": 0, "prorate": False})),
        )
        for name, raw in data["subscales"].items()
    )
    raw_lookup = data.get("lookup")
    lookup = None
    if raw_lookup is not None:
        lookup = Lookup(
            name=raw_lookup["name"],
            source=raw_lookup["source"],
            table=MappingProxyType(
                {int(k): v for k, v in sorted(raw_lookup["table"].items(), key=lambda kv: int(kv[0]))}
            ),
            note=raw_lookup.get("note"),
        )
    bands = tuple(
        BandScheme(
            name=name,
            bands=tuple(Band(lower=b["min"], upper=b["max"], label=b["label"]) for b in raw["ranges"]),
            source=raw["source"],
        )
        for name, raw in data["bands"].items()
    )
    raw_rel = data["reliability"]
    reliability = None
    if raw_rel is not None:
        reliability = Reliability(
            alpha=raw_rel.get("alpha"),
            alpha_range=tuple(raw_rel["alpha_range"]) if "alpha_range" in raw_rel else None,
            test_retest=raw_rel.get("test_retest"),
            source=raw_rel["source"],
            note=raw_rel.get("note"),
        )
    raw_change = data.get("meaningful_change")
    meaningful_change = None
    if raw_change is not None:
        meaningful_change = MeaningfulChange(
            kind=raw_change["kind"], value=raw_change["value"], source=raw_change["source"], note=raw_change.get("note")
        )
    licence = data["licence"]
    return InstrumentDefinition(
        code=data["code"],
        version=data["version"],
        title=data["title"],
        domain=data["domain"],
        instructions=data["instructions"],
        stem=data.get("stem"),
        items=tuple(items),
        option_sets=MappingProxyType(option_sets),
        score=_score_rule(data["score"]),
        missing=_missing_rule(data["missing"]),
        subscales=subscales,
        lookup=lookup,
        bands=bands,
        higher_is_better=data["higher_is_better"],
        reliability=reliability,
        norms=tuple(
            Norm(
                kind=n["kind"],
                population=n["population"],
                mean=n["mean"],
                sd=n["sd"],
                n=n["n"],
                source=n["source"],
                note=n.get("note"),
            )
            for n in data["norms"]
        ),
        meaningful_change=meaningful_change,
        risk_rules=tuple(
            RiskRule(id=r["id"], item=r["item"], operator=r["operator"], value=r["value"], description=r["description"])
            for r in data["risk_rules"]
        ),
        licence=Licence(
            mode=licence["mode"], note=licence["note"], copyright=licence["copyright"], citation=licence["citation"]
        ),
        text_source=TextSource(source=data["text_source"]["source"], note=data["text_source"]["note"]),
        translations=MappingProxyType(
            {
                locale: Translation(
                    locale=locale, instructions=raw["instructions"], items=MappingProxyType(dict(raw["items"]))
                )
                for locale, raw in data["translations"].items()
            }
        ),
        notes=tuple(data.get("notes", ())),
        filename=path.name,
    )


def load_definition(path: str | Path) -> InstrumentDefinition:
    """Load and check one instrument file; raise :class:`InstrumentDefinitionError` if anything is wrong."""
    path = Path(path)
    data = _read_json(path)
    problems = _find_duplicate_keys(data)
    if problems:
        raise InstrumentDefinitionError(path.name, problems)
    problems = _schema_problems(data)
    if problems:
        raise InstrumentDefinitionError(path.name, problems)
    problems = _semantic_problems(data, path)
    if problems:
        raise InstrumentDefinitionError(path.name, problems)
    try:
        return _build(data, path)
    except (KeyError, TypeError, ValueError) as exc:  # pragma: no cover - the checks above should make this unreachable
        raise InstrumentDefinitionError(path.name, [("(root)", f"could not be built: {exc!r}")]) from exc


def instruments_dir() -> Path:
    """The folder of instrument files: ``settings.OUTCOMES_INSTRUMENTS_DIR`` or the built-in folder."""
    from django.conf import settings

    if settings.configured:
        return Path(getattr(settings, "OUTCOMES_INSTRUMENTS_DIR", DEFAULT_INSTRUMENTS_DIR))
    return DEFAULT_INSTRUMENTS_DIR


def definition_files(directory: str | Path | None = None) -> list[Path]:
    directory = Path(directory) if directory is not None else instruments_dir()
    return sorted(directory.glob("*.json"))


@lru_cache(maxsize=8)
def _load_all_cached(directory: str) -> Mapping[tuple[str, int], InstrumentDefinition]:
    definitions = {}
    for path in definition_files(directory):
        definition = load_definition(path)
        definitions[definition.key] = definition
    return MappingProxyType(definitions)


def load_all(directory: str | Path | None = None) -> dict[tuple[str, int], InstrumentDefinition]:
    """Every definition in ``directory`` keyed by ``(code, version)``; cached per folder.

    Raises :class:`InstrumentDefinitionError` for the first broken file: the set is
    loaded completely or not at all. ``manage.py check`` lists every broken file.
    """
    directory = Path(directory) if directory is not None else instruments_dir()
    return dict(_load_all_cached(str(directory.resolve())))


def clear_cache() -> None:
    """Forget loaded definitions (tests, or after deploying new files without a restart)."""
    _load_all_cached.cache_clear()
