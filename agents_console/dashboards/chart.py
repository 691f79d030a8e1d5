"""A stacked bar chart of cases per day, drawn as SVG on the server (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from intake.services.reports import DayCount

PALETTE = (
    "#6a1b9a", "#1565c0", "#2e7d32", "#ef6c00", "#c62828", "#00838f", "#6d4c41",
    "#ad1457", "#558b2f", "#4527a0", "#f9a825", "#37474f", "#9e9e9e",
)  # fmt: skip
WIDTH = 960
HEIGHT = 300
LEFT = 48
BOTTOM = 28
TOP = 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    plot_left: int = LEFT
    plot_bottom: float = HEIGHT - BOTTOM


def _nice_max(value: int) -> int:
    step = 1
    while step * 10 < value:
        step *= 10
    for mult in (1, 2, 5, 10):
        if value <= step * mult:
            return step * mult
    return step * 10


def stacked_days(counts: list[DayCount], days: list[date], labels: dict[str, str]) -> Chart:
    """Bars per day, one colour per category (in the order of `labels`, then the rest)."""
    order = [code for code in labels if any(c.category == code for c in counts)]
    order += sorted({c.category for c in counts} - set(order))
    colors = {code: PALETTE[i % len(PALETTE)] for i, code in enumerate(order)}
    per_day: dict[date, dict[str, int]] = {}
    for c in counts:
        per_day.setdefault(c.day, {})[c.category] = c.count
    top = _nice_max(max((sum(v.values()) for v in per_day.values()), default=1))
    chart = Chart(legend=[(labels.get(code, code), colors[code]) for code in order])
    plot_h = chart.plot_bottom - TOP
    slot = (WIDTH - LEFT - 4) / max(len(days), 1)
    bar_w = max(slot * 0.8, 0.5)
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - bar_w) / 2
        y = chart.plot_bottom
        for code in order:
            n = per_day.get(day, {}).get(code, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            title = f"{day.isoformat()} · {labels.get(code, code)}: {n}"
            chart.bars.append(Bar(round(x, 2), round(y, 2), round(bar_w, 2), round(h, 2),
                                  colors[code], title))  # fmt: skip
    chart.y_ticks = [(round(chart.plot_bottom - plot_h * k / 4, 2), top * k // 4) for k in range(5)]
    every = max(1, len(days) // 8)
    chart.x_labels = [
        (round(LEFT + i * slot + slot / 2, 2), day.strftime("%d/%m"))
        for i, day in enumerate(days)
        if i % every == 0
    ]
    return chart
