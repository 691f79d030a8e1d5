"""A stacked bar chart of cases per day, drawn as SVG on the server (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

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
WEEKLY_AFTER = 92


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


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
    weekly: bool = False  # long ranges are drawn one bar per week (Monday to Sunday)


def _nice_max(value: int) -> int:
    step = 1
    while step * 10 < value:
        step *= 10
    for mult in (1, 2, 5, 10):
        if value <= step * mult:
            return step * mult
    return step * 10


def stacked_days(counts: list[DayCount], days: list[date], labels: dict[str, str]) -> Chart:
    """Bars per day, one colour per category (in the order of `labels`, then the rest).

    Ranges longer than WEEKLY_AFTER days get one bar per week: a year of daily bars is too
    thin to read (and thousands of SVG elements to send)."""
    weekly = len(days) > WEEKLY_AFTER
    if weekly:
        days = sorted({_monday(d) for d in days})
        counts = [DayCount(_monday(c.day), c.category, c.count) for c in counts]
    order = [code for code in labels if any(c.category == code for c in counts)]
    order += sorted({c.category for c in counts} - set(order))
    colors = {code: PALETTE[i % len(PALETTE)] for i, code in enumerate(order)}
    per_day: dict[date, dict[str, int]] = {}
    for c in counts:
        bucket = per_day.setdefault(c.day, {})
        bucket[c.category] = bucket.get(c.category, 0) + c.count
    top = _nice_max(max((sum(v.values()) for v in per_day.values()), default=1))
    chart = Chart(legend=[(labels.get(code, code), colors[code]) for code in order], weekly=weekly)
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
            when = (
                f"{day.isoformat()}/{(day + timedelta(days=6)).isoformat()}"
                if weekly
                else (day.isoformat())
            )
            title = f"{when} · {labels.get(code, code)}: {n}"
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
