"""The wording a member sees: built in for free instruments, supplied by the organisation for licensed ones."""

from __future__ import annotations

from dataclasses import dataclass

from outcomes.instruments.types import InstrumentDefinition, Item, definition_text_complete
from outcomes.models import InstrumentText
from peersupport.models import Organisation


@dataclass(frozen=True)
class ShownOption:
    value: int | float
    label: str


@dataclass(frozen=True)
class ShownItem:
    item: Item
    text: str
    options: tuple[ShownOption, ...]  # empty for whole-number answers (counts)

    @property
    def key(self) -> str:
        return self.item.key


@dataclass(frozen=True)
class Questionnaire:
    """An instrument ready to show: every item has its wording."""

    definition: InstrumentDefinition
    instructions: str
    items: tuple[ShownItem, ...]
    copyright: str | None

    @property
    def title(self) -> str:
        return self.definition.title


def questionnaire_for(
    defn: InstrumentDefinition, organisation: Organisation, *, language: str = "en"
) -> Questionnaire | None:
    """The instrument with its wording for this organisation, or None while the wording is missing."""
    texts: dict[str, str] = {}
    labels: dict[str, dict] = {}
    instructions = defn.instructions or ""
    if definition_text_complete(defn):
        texts = {item.key: item.text for item in defn.items}
    else:
        supplied = InstrumentText.objects.filter(
            organisation=organisation, instrument_code=defn.code, instrument_version=defn.version, language=language
        ).first()
        if supplied is None:
            return None
        texts = {item.key: item.text or supplied.items.get(item.key, "") for item in defn.items}
        instructions = supplied.instructions or instructions
        labels = supplied.option_labels or {}
        if any(not texts[item.key] for item in defn.items):
            return None
    shown = []
    for item in defn.items:
        options = []
        for option in item.options.choices:
            label = option.label or labels.get(item.options.name, {}).get(_value_key(option.value))
            if not label:
                return None
            options.append(ShownOption(option.value, label))
        shown.append(ShownItem(item, texts[item.key], tuple(options)))
    return Questionnaire(
        definition=defn, instructions=instructions, items=tuple(shown), copyright=defn.licence.copyright
    )


def _value_key(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def text_status(defn: InstrumentDefinition, organisation: Organisation) -> str:
    """'built_in', 'supplied' or 'missing': whether members can be asked this instrument here."""
    if definition_text_complete(defn):
        return "built_in"
    return "supplied" if questionnaire_for(defn, organisation) is not None else "missing"
