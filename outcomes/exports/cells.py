"""Cell values as they leave the platform.

Spreadsheet programs run a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a
formula (and tab or carriage return can smuggle one in), so any *text* cell that
begins with one of them gets a leading single quote (OWASP "CSV injection").
Numbers are written as numbers and left alone: -1.5 is a number, not a formula.
"""

from __future__ import annotations

import datetime as dt

from outcomes.evaluation.disclosure.hidden import Hidden

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` safe to put in a CSV or XLSX cell: text that a spreadsheet would run gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def plain(value):
    """A Python value as a CSV/XLSX cell: None → empty, booleans → true/false, dates as ISO text, a hidden figure
    as the text of its reason (``suppressed (<k)``, ``suppressed (complementary)``, ``suppressed (reveals scores)``)."""
    if value is None:
        return ""
    if isinstance(value, Hidden):  # a figure withheld by disclosure control: its cell text
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return neutralise(value)
