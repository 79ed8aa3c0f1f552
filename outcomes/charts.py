"""Server-rendered SVG charts: no script, no inline style, so they pass the Content-Security-Policy.

Every chart is shown beside a data table and has a text alternative.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 320, 180, 44, 12, 12, 28


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: tuple[tuple[float, float], ...]  # x, y in SVG units
    polyline: str
    y_ticks: tuple[tuple[float, str], ...]  # y, label
    x_labels: tuple[tuple[float, str], ...]  # x, label
    description: str
    intervals: tuple[tuple[float, float, float], ...] = ()  # x, y_low, y_high (confidence intervals)


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) * (out_high - out_low) / (high - low)


def line_chart(points, *, low: float | None = None, high: float | None = None) -> Chart | None:
    """A line of a person's scores over time (``points`` have ``total`` and ``time_point_label``)."""
    values = [(p.time_point_label, p.total) for p in points if p.total is not None]
    return series_chart(values, low=low, high=high, noun=_("score"))


def series_chart(
    values: list[tuple[str, float]],
    *,
    intervals: list[tuple[float | None, float | None]] | None = None,
    low: float | None = None,
    high: float | None = None,
    noun: str | None = None,
) -> Chart | None:
    """A line over labelled points, with optional confidence intervals. None when there is nothing to draw."""
    if not values:
        return None
    ys = [v for _label, v in values]
    bounds = ys + [b for pair in (intervals or []) for b in pair if b is not None]
    lo = min(bounds) if low is None else low
    hi = max(bounds) if high is None else high
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    n = len(values)
    x_of = [
        _scale(i, 0, max(n - 1, 1), PAD_LEFT + 10, WIDTH - PAD_RIGHT - 10) if n > 1 else (WIDTH / 2) for i in range(n)
    ]

    def y_of(v: float) -> float:
        return round(_scale(v, lo, hi, HEIGHT - PAD_BOTTOM, PAD_TOP), 1)

    pts = tuple((round(x, 1), y_of(v)) for x, (_l, v) in zip(x_of, values, strict=True))
    ticks = tuple((y_of(v), f"{v:.1f}") for v in (lo, (lo + hi) / 2, hi))
    labels = tuple((round(x, 1), label) for x, (label, _v) in zip(x_of, values, strict=True))
    cis = ()
    if intervals:
        cis = tuple(
            (round(x, 1), y_of(a), y_of(b))
            for x, (a, b) in zip(x_of, intervals, strict=True)
            if a is not None and b is not None
        )
    noun = noun or _("mean")
    description = "; ".join(
        _("%(label)s: %(noun)s %(value)s") % {"label": label, "noun": noun, "value": f"{v:.2f}"} for label, v in values
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        points=pts,
        polyline=" ".join(f"{x},{y}" for x, y in pts),
        y_ticks=ticks,
        x_labels=labels,
        description=description,
        intervals=cis,
    )
