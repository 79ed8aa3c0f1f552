"""CSV text and XLSX workbooks from rows, every cell through :func:`~outcomes.exports.cells.plain`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .cells import plain

# Lines are sent in batches: one network write per line would make a large export crawl.
LINES_PER_CHUNK = 500


class _Echo:
    """A file-like object whose write returns what it was given, so csv.writer produces strings."""

    def write(self, value: str) -> str:
        return value


def csv_stream(columns: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """CSV text in chunks, header first; holds at most one chunk of lines."""
    writer = csv.writer(_Echo())
    batch = [writer.writerow(columns)]
    for row in rows:
        batch.append(writer.writerow([plain(value) for value in row]))
        if len(batch) >= LINES_PER_CHUNK:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


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
