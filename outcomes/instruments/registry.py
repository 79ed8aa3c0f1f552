"""The installed instruments: the one place a definition is looked up by code and version."""

from __future__ import annotations

from .loading import load_all
from .types import InstrumentDefinition


def get(code: str, version: int) -> InstrumentDefinition:
    """The definition of ``code`` at ``version``; LookupError when it is not installed."""
    try:
        return load_all()[(code, int(version))]
    except KeyError:
        raise LookupError(f"No instrument {code}@{version} is installed.") from None


def latest(code: str) -> InstrumentDefinition:
    """The newest installed version of ``code``; LookupError when none is."""
    versions = [defn for (c, _version), defn in load_all().items() if c == code]
    if not versions:
        raise LookupError(f"No instrument {code} is installed.")
    return max(versions, key=lambda defn: defn.version)


def installed() -> dict[tuple[str, int], InstrumentDefinition]:
    """Every installed definition, keyed by ``(code, version)``."""
    return load_all()
