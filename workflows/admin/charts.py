"""Server-rendered SVG charts for the console: no chart library, no script, no CDN.

The dashboard's figures are a few dozen numbers; drawing them here keeps the page one
request, works without JavaScript, and lets every bar be a plain link (``<a>`` inside the
SVG) with a native hover title carrying the exact counts. Every piece of text goes
through ``format_html`` / ``escape``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

#: Status colours: the badge palette of ``static/console/console.css`` (sleeping, which
#: shares the waiting badge there, gets a lighter amber so the two stack apart).
STATUS_COLORS: dict[str, str] = {
    "completed": "#2f855a",
    "failed": "#c53030",
    "cancelled": "#4a5568",
    "skipped": "#a0aec0",
    "running": "#0b6bcb",
    "waiting": "#b7791f",
    "sleeping": "#e0b04c",
    "queued": "#8a939b",
}

#: Bottom-to-top stacking order: outcomes first, then work still in flight.
STACK_ORDER: tuple[str, ...] = (
    "completed",
    "failed",
    "cancelled",
    "skipped",
    "running",
    "waiting",
    "sleeping",
    "queued",
)


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    color: str


@dataclass(frozen=True)
class Bar:
    """One stacked bar: its values per series, where it links, its hover title, its tick."""

    values: dict[str, int]
    href: str
    title: str
    tick: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.values.values())


def status_series() -> list[Series]:
    return [Series(key, key, STATUS_COLORS[key]) for key in STACK_ORDER]


def nice_ceiling(value: float, ticks: int = 4) -> int:
    """The top of an axis at or above ``value`` with ``ticks`` round, whole-number steps.

    Steps are 1, 2, 2.5 or 5 times a power of ten (2.5 only from 25 up), so the labels
    read 0, 5, 10, 15, 20 rather than 0, 4.5, 9 ...
    """
    target = max(value / ticks, 1)
    exponent = 10 ** math.floor(math.log10(target))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * exponent
        if step >= target and step == int(step):
            return int(step) * ticks
    return int(10 * exponent) * ticks  # pragma: no cover - factor 10 always fits


def _c(value: float) -> str:
    """A coordinate, to the hundredth of a user unit."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1_000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:.0f}"


def stacked_bars(
    bars: Sequence[Bar],
    series: Sequence[Series],
    *,
    label: str,
    width: int = 960,
    height: int = 240,
    y_title: str = "runs",
) -> SafeString:
    """A stacked bar chart, one ``<a>`` per bar (the whole column is the link target)."""
    left, right, top, bottom = 48, 8, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max = nice_ceiling(max((bar.total for bar in bars), default=0))
    slot = plot_w / max(len(bars), 1)
    bar_w = max(slot * 0.74, 1.0)
    parts: list[str] = [
        format_html(
            '<svg class="rawr-chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
            'preserveAspectRatio="xMidYMid meet">',
            width,
            height,
            label,
        )
    ]
    # Grid and y axis: 0, ¼, ½, ¾ and the top of the scale.
    for i in range(5):
        value = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            format_html(
                '<line class="rawr-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="rawr-axis" x="{}" y="{}" text-anchor="end">{}</text>',
                left,
                width - right,
                _c(y),
                _c(y),
                left - 6,
                _c(y + 4),
                _number(value),
            )
        )
    parts.append(
        format_html(
            '<text class="rawr-axis rawr-axis-title" x="12" y="{}" '
            'transform="rotate(-90 12 {})" text-anchor="middle">{}</text>',
            _c(top + plot_h / 2),
            _c(top + plot_h / 2),
            y_title,
        )
    )
    for index, bar in enumerate(bars):
        x = left + index * slot
        attrs = "".join(
            format_html(' data-{}="{}"', key, value) for key, value in bar.extra.items()
        )
        parts.append(
            format_html(
                '<a class="rawr-bar" href="{}" data-total="{}"{}><title>{}</title>'
                '<rect class="rawr-bar-hit" x="{}" y="{}" width="{}" height="{}"/>',
                bar.href,
                bar.total,
                mark_safe(attrs),  # noqa: S308 - built by format_html above
                bar.title,
                _c(x),
                top,
                _c(slot),
                plot_h,
            )
        )
        y = top + plot_h
        for serie in series:
            count = bar.values.get(serie.key, 0)
            if count <= 0:
                continue
            h = plot_h * count / y_max
            y -= h
            parts.append(
                format_html(
                    '<rect class="rawr-seg" data-series="{}" data-count="{}" x="{}" '
                    'y="{}" width="{}" height="{}" fill="{}"/>',
                    serie.key,
                    count,
                    _c(x + (slot - bar_w) / 2),
                    _c(y),
                    _c(bar_w),
                    _c(max(h, 0.5)),
                    serie.color,
                )
            )
        parts.append("</a>")
        if bar.tick:
            parts.append(
                format_html(
                    '<line class="rawr-tick" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                    '<text class="rawr-axis" x="{}" y="{}" text-anchor="start">{}</text>',
                    _c(x),
                    _c(x),
                    top + plot_h,
                    top + plot_h + 4,
                    _c(x + 2),
                    height - 8,
                    bar.tick,
                )
            )
    parts.append(
        format_html(
            '<line class="rawr-baseline" x1="{}" x2="{}" y1="{}" y2="{}"/>',
            left,
            width - right,
            top + plot_h,
            top + plot_h,
        )
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped above


def sparkline(
    values: Sequence[float], *, label: str, width: int = 240, height: int = 48, color: str
) -> SafeString:
    """A small filled line of ``values`` (e.g. runs finished per bucket), scaled to its max."""
    if not values:
        return mark_safe("")
    top = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    points = [(i * step, height - 2 - (height - 4) * value / top) for i, value in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    area = f"0,{height} {line} {width},{height}"
    return format_html(
        '<svg class="rawr-spark" viewBox="0 0 {} {}" preserveAspectRatio="none" role="img" '
        'aria-label="{}"><polygon points="{}" fill="{}" fill-opacity="0.15"/>'
        '<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5" '
        'vector-effect="non-scaling-stroke"/></svg>',
        width,
        height,
        label,
        area,
        color,
        line,
        color,
    )


def legend(series: Sequence[Series]) -> SafeString:
    """The colour key under a chart."""
    items = "".join(
        format_html(
            '<li><span class="rawr-swatch" style="background:{}"></span>{}</li>',
            serie.color,
            serie.label,
        )
        for serie in series
    )
    return format_html('<ul class="rawr-legend">{}</ul>', mark_safe(items))  # noqa: S308
