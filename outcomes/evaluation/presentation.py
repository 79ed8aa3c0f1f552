"""How the evaluation page writes a figure: a number, "p < 0.001", or why it is hidden.

A hidden figure arrives either as the typed value disclosure control returns (it has a ``reason``) or as the
text the exports write (``suppressed (<k)``: fewer than k people; ``suppressed (complementary)``: hidden so
that another cannot be worked out). :func:`hidden_reason` reads both, so the page says which rule hid a cell
whichever form it is given.
"""

from __future__ import annotations

from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _

SMALL = "small"
COMPLEMENTARY = "complementary"


def hidden_reason(value) -> str | None:
    """``"small"``, ``"complementary"``, or None when the figure is not hidden."""
    reason = getattr(value, "reason", None)
    if reason is not None:
        return COMPLEMENTARY if str(getattr(reason, "value", reason)) == COMPLEMENTARY else SMALL
    if isinstance(value, str) and value.startswith("suppressed"):
        return COMPLEMENTARY if "complementary" in value else SMALL
    return None


def hidden_text(reason: str, k: int) -> str:
    if reason == COMPLEMENTARY:
        return _("hidden so that another figure cannot be worked out")
    return _("fewer than %(k)s people") % {"k": k}


def figure(value, k: int, places: int | None = None) -> str:
    """A published figure as the page writes it: why it is hidden, "—" when there is none, else the number."""
    reason = hidden_reason(value)
    if reason is not None:
        return hidden_text(reason, k)
    if value is None or value == "":
        return "—"
    return floatformat(value, places) if places is not None else str(value)


def p_value(value, k: int) -> str:
    """A p-value to three decimals, "< 0.001" below that (never "0.000")."""
    reason = hidden_reason(value)
    if reason is not None:
        return hidden_text(reason, k)
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
