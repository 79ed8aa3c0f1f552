"""Instrument definitions: questionnaires described as data, loaded and checked.

One JSON file per instrument version lives in this folder (``outcomes/instruments/``) and is
named ``<code>@<version>.json``. The file holds the structure (items, response
values, reverse keying, fillers), the scoring parameters (sum or mean, missing-data
rule, subscales, lookup table, bands), the reliability and norms used for
reliable-change calculations, risk rules and a licence block. The scoring
primitives themselves live in :mod:`outcomes.instruments.scoring`; only their parameters are
data.

A file is checked twice (:mod:`outcomes.instruments.validation`): against ``schema.json`` (JSON Schema), then by
semantic checks the schema cannot express (unique keys, bands in order, lookup
table coverage, licensed text kept out of the repository, and so on). A broken
file is never half-loaded: :func:`load_definition` either returns a complete
:class:`InstrumentDefinition` or raises :class:`InstrumentDefinitionError`, whose
message names the file and the field path (``phq9@1.json: items[3].options: ...``).

Item keys and instrument versions never change once responses exist: to change
an instrument, add a new ``<code>@<version+1>.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from django.conf import settings

from .types import (
    SCHEMA_PATH,
    Band,
    BandScheme,
    InstrumentDefinition,
    InstrumentDefinitionError,
    Item,
    Licence,
    Lookup,
    MeaningfulChange,
    Norm,
    Reliability,
    RiskRule,
    Subscale,
    TextSource,
    Translation,
)
from .validation import (
    build_missing_rule,
    build_option_set,
    build_score_rule,
    find_duplicate_keys,
    read_json,
    schema_problems,
    semantic_problems,
)

DEFAULT_INSTRUMENTS_DIR = Path(__file__).resolve().parent


def _build(data, path: Path) -> InstrumentDefinition:
    option_sets = {name: build_option_set(name, raw) for name, raw in data["option_sets"].items()}
    items = []
    for index, raw in enumerate(data["items"]):
        options = raw["options"]
        option_set = option_sets[options] if isinstance(options, str) else build_option_set(f"items[{index}]", options)
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
            rule=build_score_rule(raw),
            missing=build_missing_rule(raw.get("missing", {"max_missing": 0, "prorate": False})),
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
        score=build_score_rule(data["score"]),
        missing=build_missing_rule(data["missing"]),
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
    data = read_json(path)
    problems = find_duplicate_keys(data)
    if problems:
        raise InstrumentDefinitionError(path.name, problems)
    problems = schema_problems(data)
    if problems:
        raise InstrumentDefinitionError(path.name, problems)
    problems = semantic_problems(data, path)
    if problems:
        raise InstrumentDefinitionError(path.name, problems)
    try:
        return _build(data, path)
    except (KeyError, TypeError, ValueError) as exc:  # pragma: no cover - the checks above should make this unreachable
        raise InstrumentDefinitionError(path.name, [("(root)", f"could not be built: {exc!r}")]) from exc


def instruments_dir() -> Path:
    """The folder of instrument files: ``settings.OUTCOMES_INSTRUMENTS_DIR`` or the built-in folder."""
    if settings.configured:
        return Path(getattr(settings, "OUTCOMES_INSTRUMENTS_DIR", DEFAULT_INSTRUMENTS_DIR))
    return DEFAULT_INSTRUMENTS_DIR


def definition_files(directory: str | Path | None = None) -> list[Path]:
    directory = Path(directory) if directory is not None else instruments_dir()
    return sorted(path for path in directory.glob("*.json") if path.resolve() != SCHEMA_PATH)


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
