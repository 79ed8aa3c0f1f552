"""CSV text and XLSX workbooks from rows, every cell through :func:`~outcomes.exports.cells.plain` (or already
plain: a :class:`PlainRow`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .cells import FORMULA_PREFIXES, plain

# Lines are sent in batches: one network write per line would make a large export crawl.
LINES_PER_CHUNK = 1000

# Exact types whose cell is what csv writes for them anyway (str() of the value): plain() leaves ints and
# floats alone, and writes a date (not a datetime, whose str() differs) as its isoformat(), which is str().
# bool is an int but not of this exact type, so it still becomes "true"/"false".
_AS_IS = frozenset((int, float, dt.date))


class PlainRow(tuple):
    """A row whose every cell is already what :func:`plain` makes of it (``plain(cell) == cell``), such as
    :func:`outcomes.exports.items.item_rows` yields: :func:`csv_stream` writes it without checking each cell.

    Make one only from cells that went through plain() (or are ints, floats or text checked by neutralise()).
    """

    __slots__ = ()


def _cells(row: Sequence) -> Sequence:
    """``[plain(value) for value in row]``, without a call per cell for the common cell types.

    Text that does not begin like a formula and the types in ``_AS_IS`` are kept as they are (csv writes
    them exactly as plain() would); everything else, including every text that does, goes through plain().
    """
    if type(row) is PlainRow:
        return row
    return [
        value
        if (type(value) is str and not value.startswith(FORMULA_PREFIXES)) or type(value) in _AS_IS
        else plain(value)
        for value in row
    ]


def csv_stream(columns: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """CSV text in chunks of up to ``LINES_PER_CHUNK`` lines, header first; holds at most one chunk of lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    rows = iter(rows)
    while True:
        writer.writerows(map(_cells, islice(rows, LINES_PER_CHUNK)))
        text = buffer.getvalue()
        if not text:  # every line ends with "\r\n": nothing written means the rows have run out
            return
        buffer.seek(0)
        buffer.truncate()
        yield text


def csv_text(columns: Sequence[str], rows: Iterable[dict]) -> str:
    """A whole (small) CSV from dict rows, in ``columns`` order."""
    return "".join(csv_stream(columns, ([row.get(name) for name in columns] for row in rows)))


def _xlsx_value(value):
    if isinstance(value, str):
        # openpyxl refuses control characters; strip them before the formula check sees the text.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return None if value is None else plain(value)


def xlsx_bytes(sheets: Iterable[tuple[str, Sequence[str], Iterable[dict]]]) -> bytes:
    """A workbook (write-only mode, streamed to memory) with one sheet per (title, columns, dict rows)."""
    workbook = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title=title)
        sheet.append(list(columns))
        for row in rows:
            sheet.append([_xlsx_value(row.get(name)) for name in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
