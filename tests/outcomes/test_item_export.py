"""The item-level export's fast path: cached pseudonyms, rows read without Django's conversion, each
response's shared fields written once and lines joined as csv.writer would write them, in chunks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import random
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils.safestring import mark_safe

from groups.models import GroupFormat
from outcomes.exports import items, writers
from outcomes.exports.cells import neutralise, plain
from outcomes.exports.items import ITEM_COLUMNS, item_rows
from outcomes.exports.pseudonyms import PseudonymCache, pseudonym_with, secret_for
from outcomes.exports.writers import CsvLine, csv_field, csv_stream
from outcomes.instruments.loading import load_all
from outcomes.models import Response, ResponseSource
from tests.factories import active_member, facilitated_group, submitted

HOSTILE = '=HYPERLINK("http://evil.example","x")'
NONCE = bytes(range(16))
K_NONE = 1  # these tests check the fast path with every answer in: k = 1 withholds nothing


def rows_of(org):
    """The export's lines for ``org`` with every answer in and a fixed nonce (its pseudonyms known)."""
    return item_rows(org, k=K_NONE, nonce=NONCE)


def reference_lines(rows) -> str:
    """Rows as written before the fast path: one writerow per line, every cell through plain()."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([plain(value) for value in row])
    return out.getvalue()


def reference_csv(columns, rows) -> str:
    """The CSV as written before the fast path: the header, then :func:`reference_lines`."""
    return reference_lines([columns]) + reference_lines(rows)


# --- pseudonym cache -------------------------------------------------------------------------------


def test_the_pseudonym_cache_never_gives_one_participant_anothers_id_even_when_it_fills_up():
    key = bytes(range(32))
    cache = PseudonymCache(key, NONCE, limit=5)
    rng = random.Random(7)
    looked_up = [(rng.randrange(1, 4), rng.randrange(1, 20)) for _ in range(500)]
    for group_and_user in looked_up:
        assert cache[group_and_user] == pseudonym_with(key, NONCE, *group_and_user)
        assert len(cache._ids) <= 5
    assert len({cache[pair] for pair in set(looked_up)}) == len(set(looked_up))
    # Another key, or another download's nonce, is another cache: the same person gets another pseudonym.
    assert PseudonymCache(bytes(32), NONCE)[looked_up[0]] != cache[looked_up[0]]
    assert PseudonymCache(key, bytes(16))[looked_up[0]] != cache[looked_up[0]]


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


def test_csv_field_is_the_text_csv_writer_writes_for_a_cell_so_joined_fields_make_its_line():
    rng = random.Random(5)
    rows = [[rng.choice(CELLS) for _ in range(rng.randrange(2, 8))] for _ in range(300)]
    for row in rows:
        assert ",".join(csv_field(plain(value)) for value in row) + "\r\n" == reference_lines([row])
    assert csv_field("") == "" and csv_field('a,"b"\n') == '"a,""b""\n"' and csv_field(2.5) == "2.5"


def test_csv_stream_passes_csv_lines_on_as_they_are_between_rows_of_cells(monkeypatch):
    monkeypatch.setattr(writers, "LINES_PER_CHUNK", 3)
    rows = [("=1", 2), CsvLine("x,y\r\n"), CsvLine("'-z,1\r\n"), [True, None], CsvLine("a,b\r\n")]
    chunks = list(csv_stream(["a", "b"], rows))
    assert chunks == ["a,b\r\n'=1,2\r\nx,y\r\n'-z,1\r\n", "true,\r\na,b\r\n"]


# --- item rows -------------------------------------------------------------------------------------


def submit(membership, time_point, answers, *, code="phq9", version=1, when=None, source=ResponseSource.ONLINE):
    return submitted(membership, time_point, answers, code=code, version=version, source=source, when=when)


def expected_rows_of(org) -> list[tuple]:
    """The item rows worked out the slow, obvious way from the models (cells before plain()): what the export
    must write."""
    key, definitions = secret_for(org), load_all()
    rows = []
    responses = (
        Response.objects.filter(assessment__membership__group__organisation=org, submitted_at__isnull=False)
        .select_related("assessment__membership__group__curriculum")
        .order_by("pk")
    )
    for r in responses:
        membership, group = r.assessment.membership, r.assessment.membership.group
        shared = (
            pseudonym_with(key, NONCE, membership.group_id, membership.user_id), membership.group_id, group.format,
            group.curriculum.kind if group.curriculum else "", group.delivery, r.assessment.time_point,
            r.instrument_code, r.instrument_version,
        )  # fmt: skip
        defn = definitions.get((r.instrument_code, r.instrument_version))
        numbers = {item.key: item.number for item in defn.items} if defn else {}
        answered = {k: v for k, v in r.answers.items() if v is not None}
        known = sorted((k for k in answered if k in numbers), key=lambda k: (numbers[k], k))
        for k in known + sorted(k for k in answered if k not in numbers):
            rows.append((*shared, k, numbers.get(k, ""), answered[k], r.source))
    return rows


def parsed(lines) -> list[list[str]]:
    """The cells of each line, each line checked to be one whole CSV line."""
    rows = []
    for line in lines:
        assert type(line) is CsvLine and line.endswith("\r\n")
        (row,) = csv.reader(io.StringIO(line))
        assert len(row) == len(ITEM_COLUMNS)
        rows.append(row)
    return rows


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

    lines = list(rows_of(org))
    rows = parsed(lines)

    # One line per item row, exactly as csv.writer writes the row with every cell through plain().
    assert "".join(lines) == reference_lines(expected_rows_of(org))
    assert "".join(csv_stream(ITEM_COLUMNS, rows_of(org))) == reference_csv(ITEM_COLUMNS, expected_rows_of(org))

    by_response = [list(group) for _, group in itertools.groupby(rows, key=lambda row: (row[0], row[5], row[6]))]
    assert len(by_response) == len(responses)
    for response, its_rows in zip(responses, by_response, strict=True):
        membership = response.assessment.membership
        expected = [
            pseudonym_with(secret_for(org), NONCE, membership.group_id, membership.user_id),
            str(membership.group_id),
            membership.group.format,
            membership.group.curriculum.kind if membership.group.curriculum else "",
            membership.group.delivery,
            response.assessment.time_point,
            response.instrument_code,
            str(response.instrument_version),
        ]
        for row in its_rows:
            assert row[:8] == expected
            assert row[11] == response.source

    items_of = [[(row[8], row[9], row[10]) for row in its_rows] for its_rows in by_response]
    # Questionnaire order; the unanswered item is left out.
    assert items_of[0] == [("q1", "1", "0"), ("q2", "2", "1"), ("difficulty", "10", "2")]
    # Keys the questionnaire lacks come after its items, by key, without a number; text is neutralised.
    assert items_of[1] == [
        ("q1", "1", "3"), ("q4", "4", "'-1"), ("q9", "9", "2.5"), ("'=cmd", "", "'" + HOSTILE), ("aa", "", "true"),
        ("zz", "", "5"),
    ]  # fmt: skip
    assert items_of[2] == [("q1", "1", "1")]
    assert items_of[3] == [("'=x", "", "ok"), ("b", "", "1")]  # an unknown questionnaire: every key by key
    assert by_response[1][0][3] == ""  # a group without a curriculum


@pytest.mark.django_db
def test_cells_that_need_csv_quoting_come_out_exactly_as_csv_writer_writes_them(monkeypatch):
    monkeypatch.setattr(items, "CHUNK_SIZE", 2)  # several chunks of responses
    group, _ = facilitated_group()
    org = group.organisation
    members = [active_member(group) for _ in range(3)]
    day = dt.datetime(2025, 1, 31, 12, tzinfo=dt.UTC)
    texts = ["a,b", 'say "hi"', "two\nlines", "cr\rhere", "=SUM(1,2)", '-1,"x"', "@a\r\nb", "\tx,y", "", "é,ü"]
    keys = [f"q{n}" for n in range(1, 10)] + ["difficulty"]  # phq9's, in order
    submit(members[0], '=tp,"1"\n', {"q1": 2, "q2": texts[0], 'k,"e"\ny': texts[1], "=k,1": texts[2]}, when=day)
    submit(members[1], "baseline", dict(zip(keys, texts, strict=True)), when=day)
    submit(members[1], "post", {"x": "a,b", "=y": 1}, code='=c,"d"\n', when=day)
    submit(members[2], "baseline", {"q1": [1, "a,b"], "q2": {"x": "=1"}, "q3": -1.5, "q4": False, "q5": 0}, when=day)
    submit(members[0], "post", {"q3": 1, "q1": None, "q2": 0}, when=day)

    expected = expected_rows_of(org)
    assert len(expected) == 4 + 10 + 2 + 5 + 2
    assert "".join(csv_stream(ITEM_COLUMNS, rows_of(org))) == reference_csv(ITEM_COLUMNS, expected)
    rows = parsed(rows_of(org))
    assert [row[5] for row in rows[:4]] == ["'" + '=tp,"1"\n'] * 4
    assert [row[10] for row in rows[4:14]] == [neutralise(text) for text in texts]
    assert [(row[6], row[8], row[10]) for row in rows[14:16]] == [
        ('\'=c,"d"\n', "'=y", "1"),
        ('\'=c,"d"\n', "x", "a,b"),
    ]


def test_text_fields_are_remembered_up_to_a_limit_and_always_right():
    fields = items._TextFields(limit=3)
    for text in ["a", "=b", "c,d", "a", "e", 'f"', "=b", "", "\rx"] * 3:
        assert fields[text] == csv_field(neutralise(text))
        assert len(fields) <= 3


def test_a_questionnaires_item_keys_are_written_as_csv_writer_writes_them_in_number_order():
    order = items._ItemOrder([SimpleNamespace(key='=a,"b"', number=2), SimpleNamespace(key="z", number=1)])
    assert [fields for _key, fields in order.ordered] == ["z,1,", reference_lines([('=a,"b"', 2)])[:-2] + ","]


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
        pseudonym_with(key, NONCE, r.assessment.membership.group_id, r.assessment.membership.user_id)
        for r in Response.objects.filter(submitted_at__isnull=False).select_related("assessment__membership")
        .order_by("pk")
    ]  # fmt: skip
    assert [row[0] for row in parsed(rows_of(org))] == expected
