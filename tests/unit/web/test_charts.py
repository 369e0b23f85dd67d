"""The indicators' charts: inline SVG images with a title, tooltips, and escaped labels."""

from __future__ import annotations

import re

from crocevia_audit.entrypoints.web.charts import Series, bar_chart, column_chart

SERIES = [Series("accepted", "s1"), Series("rejected", "s2")]


def test_a_bar_chart_is_an_image_with_a_title_and_a_tooltip_per_bar() -> None:
    svg = bar_chart("flows", "Flows", [("a → b", [3, 1]), ("c → d", [0, 2])], SERIES, stacked=True)
    assert 'role="img"' in svg and 'aria-labelledby="flows-title"' in svg and '<title id="flows-title">Flows' in svg
    assert svg.count("<rect") == 4
    assert "<title>a → b · accepted: 3</title>" in svg


def test_stacked_bars_share_one_scale_and_the_longest_row_fills_the_width() -> None:
    svg = bar_chart("flows", "Flows", [("long", [3, 1]), ("short", [1, 1])], SERIES, stacked=True)
    widths = [float(w) for w in re.findall(r'<rect class="s\d" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)]
    assert sum(widths[:2]) == 2 * sum(widths[2:])


def test_labels_are_escaped() -> None:
    svg = bar_chart("x", "<b>", [("<script>alert(1)</script>", [1, 1])], SERIES, stacked=False)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_column_chart_writes_each_total_above_its_column() -> None:
    svg = column_chart("volumes", "Volumes", [("2026-10", [2, 1]), ("2026-11", [0, 4])], SERIES)
    assert ">3</text>" in svg and ">4</text>" in svg and "2026-11" in svg
