"""The long-format item-level export: one row per answered item of every submitted response.

Streamed: responses are read in chunks and written as lines of CSV, so memory stays
flat however many answers an organisation holds. Answers of members who later withdrew consent are
included: withdrawal stops new collection, it does not erase what was given (the data dictionary says so).

The person-level rule (docs/statistics.md §6, "Person-level export"):

- participants appear only as pseudonyms, one per person per group per download
  (:mod:`outcomes.exports.pseudonyms`); no name, e-mail or user id leaves;
- no date: a response is placed by its time point only (a submission date could be matched to a named alert
  or a session register);
- a group's answers to one questionnaire at one time point are withheld when fewer than k people gave them
  (k, the organisation's suppression threshold), so no row describes one of a handful of people.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connections
from django.db.models import Count, QuerySet
from psycopg.types.datetime import TimestamptzLoader

from outcomes.instruments import registry
from outcomes.models import Response
from peersupport.models import Organisation

from .cells import neutralise, plain
from .pseudonyms import PseudonymCache, export_nonce, secret_for
from .writers import CsvLine, csv_field

ITEM_COLUMNS = (
    "participant", "group_id", "group_format", "curriculum_kind", "delivery", "time_point",
    "instrument", "instrument_version", "item_key", "item_number", "value", "source",
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
    "source",
)


def submitted_responses(organisation: Organisation) -> QuerySet[Response]:
    """Every submitted response in the organisation's groups, oldest first (drafts are not data)."""
    return Response.objects.filter(
        assessment__membership__group__organisation=organisation, submitted_at__isnull=False
    ).order_by("pk")


def exported_cells(organisation: Organisation, *, k: int) -> set[tuple[int, str, str]]:
    """(group id, time point, instrument) of the answers that may leave: those that at least k people gave."""
    people = (
        submitted_responses(organisation)
        .order_by()
        .values_list("assessment__membership__group_id", "assessment__time_point", "instrument_code")
        .annotate(people=Count("assessment__membership__user_id", distinct=True))
        .filter(people__gte=k)
    )
    return {(group, time_point, code) for group, time_point, code, _people in people}


def item_rows(organisation: Organisation, *, k: int, nonce: bytes | None = None) -> Iterator[CsvLine]:
    """Lines of CSV text (:class:`~outcomes.exports.writers.CsvLine`) for ``ITEM_COLUMNS``, one per item row,
    lazily, in response order and item number order within a response.

    Each line is what ``csv.writer`` writes for the row whose cells went through
    :func:`~outcomes.exports.cells.plain` (text neutralised, the date as ISO text, no number as ""), so
    :func:`~outcomes.exports.writers.csv_stream` passes it on as it is. The cells a response's items share
    are written once per response, and a text cell once per distinct text, instead of a few million times.

    Answers of a group × time point × questionnaire that fewer than ``k`` people gave are left out
    (:func:`exported_cells`); each download gets its own ``nonce`` (new and random unless given), so its
    pseudonyms are its own.

    The key, the cells and the definitions are fetched now, before the response starts, so a failure there is
    an ordinary error page rather than a download cut off after its headers.
    """
    key = secret_for(organisation)
    allowed = exported_cells(organisation, k=k)
    orders = {defn_key: _ItemOrder(defn.items) for defn_key, defn in registry.installed().items()}
    rows, load_answers = _response_rows(submitted_responses(organisation).values_list(*_FIELDS))
    participants = PseudonymCache(key, export_nonce() if nonce is None else nonce)
    return _lines(rows, load_answers=load_answers, participants=participants, allowed=allowed, orders=orders)


def _response_rows(queryset: QuerySet) -> tuple[Iterator[tuple], Callable[[Any], dict | None]]:
    """The queryset's rows, lazily, and the function that turns their ``answers`` cell into a dict.

    On PostgreSQL the rows are read, like ``QuerySet.iterator`` reads them, through a server-side cursor in
    chunks (flat memory; the connection stays free between chunks), but without Django's per-row conversion,
    which cost a third of the export: Django's timestamptz loader is Python code wrapping psycopg's compiled
    one, and the answers went through a converter calling ``json.loads`` per row. Here psycopg's own loader
    reads the timestamps (the same aware instants) and the answers stay JSON text (Django registers a text
    loader for jsonb), parsed by the caller. Elsewhere (SQLite), or with server-side cursors disabled, the
    rows come from ``QuerySet.iterator``, converted by Django.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return queryset.iterator(chunk_size=CHUNK_SIZE), _as_is

    def rows() -> Iterator[tuple]:
        sql, params = queryset.query.sql_with_params()
        with connection.chunked_cursor() as cursor:
            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(CHUNK_SIZE):
                yield from chunk

    return rows(), json.loads


def _as_is(answers: dict | None) -> dict | None:
    """Answers Django has already parsed."""
    return answers


class _ItemOrder:
    """One questionnaire version's items in number order (ties by key): (key, its item_key and item_number
    fields as CSV text, with the "," after them)."""

    __slots__ = ("numbers", "ordered")

    def __init__(self, items) -> None:
        self.numbers = {item.key: item.number for item in items}
        self.ordered = tuple(
            (key, f"{csv_field(neutralise(key))},{number},")
            for key, number in sorted(self.numbers.items(), key=lambda kv: (kv[1], kv[0]))
        )

    def unknown(self, answers: dict) -> list[str]:
        """Answered keys this version does not have (an older or edited definition), in key order."""
        numbers = self.numbers
        return sorted(k for k, value in answers.items() if value is not None and k not in numbers)


_NO_ITEMS = _ItemOrder(())


class _TextFields(dict):
    """``fields[text]`` is the CSV field of ``neutralise(text)``, remembered: the text columns hold a few
    distinct values (choices, codes, time points) repeated on every row. At most ``limit`` texts are kept."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = 10_000) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, text: str) -> str:
        if len(self) >= self.limit:
            self.clear()
        self[text] = field = csv_field(neutralise(text))
        return field


def _lines(
    rows, *, load_answers, participants: PseudonymCache, allowed: set, orders: dict[tuple[str, int], _ItemOrder]
) -> Iterator[CsvLine]:
    fields = _TextFields()
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
        source,
    ) in rows:
        if (group_id, time_point, code) not in allowed:
            continue  # fewer than k people gave these answers
        # The fields every item of the response shares, written once per response: a line is its fields
        # joined by "," (see csv_field). The pseudonym is hex, the ids and the version numbers digits:
        # nothing there that csv quotes or a spreadsheet would run.
        head = (
            f"{participants[group_id, user_id]},{group_id},{fields[group_format]},{fields[curriculum_kind or '']},"
            f"{fields[delivery]},{fields[time_point]},{fields[code]},{version},"
        )
        tail = f",{fields[source]}\r\n"
        answers = load_answers(answers) or {}
        order = orders.get((code, version), _NO_ITEMS)
        # An item left unanswered (None) is not an answer.
        found = 0
        for item_key, key_fields in order.ordered:
            value = answers.get(item_key)
            if value is None:
                continue
            found += 1
            # An int (not a bool) is written as str() gives it; any other answer as csv writes plain() of it.
            yield CsvLine(f"{head}{key_fields}{value if type(value) is int else csv_field(plain(value))}{tail}")
        if found < len(answers):  # keys the definition lacks, or items left unanswered
            for item_key in order.unknown(answers):
                yield CsvLine(f"{head}{fields[item_key]},,{csv_field(plain(answers[item_key]))}{tail}")
