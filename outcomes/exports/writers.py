"""CSV text and XLSX workbooks from rows, every cell through :func:`~outcomes.exports.cells.plain` (or already
plain: a :class:`CsvLine`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby, islice

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .cells import FORMULA_PREFIXES, plain

# Lines are sent in batches: one network write per line would make a large export crawl.
LINES_PER_CHUNK = 1000

# Exact types whose cell is what csv writes for them anyway (str() of the value): plain() leaves ints and
# floats alone, and writes a date (not a datetime, whose str() differs) as its isoformat(), which is str().
# bool is an int but not of this exact type, so it still becomes "true"/"false".
_AS_IS = frozenset((int, float, dt.date))


class CsvLine(str):
    """One line of CSV text, "\r\n" included, whose cells were already what :func:`plain` makes of them, such
    as :func:`outcomes.exports.items.item_rows` yields: :func:`csv_stream` passes it on as it is.

    Make one only from fields written by :func:`csv_field` (or text csv would write unchanged) of plain cells,
    joined by ","; its producer's tests compare its lines with csv.writer's.
    """

    __slots__ = ()


def csv_field(cell) -> str:
    """The text csv writes for ``cell`` as one field of a row: quoted where it needs quoting, else as it is.

    The csv module quotes each field on its own (delimiter, quote character or line break inside), so a
    line is its fields' texts joined by "," and ended by "\r\n" (with one exception: a row of a single
    empty field is written as ``""``). That lets a producer of many similar lines render each distinct
    cell once with this function and build the lines by joining text, as
    :func:`outcomes.exports.items.item_rows` does. The cell is written as it is: put text through
    :func:`plain` first.
    """
    buffer = io.StringIO()
    csv.writer(buffer).writerow((cell, None))  # a second, empty field, so an empty cell stays empty
    return buffer.getvalue()[: -len(",\r\n")]


def _cells(row: Sequence) -> Sequence:
    """``[plain(value) for value in row]``, without a call per cell for the common cell types.

    Text that does not begin like a formula and the types in ``_AS_IS`` are kept as they are (csv writes
    them exactly as plain() would); everything else, including every text that does, goes through plain().
    """
    return [
        value
        if (type(value) is str and not value.startswith(FORMULA_PREFIXES)) or type(value) in _AS_IS
        else plain(value)
        for value in row
    ]


def csv_stream(columns: Sequence[str], rows: Iterable[Sequence | CsvLine]) -> Iterator[str]:
    """CSV text in chunks of up to ``LINES_PER_CHUNK`` lines, header first; holds at most one chunk of lines.

    A row is a sequence of cells, each written as :func:`plain` makes it, or a :class:`CsvLine`, passed on
    as it is.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    rows = iter(rows)
    while True:
        # Runs of rows of one type: a run of lines is joined at once, a run of cell rows written at once.
        for kind, run in groupby(islice(rows, LINES_PER_CHUNK), type):
            if kind is CsvLine:
                buffer.write("".join(run))
            else:
                writer.writerows(map(_cells, run))
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
