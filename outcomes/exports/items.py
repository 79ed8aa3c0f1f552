"""The long-format item-level export: one row per answered item of every submitted response.

Streamed: rows come from a ``values_list`` iterator in chunks, so memory stays
flat however many answers an organisation holds. Participants appear only as
pseudonyms (:mod:`outcomes.exports.pseudonyms`); no name, e-mail or user id leaves.
Answers of members who later withdrew consent are included: withdrawal stops new
collection, it does not erase what was given (the data dictionary says so).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from outcomes.definitions import load_all
from outcomes.models import Response
from peersupport.models import Organisation

from .pseudonyms import pseudonym_with, secret_for

ITEM_COLUMNS = (
    "participant", "group_id", "group_format", "curriculum_kind", "delivery", "time_point",
    "instrument", "instrument_version", "item_key", "item_number", "value", "submitted_date", "source",
)  # fmt: skip

CHUNK_SIZE = 2000

_FIELDS = (
    "assessment__membership__user_id",
    "assessment__membership__group_id",
    "assessment__membership__group__format",
    "assessment__membership__group__curriculum__kind",
    "assessment__membership__group__delivery",
    "assessment__time_point",
    "instrument_code",
    "instrument_version",
    "answers",
    "submitted_at",
    "source",
)


def submitted_responses(organisation: Organisation) -> QuerySet[Response]:
    """Every submitted response in the organisation's groups, oldest first (drafts are not data)."""
    return Response.objects.filter(
        assessment__membership__group__organisation=organisation, submitted_at__isnull=False
    ).order_by("pk")


def item_rows(organisation: Organisation) -> Iterator[tuple]:
    """Rows of ``ITEM_COLUMNS``, lazily, in response order and item number order within a response.

    The key and the definitions are fetched now, before the response starts, so a failure there is
    an ordinary error page rather than a download cut off after its headers.
    """
    key = secret_for(organisation)
    zone = ZoneInfo(organisation.time_zone)
    numbers = {defn_key: {item.key: item.number for item in defn.items} for defn_key, defn in load_all().items()}
    return _rows(submitted_responses(organisation).values_list(*_FIELDS), key=key, zone=zone, numbers=numbers)


def _rows(rows, *, key: bytes, zone: ZoneInfo, numbers: dict) -> Iterator[tuple]:
    for (
        user_id,
        group_id,
        group_format,
        curriculum_kind,
        delivery,
        time_point,
        code,
        version,
        answers,
        submitted_at,
        source,
    ) in rows.iterator(chunk_size=CHUNK_SIZE):
        participant = pseudonym_with(key, user_id)
        submitted_date = submitted_at.astimezone(zone).date()
        item_numbers = numbers.get((code, version), {})
        ordered = sorted((answers or {}).items(), key=lambda kv: (item_numbers.get(kv[0], math.inf), str(kv[0])))
        for item_key, value in ordered:
            if value is None:  # an item left unanswered is not an answer
                continue
            yield (
                participant,
                group_id,
                group_format,
                curriculum_kind or "",
                delivery,
                time_point,
                code,
                version,
                item_key,
                item_numbers.get(item_key),
                value,
                submitted_date,
                source,
            )
