"""Curricula: versions in a family (a new version never changes a group already on the old one), and the
starter curricula shipped in ``groups/starter_curricula.json``."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from peersupport import audit
from peersupport.models import Organisation, User

from ..models import Curriculum, CurriculumKind, CurriculumUnit
from . import Action

STARTER_FILE = Path(__file__).resolve().parent.parent / "starter_curricula.json"
# Starter curricula get a family id derived from (organisation, key), which is what makes loading them idempotent.
STARTER_NAMESPACE = uuid.UUID("6f0f5a3e-2c1b-4d8e-9a57-3b1f2d9c7e41")
MIN_UNIT_MINUTES = 5
MAX_UNIT_MINUTES = 480


@dataclass(frozen=True)
class UnitSpec:
    title: str
    topics: str = ""
    duration_minutes: int = 90


def _units(units: Iterable[UnitSpec | Mapping]) -> list[UnitSpec]:
    specs = []
    for unit in units:
        spec = unit if isinstance(unit, UnitSpec) else UnitSpec(**unit)
        spec = UnitSpec(spec.title.strip(), (spec.topics or "").strip(), int(spec.duration_minutes))
        if not spec.title:
            raise ValidationError({"units": _("Every unit needs a title.")})
        if not MIN_UNIT_MINUTES <= spec.duration_minutes <= MAX_UNIT_MINUTES:
            raise ValidationError(
                {
                    "units": _("A unit lasts between %(min)s and %(max)s minutes.")
                    % {"min": MIN_UNIT_MINUTES, "max": MAX_UNIT_MINUTES}
                }
            )
        specs.append(spec)
    if not specs:
        raise ValidationError({"units": _("A curriculum needs at least one unit.")})
    return specs


def _create_units(curriculum: Curriculum, specs: Sequence[UnitSpec]) -> None:
    CurriculumUnit.objects.bulk_create(
        CurriculumUnit(
            curriculum=curriculum,
            position=position,
            title=spec.title,
            topics=spec.topics,
            duration_minutes=spec.duration_minutes,
        )
        for position, spec in enumerate(specs, start=1)
    )


@transaction.atomic
def curriculum_create(
    *,
    organisation: Organisation,
    kind: str,
    title: str,
    units: Iterable[UnitSpec | Mapping],
    by: User | None,
    description: str = "",
    family: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> Curriculum:
    """Create version 1 of a curriculum with its units, in the order given."""
    specs = _units(units)
    curriculum = Curriculum(
        organisation=organisation,
        kind=kind,
        title=(title or "").strip(),
        description=(description or "").strip(),
        created_by=by,
        version=1,
        family=family or uuid.uuid4(),
    )
    curriculum.full_clean(exclude=["created_by"])  # nullable: set to None when its author is deleted
    curriculum.save()
    _create_units(curriculum, specs)
    audit.record(
        Action.CURRICULUM_CREATED,
        actor=by,
        organisation=organisation,
        obj=curriculum,
        request=request,
        title=curriculum.title,
        units=len(specs),
    )
    return curriculum


@transaction.atomic
def curriculum_new_version(
    *,
    curriculum: Curriculum,
    by: User | None,
    title: str | None = None,
    kind: str | None = None,
    description: str | None = None,
    units: Iterable[UnitSpec | Mapping] | None = None,
    request: HttpRequest | None = None,
) -> Curriculum:
    """Publish a new version in the same family: a new row with its own units.

    Groups keep pointing at the version they run, so nothing a group already
    follows changes. Units not given are copied from ``curriculum``.
    """
    # Lock the organisation row so two leads publishing at once get different numbers.
    Organisation.objects.select_for_update().filter(pk=curriculum.organisation_id).first()
    if units is None:
        units = [UnitSpec(u.title, u.topics, u.duration_minutes) for u in curriculum.units.order_by("position")]
    specs = _units(units)
    latest = Curriculum.objects.filter(family=curriculum.family).order_by("-version").values_list("version", flat=True)
    new = Curriculum(
        organisation_id=curriculum.organisation_id,
        family=curriculum.family,
        version=(latest.first() or 0) + 1,
        kind=kind if kind is not None else curriculum.kind,
        title=(title if title is not None else curriculum.title).strip(),
        description=(description if description is not None else curriculum.description).strip(),
        created_by=by,
    )
    new.full_clean(exclude=["created_by"])  # nullable: set to None when its author is deleted
    new.save()
    _create_units(new, specs)
    audit.record(
        Action.CURRICULUM_VERSION_PUBLISHED,
        actor=by,
        organisation=curriculum.organisation,
        obj=new,
        request=request,
        family=str(new.family),
        version=new.version,
        units=len(specs),
    )
    return new


@functools.cache
def starter_curricula() -> tuple[dict, ...]:
    """The starter curricula shipped in ``starter_curricula.json``, checked once."""
    data = json.loads(STARTER_FILE.read_text(encoding="utf-8"))
    entries = tuple(data["curricula"])
    keys = [entry["key"] for entry in entries]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{STARTER_FILE.name}: duplicate keys")
    for entry in entries:
        if entry["kind"] not in CurriculumKind.values:
            raise ValueError(f"{STARTER_FILE.name}: {entry['key']} has unknown kind {entry['kind']!r}")
        _units(entry["units"])
    return entries


def starter_family(organisation: Organisation, key: str) -> uuid.UUID:
    return uuid.uuid5(STARTER_NAMESPACE, f"{organisation.pk}/{key}")


@transaction.atomic
def starter_curricula_load(
    *, organisation: Organisation, by: User | None = None, request: HttpRequest | None = None
) -> list[Curriculum]:
    """Add the starter curricula to the organisation; returns the ones created (none the second time).

    A starter curriculum the organisation already has (in any version) is left alone.
    """
    # Two clicks at once: the second waits here, then finds the families.
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    created = []
    for entry in starter_curricula():
        family = starter_family(organisation, entry["key"])
        if Curriculum.objects.filter(family=family).exists():
            continue
        created.append(
            curriculum_create(
                organisation=organisation,
                kind=entry["kind"],
                title=entry["title"],
                description=entry.get("description", ""),
                units=entry["units"],
                family=family,
                by=by,
                request=request,
            )
        )
    return created
