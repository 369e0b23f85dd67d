"""Charts as inline SVG, drawn on the server: no script, no chart library, no other site.

Each chart is an image with a title for screen readers and a tooltip on every bar; the
pages put the same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 560
VALUE_ROOM = 64


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # s1 .. s7: the palette of the stylesheet


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _svg(chart_id: str, title: str, height: int, body: list[str]) -> Markup:
    head = (
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[Series],
    *,
    stacked: bool,
    unit: Callable[[float], str] = _fmt,
) -> Markup:
    """Horizontal bars, one row per label (written above its bars, so long agency names
    fit): the series side by side, or stacked."""
    bar = 16 if stacked else 11
    label_room = 18
    row_height = label_room + (bar if stacked else bar * len(series)) + 10
    height = max(len(rows), 1) * row_height
    totals = [sum(values) if stacked else max(values, default=0) for _, values in rows]
    scale = (WIDTH - VALUE_ROOM) / (max(totals, default=0) or 1)
    body: list[str] = []
    for index, (label, values) in enumerate(rows):
        y = index * row_height
        body.append(f'<text x="0" y="{y + 13}">{escape(label)}</text>')
        x = 0.0
        for position, (value, one) in enumerate(zip(values, series, strict=True)):
            width = value * scale
            top_y = y + label_room + (0 if stacked else position * bar)
            left = x if stacked else 0.0
            tip = f"{label} · {one.label}: {unit(value)}"
            body.append(
                f'<rect class="{one.css}" x="{left:.1f}" y="{top_y}" width="{width:.1f}" height="{bar - 2}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            if not stacked:
                body.append(
                    f'<text class="value" x="{left + width + 4:.1f}" y="{top_y + bar / 2}" '
                    f'dominant-baseline="middle">{escape(unit(value))}</text>'
                )
            x += width if stacked else 0
        if stacked:
            body.append(
                f'<text class="value" x="{x + 4:.1f}" y="{y + label_room + bar / 2}" dominant-baseline="middle">'
                f"{escape(unit(sum(values)))}</text>"
            )
    return _svg(chart_id, title, height, body)


def column_chart(
    chart_id: str, title: str, columns: Sequence[tuple[str, Sequence[float]]], series: Sequence[Series]
) -> Markup:
    """Stacked columns, one per label (months), with the total above each."""
    height, base, left = 240, 210, 40
    top = max((sum(values) for _, values in columns), default=0) or 1
    step = (WIDTH - left) / max(len(columns), 1)
    width = min(step * 0.6, 60)
    scale = (base - 24) / top
    body = [f'<line class="axis" x1="{left}" y1="{base}" x2="{WIDTH}" y2="{base}"/>']
    for index, (label, values) in enumerate(columns):
        x = left + index * step + (step - width) / 2
        y = float(base)
        for value, one in zip(values, series, strict=True):
            if value <= 0:
                continue
            h = value * scale
            y -= h
            body.append(
                f'<rect class="{one.css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{h:.1f}">'
                f"<title>{escape(f'{label} · {one.label}: {_fmt(value)}')}</title></rect>"
            )
        body.append(
            f'<text class="value" x="{x + width / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle">'
            f"{_fmt(sum(values))}</text>"
        )
        body.append(f'<text x="{x + width / 2:.1f}" y="{base + 18}" text-anchor="middle">{escape(label)}</text>')
    return _svg(chart_id, title, height, body)
