"""The item-level export's fast path: cached pseudonyms, rows built once per response, cells written as
plain() would write them, in chunks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.safestring import mark_safe

from groups.models import GroupFormat
from outcomes.exports import writers
from outcomes.exports.cells import plain
from outcomes.exports.items import ITEM_COLUMNS, item_rows
from outcomes.exports.pseudonyms import PseudonymCache, pseudonym, pseudonym_with, secret_for
from outcomes.exports.writers import PlainRow, csv_stream
from outcomes.models import Assessment, AssessmentStatus, Response, ResponseSource
from tests.factories import active_member, facilitated_group

HOSTILE = '=HYPERLINK("http://evil.example","x")'


def reference_csv(columns, rows) -> str:
    """The CSV as written before the fast path: one writerow per line, every cell through plain()."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([plain(value) for value in row])
    return out.getvalue()


# --- pseudonym cache -------------------------------------------------------------------------------


def test_the_pseudonym_cache_never_gives_one_participant_anothers_id_even_when_it_fills_up():
    key = bytes(range(32))
    cache = PseudonymCache(key, limit=5)
    rng = random.Random(7)
    looked_up = [rng.randrange(1, 20) for _ in range(500)]
    for user_id in looked_up:
        assert cache[user_id] == pseudonym_with(key, user_id)
        assert len(cache._ids) <= 5
    assert len({cache[user_id] for user_id in set(looked_up)}) == len(set(looked_up))
    # Another key is another cache: the same user id gets another pseudonym.
    assert PseudonymCache(bytes(32))[looked_up[0]] != cache[looked_up[0]]


# --- csv_stream ------------------------------------------------------------------------------------

CELLS = [
    None, True, False, 0, 1, -1, -2.5, 1e-7, 3.0, Decimal("-1.50"), "", "Tuesday group", "-1", "=1+1", "+1", "@SUM(A1)",
    "\tx", "\rx", "a,b", 'say "hi"', "two\nlines", "'already quoted", HOSTILE, mark_safe("=unsafe"),
    dt.date(2025, 3, 4), dt.datetime(2025, 3, 4, 23, 30, tzinfo=dt.UTC), dt.datetime(2025, 3, 4, 23, 30),
    [1, 2], {"a": 1},
]  # fmt: skip


def test_csv_stream_writes_every_kind_of_cell_exactly_as_plain_does():
    rng = random.Random(11)
    rows = [tuple(rng.choice(CELLS) for _ in range(6)) for _ in range(300)] + [tuple(CELLS)]
    columns = [f"c{i}" for i in range(len(CELLS))]
    assert "".join(csv_stream(columns, rows)) == reference_csv(columns, rows)
    text = "".join(csv_stream(["a"], [(HOSTILE,), ("-1",), (-1,), (True,)]))
    quoted = HOSTILE.replace('"', '""')
    assert text == f"a\r\n\"'{quoted}\"\r\n'-1\r\n-1\r\ntrue\r\n"


def test_csv_stream_sends_chunks_of_lines_lazily(monkeypatch):
    monkeypatch.setattr(writers, "LINES_PER_CHUNK", 10)
    assert list(csv_stream(["a", "b"], [])) == ["a,b\r\n"]
    chunks = list(csv_stream(["a", "b"], ((i, -i) for i in range(25))))
    assert [chunk.count("\r\n") for chunk in chunks] == [11, 10, 5]  # the header comes with the first lines
    assert "".join(chunks) == reference_csv(["a", "b"], [(i, -i) for i in range(25)])
    # Nothing is read ahead of the chunk being sent: an endless source still gives its first chunk.
    endless = csv_stream(["n"], ((i,) for i in itertools.count()))
    assert next(endless) == "n\r\n" + "".join(f"{i}\r\n" for i in range(10))


# --- item rows -------------------------------------------------------------------------------------


def submit(membership, time_point, answers, *, code="phq9", version=1, when=None, source=ResponseSource.ONLINE):
    assessment, _ = Assessment.objects.get_or_create(
        membership=membership,
        time_point=time_point,
        defaults={"status": AssessmentStatus.COMPLETED, "completed_at": when or timezone.now()},
    )
    return Response.objects.create(
        assessment=assessment,
        instrument_code=code,
        instrument_version=version,
        answers=answers,
        source=source,
        submitted_at=when or timezone.now(),
    )


@pytest.mark.django_db
def test_each_item_row_carries_its_own_responses_columns_and_its_cells_are_already_plain():
    group, _ = facilitated_group(delivery="online")
    org = group.organisation
    loose, _ = facilitated_group(org, format=GroupFormat.UNSTRUCTURED, curriculum=None, delivery="in_person")
    first, second = active_member(group), active_member(loose)
    day = dt.datetime(2025, 5, 3, 23, 30, tzinfo=dt.UTC)  # already 4 May in London (BST)
    # Two members' responses interleaved, so a cached pseudonym or a reused row prefix would show.
    responses = [
        submit(first, "baseline", {"q2": 1, "q1": 0, "difficulty": 2, "q3": None}, when=day),
        submit(second, "baseline", {"q1": 3, "zz": 5, "=cmd": HOSTILE, "aa": True, "q9": 2.5, "q4": "-1"}, when=day),
        submit(first, "post", {"q1": 1}, code="gad7", when=day + dt.timedelta(days=1), source=ResponseSource.IMPORT),
        submit(second, "post", {"b": 1, "a": None, "=x": "ok"}, code="homemade", version=7, when=day),
    ]

    rows = list(item_rows(org))

    # Every cell is what plain() makes of it, so csv_stream may write the rows as they are; and the CSV
    # is the one every cell through plain() gives.
    assert all(type(row) is PlainRow and len(row) == len(ITEM_COLUMNS) for row in rows)
    assert all(plain(cell) == cell for row in rows for cell in row)
    assert "".join(csv_stream(ITEM_COLUMNS, item_rows(org))) == reference_csv(ITEM_COLUMNS, rows)

    by_response = [list(group) for _, group in itertools.groupby(rows, key=lambda row: (row[0], row[5], row[6]))]
    assert len(by_response) == len(responses)
    zone = ZoneInfo(org.time_zone)
    for response, its_rows in zip(responses, by_response, strict=True):
        membership = response.assessment.membership
        expected = (
            pseudonym(org, membership.user_id),
            membership.group_id,
            membership.group.format,
            membership.group.curriculum.kind if membership.group.curriculum else "",
            membership.group.delivery,
            response.assessment.time_point,
            response.instrument_code,
            response.instrument_version,
        )
        for row in its_rows:
            assert row[:8] == expected
            assert row[11] == response.submitted_at.astimezone(zone).date().isoformat()
            assert row[12] == response.source

    items = [[(row[8], row[9], row[10]) for row in its_rows] for its_rows in by_response]
    # Questionnaire order; the unanswered item is left out.
    assert items[0] == [("q1", 1, 0), ("q2", 2, 1), ("difficulty", 10, 2)]
    # Keys the questionnaire lacks come after its items, by key, without a number; text is neutralised.
    assert items[1] == [
        ("q1", 1, 3), ("q4", 4, "'-1"), ("q9", 9, 2.5), ("'=cmd", "", "'" + HOSTILE), ("aa", "", "true"), ("zz", "", 5)
    ]  # fmt: skip
    assert items[2] == [("q1", 1, 1)]
    assert items[3] == [("'=x", "", "ok"), ("b", "", 1)]  # an unknown questionnaire: every key by key
    assert {row[11] for row in rows} == {"2025-05-04", "2025-05-05"}
    assert by_response[1][0][3] == ""  # a group without a curriculum


@pytest.mark.django_db
def test_item_pseudonyms_are_the_organisations_for_many_members_whatever_their_order():
    group, _ = facilitated_group()
    org = group.organisation
    members = [active_member(group) for _ in range(6)]
    rng = random.Random(3)
    for index in range(30):
        submit(rng.choice(members), f"tp{index}"[:20], {"q1": index % 4})
    key = secret_for(org)
    expected = [
        pseudonym_with(key, r.assessment.membership.user_id)
        for r in Response.objects.filter(submitted_at__isnull=False).select_related("assessment__membership")
        .order_by("pk")
    ]  # fmt: skip
    assert [row[0] for row in item_rows(org)] == expected
