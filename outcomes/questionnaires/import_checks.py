"""What both imports (roster and answers) share: rejected rows grouped by message, "did you mean", dates.

A file of 1,400 rows with one misspelt group name gives one message, not 1,400:
"1,376 rows: group “Hope Builders” not found — did you mean “Hope builders”? (lines 2–1377)". Each message
names the value found and what is allowed (the range, or the valid codes), so it can be fixed in the file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

#: How many valid codes or names a message lists before "…".
LIST_AT_MOST = 12
#: How many line ranges a grouped message shows before "…".
RANGES_AT_MOST = 8


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ErrorGroup:
    """One message and every line of the file it applies to."""

    message: str
    lines: list[int]

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def where(self) -> str:
        """ "line 7" or "lines 2–40, 45, 50–60, …"."""
        if len(self.lines) == 1:
            return _("line %(n)s") % {"n": self.lines[0]}
        ranges: list[str] = []
        start = previous = self.lines[0]
        for line in [*self.lines[1:], None]:
            if line is not None and line == previous + 1:
                previous = line
                continue
            ranges.append(str(start) if start == previous else f"{start}–{previous}")
            if line is not None:
                start = previous = line
        shown = ", ".join(ranges[:RANGES_AT_MOST]) + (", …" if len(ranges) > RANGES_AT_MOST else "")
        return _("lines %(ranges)s") % {"ranges": shown}

    def __str__(self) -> str:
        if self.count == 1:
            return _("1 row: %(message)s (%(where)s)") % {"message": self.message, "where": self.where}
        return _("%(n)s rows: %(message)s (%(where)s)") % {
            "n": f"{self.count:,}",
            "message": self.message,
            "where": self.where,
        }


@dataclass
class Problems:
    """The rejected rows of one file, and how they read grouped."""

    errors: list[RowError] = field(default_factory=list)
    rows: int = 0  # data rows read

    def add(self, line: int, message: str) -> None:
        self.errors.append(RowError(line, message))

    @property
    def ok(self) -> bool:
        return not self.errors

    def grouped(self) -> list[ErrorGroup]:
        """One group per distinct message, in the order the messages first appear in the file."""
        groups: dict[str, ErrorGroup] = {}
        for error in self.errors:
            groups.setdefault(error.message, ErrorGroup(error.message, [])).lines.append(error.line)
        for group in groups.values():
            group.lines.sort()
        return sorted(groups.values(), key=lambda group: group.lines[0])

    @property
    def rejected_rows(self) -> int:
        return len({error.line for error in self.errors})


def rejected_summary(problems: Problems) -> str:
    """“Nothing was imported: 1,376 of 1,400 rows were rejected (1 problem, below).”"""
    kinds = len(problems.grouped())
    return ngettext(
        "Nothing was imported: %(n)s of %(rows)s rows were rejected (%(m)s problem, below).",
        "Nothing was imported: %(n)s of %(rows)s rows were rejected (%(m)s problems, below).",
        kinds,
    ) % {"n": f"{problems.rejected_rows:,}", "rows": f"{problems.rows:,}", "m": kinds}


def _normalised(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def did_you_mean(value: str, choices: Iterable[str]) -> str | None:
    """The choice ``value`` was most likely meant to be (``PHQ-9`` → ``phq9``), or None (difflib, on the
    letters and digits only, lower case)."""
    by_normal: dict[str, str] = {}
    for choice in choices:
        by_normal.setdefault(_normalised(choice), choice)
    normal = _normalised(value)
    if not normal:
        return None
    if normal in by_normal:
        return by_normal[normal]
    close = difflib.get_close_matches(normal, list(by_normal), n=1, cutoff=0.6)
    return by_normal[close[0]] if close else None


def listing(choices: Iterable[str]) -> str:
    """``a, b, c`` (at most LIST_AT_MOST, then “…”)."""
    choices = list(choices)
    shown = ", ".join(choices[:LIST_AT_MOST])
    return shown + (", …" if len(choices) > LIST_AT_MOST else "")


def unknown(what: str, value: str, choices: Iterable[str], *, quote: bool = False) -> str:
    """“instrument “PHQ-9” not found — did you mean phq9? (valid: gad7, phq9)”, the choices in the order given.
    The same value gives the same message, worked out once (a file may repeat one wrong value on every row)."""
    return _unknown(what, value, tuple(dict.fromkeys(choices)), quote, translation.get_language())


@functools.lru_cache(maxsize=1024)
def _unknown(what: str, value: str, choices: tuple[str, ...], quote: bool, _language: str | None) -> str:
    guess = did_you_mean(value, choices)
    message = _("%(what)s “%(value)s” not found") % {"what": what, "value": value}
    if guess is not None:
        suggestion = _("did you mean “%(guess)s”?") if quote else _("did you mean %(guess)s?")
        message += " — " + suggestion % {"guess": guess}
    if choices:
        message += " " + _("(valid: %(choices)s)") % {"choices": listing(choices)}
    else:
        message += " " + _("(there are none yet)")
    return message


def parse_date(column: str, value: str, *, required: bool = True) -> tuple[dt.date | None, str | None]:
    """(date, None), or (None, the message): an ISO date, not in the future; blank is allowed unless required."""
    if not value:
        if required:
            return None, _("%(column)s is empty: a date like 2026-03-31 is needed") % {"column": column}
        return None, None
    try:
        date = dt.date.fromisoformat(value)
    except ValueError:
        return None, _("%(column)s “%(value)s” must be a date like 2026-03-31") % {"column": column, "value": value}
    if date > timezone.localdate():
        return None, _("%(column)s %(date)s is in the future") % {"column": column, "date": date.isoformat()}
    return date, None
