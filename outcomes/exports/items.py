"""The long-format item-level export: one row per answered item of every submitted response.

Streamed: rows come from a ``values_list`` iterator in chunks, so memory stays
flat however many answers an organisation holds. Participants appear only as
pseudonyms (:mod:`outcomes.exports.pseudonyms`); no name, e-mail or user id leaves.
Answers of members who later withdrew consent are included: withdrawal stops new
collection, it does not erase what was given (the data dictionary says so).
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from outcomes.definitions import load_all
from outcomes.models import Response
from peersupport.models import Organisation

from .cells import neutralise, plain
from .pseudonyms import PseudonymCache, secret_for
from .writers import PlainRow

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


def item_rows(organisation: Organisation) -> Iterator[PlainRow]:
    """Rows of ``ITEM_COLUMNS``, lazily, in response order and item number order within a response.

    Each row's cells are already what :func:`~outcomes.exports.cells.plain` makes of them (text
    neutralised, the date as ISO text, no number as ""), so :func:`~outcomes.exports.writers.csv_stream`
    writes the row as it is instead of checking every cell of a million-row export again.

    The key and the definitions are fetched now, before the response starts, so a failure there is
    an ordinary error page rather than a download cut off after its headers.
    """
    key = secret_for(organisation)
    zone = ZoneInfo(organisation.time_zone)
    orders = {defn_key: _ItemOrder(defn.items) for defn_key, defn in load_all().items()}
    return _rows(submitted_responses(organisation).values_list(*_FIELDS), key=key, zone=zone, orders=orders)


class _ItemOrder:
    """One questionnaire version's items: (key, key as a cell, number) in number order (ties by key)."""

    __slots__ = ("numbers", "ordered")

    def __init__(self, items) -> None:
        self.numbers = {item.key: item.number for item in items}
        self.ordered = tuple(
            (key, neutralise(key), number)
            for key, number in sorted(self.numbers.items(), key=lambda kv: (kv[1], kv[0]))
        )

    def unknown(self, answers: dict) -> list[str]:
        """Answered keys this version does not have (an older or edited definition), in key order."""
        numbers = self.numbers
        return sorted(k for k, value in answers.items() if value is not None and k not in numbers)


_NO_ITEMS = _ItemOrder(())


def _rows(rows, *, key: bytes, zone: ZoneInfo, orders: dict[tuple[str, int], _ItemOrder]) -> Iterator[PlainRow]:
    participants = PseudonymCache(key)
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
        # The columns every item of the response shares, as cells, once per response. The pseudonym is
        # hex and the ids are numbers: nothing there a spreadsheet would run.
        participant = participants[user_id]
        group_format, delivery, time_point = neutralise(group_format), neutralise(delivery), neutralise(time_point)
        curriculum_kind, code_cell, source = neutralise(curriculum_kind or ""), neutralise(code), neutralise(source)
        submitted_date = submitted_at.astimezone(zone).date().isoformat()
        answers = answers or {}
        order = orders.get((code, version), _NO_ITEMS)
        shared = (participant, group_id, group_format, curriculum_kind, delivery, time_point, code_cell, version)
        # An item left unanswered (None) is not an answer.
        found = 0
        for item_key, key_cell, number in order.ordered:
            value = answers.get(item_key)
            if value is None:
                continue
            found += 1
            yield PlainRow(
                (*shared, key_cell, number, value if type(value) is int else plain(value), submitted_date, source)
            )
        if found < len(answers):  # keys the definition lacks, or items left unanswered
            for item_key in order.unknown(answers):
                yield PlainRow((*shared, neutralise(item_key), "", plain(answers[item_key]), submitted_date, source))
