"""System check: ``manage.py check`` refuses a broken instrument definition file."""

from __future__ import annotations

from django.core.checks import Error, register

from outcomes.instruments.loading import definition_files, instruments_dir, load_definition
from outcomes.instruments.types import InstrumentDefinitionError


@register()
def check_instrument_definitions(app_configs=None, **kwargs):
    """One ``outcomes.E001`` error per broken file, naming the file and the field."""
    if app_configs is not None and not any(config.name == "outcomes" for config in app_configs):
        return []
    directory = instruments_dir()
    if not directory.is_dir():
        return [
            Error(
                f"Instrument folder {directory} does not exist.",
                hint="Set OUTCOMES_INSTRUMENTS_DIR to the folder holding the <code>@<version>.json files.",
                obj=str(directory),
                id="outcomes.E001",
            )
        ]
    errors = []
    for path in definition_files(directory):
        try:
            load_definition(path)
        except InstrumentDefinitionError as exc:
            errors.append(
                Error(
                    f"Broken instrument definition {exc}",
                    hint=(
                        f"Fix {path} (format: outcomes/instruments/schema.json, "
                        "checks in outcomes/instruments/validation.py). "
                        "Until then load_all() refuses the whole folder."
                    ),
                    obj=str(path),
                    id="outcomes.E001",
                )
            )
    return errors
