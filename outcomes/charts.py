"""Server-rendered SVG charts: no script, no inline style, so they pass the Content-Security-Policy.

Every chart is shown beside a data table and has a text alternative.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 320, 190, 44, 12, 12, 38
LABEL_ROWS = (HEIGHT - 20, HEIGHT - 6)  # x labels alternate between two lines when there are many


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: tuple[tuple[float, float], ...]  # x, y in SVG units
    segments: tuple[str, ...]  # polylines: consecutive drawn points only; a missing point breaks the line
    y_ticks: tuple[tuple[float, str], ...]  # y, label
    x_labels: tuple[tuple[float, float, str, str], ...]  # x, y, text-anchor, label (never cut at the edges)
    description: str
    intervals: tuple[tuple[float, float, float], ...] = ()  # x, y_low, y_high (confidence intervals)
    missing: tuple[str, ...] = ()  # labels of the points not drawn (hidden figures)

    @property
    def polyline(self) -> str:
        """All drawn points as one polyline (only meaningful when nothing is missing)."""
        return " ".join(self.segments)


def _scale(value: float, low: float, high: float, out_low: float, out_high: float) -> float:
    if high == low:
        return (out_low + out_high) / 2
    return out_low + (value - low) * (out_high - out_low) / (high - low)


def line_chart(points, *, low: float | None = None, high: float | None = None) -> Chart | None:
    """A line of a person's scores over time (``points`` have ``total`` and ``time_point_label``)."""
    values = [(p.time_point_label, p.total) for p in points if p.total is not None]
    return series_chart(values, low=low, high=high, noun=_("score"))


def series_chart(
    values: list[tuple[str, float | None]],
    *,
    intervals: list[tuple[float | None, float | None]] | None = None,
    low: float | None = None,
    high: float | None = None,
    noun: str | None = None,
) -> Chart | None:
    """A line over labelled points, with optional confidence intervals. None when there is nothing to draw.

    A value of None (a hidden figure) keeps its place on the x axis but gets no point, and the line is not
    drawn across it: joining its neighbours would show a change nobody can see the middle of. Its label is
    listed in ``missing`` so the page can say so.
    """
    if not any(v is not None for _label, v in values):
        return None
    ys = [v for _label, v in values if v is not None]
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

    pts = tuple((round(x, 1), y_of(v)) for x, (_l, v) in zip(x_of, values, strict=True) if v is not None)
    segments, run = [], []
    for x, (_label, v) in zip(x_of, values, strict=True):
        if v is None:
            segments.append(run)
            run = []
        else:
            run.append(f"{round(x, 1)},{y_of(v)}")
    segments.append(run)
    ticks = tuple((y_of(v), f"{v:.1f}") for v in (lo, (lo + hi) / 2, hi))
    labels = tuple(
        (round(x, 1), LABEL_ROWS[i % 2] if n > 3 else LABEL_ROWS[1], _anchor(i, n), label)
        for i, (x, (label, _v)) in enumerate(zip(x_of, values, strict=True))
    )
    cis = ()
    if intervals:
        cis = tuple(
            (round(x, 1), y_of(a), y_of(b))
            for x, (a, b), (_label, v) in zip(x_of, intervals, values, strict=True)
            if a is not None and b is not None and v is not None
        )
    missing = tuple(label for label, v in values if v is None)
    noun = noun or _("mean")
    description = "; ".join(
        _("%(label)s: %(noun)s %(value)s") % {"label": label, "noun": noun, "value": f"{v:.2f}"}
        if v is not None
        else _("%(label)s: not shown") % {"label": label}
        for label, v in values
    )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        points=pts,
        segments=tuple(" ".join(run) for run in segments if len(run) > 1),
        y_ticks=ticks,
        x_labels=labels,
        description=description,
        intervals=cis,
        missing=missing,
    )


def _anchor(index: int, count: int) -> str:
    """The first label starts at its point and the last ends at it, so neither runs off the chart."""
    if count > 1 and index == 0:
        return "start"
    if count > 1 and index == count - 1:
        return "end"
    return "middle"
