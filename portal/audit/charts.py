"""Bar charts drawn on the server as SVG geometry: no JavaScript needed to see them.

``bar_chart`` turns categories and one or more series into positioned bars, axis ticks and a
legend; templates/audit/_charts.html draws them with a <title> and <desc> and the same numbers
as a table, so the chart has a text alternative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 16, 44


@dataclass(frozen=True)
class Bar:
    """One drawn bar."""

    x: float
    y: float
    width: float
    height: float
    series: int
    category: str
    value: float | None
    text: str


@dataclass(frozen=True)
class Tick:
    """A horizontal grid line with its value label."""

    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything a template needs to draw one chart and its table."""

    chart_id: str
    title: str
    description: str
    unit: str
    series_names: tuple[str, ...]
    categories: tuple[tuple[float, str], ...]
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM


def nice_step(top: float, ticks: int = 5) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most ``ticks`` intervals."""
    if top <= 0:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    number = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{number}{unit}"


def bar_chart(
    chart_id: str, title: str, description: str, categories: list[str],
    series: list[tuple[str, list[float | None]]], *, unit: str = "", top: float | None = None,
) -> Chart:
    """Grouped vertical bars: one group per category, one bar per series (None: no bar)."""
    values = [v for _, vs in series for v in vs if v is not None]
    peak = top if top is not None else max(values, default=0)
    step = nice_step(peak)
    axis_top = step * max(1, math.ceil(peak / step)) if peak else step
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    group = plot_width / max(1, len(categories))
    bar_width = group * 0.8 / max(1, len(series))
    bars, centres = [], []
    # At most 12 axis labels fit; the table below the chart lists every category.
    label_every = math.ceil(len(categories) / 12) or 1
    for i, category in enumerate(categories):
        start = LEFT + i * group + group * 0.1
        if i % label_every == 0:
            centres.append((round(LEFT + (i + 0.5) * group, 1), category))
        for s, (name, vs) in enumerate(series):
            value = vs[i]
            height = 0 if value is None else plot_height * value / axis_top
            bars.append(Bar(
                x=round(start + s * bar_width, 1), y=round(TOP + plot_height - height, 1),
                width=round(bar_width * 0.92, 1), height=round(height, 1), series=s,
                category=category, value=value, text=f"{category}, {name}: {_format(value, unit)}",
            ))
    ticks = []
    level = 0.0
    while level <= axis_top + 1e-9:
        ticks.append(Tick(round(TOP + plot_height - plot_height * level / axis_top, 1),
                          _format(round(level, 6), unit)))
        level += step
    rows = tuple((c, tuple(_format(vs[i], unit) for _, vs in series))
                 for i, c in enumerate(categories))
    return Chart(chart_id=chart_id, title=title, description=description, unit=unit,
                 series_names=tuple(name for name, _ in series), categories=tuple(centres),
                 bars=tuple(bars), ticks=tuple(ticks), rows=rows)
