"""Checking an instrument file: duplicate keys, the JSON Schema (``schema.json``), then the semantic checks
the schema cannot express (unique keys, bands in order, lookup table coverage, licensed text kept out of the
repository, and so on). Each check returns ``(field path, message)`` pairs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema

from .types import (
    DEFINITION_SCHEMA,
    LICENSEE_TEXT_MODES,
    InstrumentDefinitionError,
    MissingRule,
    OptionSet,
    ResponseOption,
    ScoreRange,
    ScoreRule,
    format_path,
)

jsonschema.Draft202012Validator.check_schema(DEFINITION_SCHEMA)
_VALIDATOR = jsonschema.Draft202012Validator(DEFINITION_SCHEMA)


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


def find_duplicate_keys(node, path=()) -> list[tuple[str, str]]:
    problems = []
    if isinstance(node, dict):
        for key in getattr(node, "duplicates", ()):
            problems.append((format_path((*path, key)), f"key {key!r} is given more than once"))
        for key, value in node.items():
            problems.extend(find_duplicate_keys(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            problems.extend(find_duplicate_keys(value, (*path, index)))
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


def schema_problems(data) -> list[tuple[str, str]]:
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [_explain(error) for error in errors]


def read_json(path: Path) -> Any:
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


def build_option_set(name: str, raw) -> OptionSet:
    if isinstance(raw, dict):
        bounds = raw["integer_range"]
        return OptionSet(name=name, integer_range=(bounds["min"], bounds["max"]))
    return OptionSet(name=name, choices=tuple(ResponseOption(value=o["value"], label=o["label"]) for o in raw))


def build_score_rule(raw) -> ScoreRule:
    return ScoreRule(
        method=raw["method"],
        multiplier=raw.get("multiplier", 1),
        range=ScoreRange(raw["range"]["min"], raw["range"]["max"]),
        label=raw.get("label"),
    )


def build_missing_rule(raw) -> MissingRule:
    return MissingRule(max_missing=raw["max_missing"], prorate=raw["prorate"], source=raw.get("source"))


Problems = list[tuple[str, str]]


class _Found:
    """The problems found so far, each with its field path."""

    def __init__(self) -> None:
        self.problems: Problems = []

    def __call__(self, parts, message: str) -> None:
        self.problems.append((format_path(parts), message))


def _check_file_name(data, path: Path, problem: _Found) -> None:
    expected_name = f"{data['code']}@{data['version']}.json"
    if path.name != expected_name:
        problem(["code"], f"file name must be {expected_name!r} for code {data['code']!r} version {data['version']}")


def _check_option_sets(data, problem: _Found) -> dict[str, OptionSet]:
    option_sets = {name: build_option_set(name, raw) for name, raw in data["option_sets"].items()}
    for name, option_set in option_sets.items():
        if option_set.integer_range is not None:
            low, high = option_set.integer_range
            if low >= high:
                problem(["option_sets", name, "integer_range"], "min must be below max")
        else:
            values = [option.value for option in option_set.choices]
            if len(set(values)) != len(values):
                problem(["option_sets", name], "option values must be unique")
    return option_sets


def _item_option_set(index: int, raw_options, option_sets: dict[str, OptionSet], problem: _Found) -> OptionSet | None:
    """The options of item ``index``: a named set, or its own (checked here)."""
    if isinstance(raw_options, str):
        if raw_options not in option_sets:
            problem(["items", index, "options"], f"unknown option set {raw_options!r}")
            return None
        return option_sets[raw_options]
    option_set = build_option_set(f"items[{index}]", raw_options)
    if option_set.integer_range is None:
        values = [option.value for option in option_set.choices]
        if len(set(values)) != len(values):
            problem(["items", index, "options"], "option values must be unique")
    elif option_set.integer_range[0] >= option_set.integer_range[1]:
        problem(["items", index, "options", "integer_range"], "min must be below max")
    return option_set


def _check_items(
    data, option_sets: dict[str, OptionSet], problem: _Found
) -> tuple[dict[str, int], dict[str, OptionSet]]:
    """Unique keys and numbers, known option sets, reverse keying. Returns each key's index and options."""
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
        option_set = _item_option_set(index, item["options"], option_sets, problem)
        if option_set is None:
            continue
        item_sets[item["key"]] = option_set
        if item["reverse"]:
            if not item["scored"]:
                problem(["items", index, "reverse"], "only scored items can be reverse-scored")
            if not option_set.symmetric:
                problem(
                    ["items", index, "options"],
                    "a reverse-scored item needs numeric options symmetric about their midpoint (min+max-x)",
                )
    return keys, item_sets


def _check_rule(rule_parts, rule, missing_parts, missing, n_items: int, problem: _Found) -> None:
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


def _check_scores(data, keys: dict[str, int], problem: _Found) -> None:
    """The total's rule and each subscale's (known, scored items, each once)."""
    scored = [item for item in data["items"] if item["scored"]]
    if not scored:
        problem(["items"], "at least one item must be scored")
    _check_rule(["score"], data["score"], ["missing"], data["missing"], len(scored), problem)
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
        _check_rule(parts, subscale, [*parts, "missing"], sub_missing, len(subscale["items"]), problem)


def _check_lookup(data, item_sets: dict[str, OptionSet], problem: _Found) -> None:
    lookup = data.get("lookup")
    if lookup is None:
        return
    scored = [item for item in data["items"] if item["scored"]]
    low, high = data["score"]["range"]["min"], data["score"]["range"]["max"]
    if data["missing"]["prorate"]:
        problem(["lookup"], "a lookup table is only defined for complete raw sums: set missing.prorate to false")
    if data["score"]["method"] != "sum" or data["score"].get("multiplier", 1) != 1:
        problem(["lookup"], "a lookup table needs score.method 'sum' without a multiplier")
    if any(not item_sets[item["key"]].integral for item in scored if item["key"] in item_sets):
        problem(["lookup"], "a lookup table needs whole-number option values")
    if not (float(low).is_integer() and float(high).is_integer()):
        problem(["score", "range"], "a lookup table needs a whole-number score range")
        return
    table_keys = {int(raw) for raw in lookup["table"]}
    wanted = set(range(int(low), int(high) + 1))
    if gaps := sorted(wanted - table_keys):
        problem(["lookup", "table"], f"does not cover raw scores {gaps} (range {low}-{high})")
    if extra := sorted(table_keys - wanted):
        problem(["lookup", "table"], f"has raw scores {extra} outside the score range {low}-{high}")


def _check_bands(data, problem: _Found) -> None:
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


def _check_risk_rules_and_translations(data, keys: dict[str, int], problem: _Found) -> None:
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


def _check_licensed_text(data, option_sets: dict[str, OptionSet], problem: _Found) -> None:
    """Wording the licensee supplies is never in the file; shipped wording says where it came from."""
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


def semantic_problems(data, path: Path) -> Problems:
    """What the schema cannot check, section by section, in the order a reader meets them in the file."""
    problem = _Found()
    _check_file_name(data, path, problem)
    option_sets = _check_option_sets(data, problem)
    keys, item_sets = _check_items(data, option_sets, problem)
    _check_scores(data, keys, problem)
    _check_lookup(data, item_sets, problem)
    _check_bands(data, problem)
    _check_risk_rules_and_translations(data, keys, problem)
    _check_licensed_text(data, option_sets, problem)
    return problem.problems
