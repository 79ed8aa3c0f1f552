"""The wording a member sees: built in for free instruments, supplied by the organisation for licensed ones."""

from __future__ import annotations

from dataclasses import dataclass

from peersupport.models import Organisation

from .definitions import InstrumentDefinition, Item, definition_text_complete, load_all
from .models import InstrumentText


@dataclass(frozen=True)
class ShownItem:
    item: Item
    text: str

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


def definition(code: str, version: int) -> InstrumentDefinition:
    try:
        return load_all()[(code, int(version))]
    except KeyError:
        raise LookupError(f"No instrument {code}@{version} is installed.") from None


def questionnaire_for(
    defn: InstrumentDefinition, organisation: Organisation, *, language: str = "en"
) -> Questionnaire | None:
    """The instrument with its wording for this organisation, or None while the wording is missing."""
    texts: dict[str, str] = {}
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
        if any(not texts[item.key] for item in defn.items):
            return None
    return Questionnaire(
        definition=defn,
        instructions=instructions,
        items=tuple(ShownItem(item, texts[item.key]) for item in defn.items),
        copyright=defn.licence.copyright,
    )
