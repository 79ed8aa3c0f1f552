"""How the evaluation page writes a figure: a number, "p < 0.001", or why it is hidden.

A hidden figure arrives as the typed value disclosure control returns
(:class:`~outcomes.evaluation.disclosure.hidden.Hidden`); :func:`hidden_reason` reads its ``reason``, so the page
says which rule hid a cell. No display string is parsed: a text is a text, whatever it says.
"""

from __future__ import annotations

from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _

from outcomes.evaluation.disclosure.hidden import Hidden, Reason

SMALL = Reason.SMALL.value
COMPLEMENTARY = Reason.COMPLEMENTARY.value
REVEALS_SCORES = Reason.REVEALS_SCORES.value


def hidden_reason(value) -> str | None:
    """``"small"``, ``"complementary"``, ``"reveals_scores"``, or None when the figure is not hidden."""
    return value.reason.value if isinstance(value, Hidden) else None


def hidden_text(reason: str, k: int) -> str:
    if reason == COMPLEMENTARY:
        return _("hidden so that another figure cannot be worked out")
    if reason == REVEALS_SCORES:
        return _("hidden: the scores are all the same, or all but one, so they would tell each person's score")
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
