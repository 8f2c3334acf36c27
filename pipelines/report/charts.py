"""Charts as inline SVG (matplotlib's SVG writer): no JavaScript, no network.

SVG keeps the report one self-contained file that prints sharply at any size; text stays text
(``svg.fonttype = none``), so the file stays small and the labels are searchable.

Figures are made with :class:`matplotlib.figure.Figure`, never through ``pyplot``: pyplot keeps
one global "current figure", and the dashboard renders pages in worker threads. A chart with
nothing to draw (every point suppressed, withheld under differential privacy, or not computed)
is still drawn — its axes, its legend and a label saying why — so a reader sees the chart
exists and why it is empty.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import math
import re

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

PALETTE = ["#1f5fa8", "#e07b00", "#2a9d5b", "#b8336a", "#6a4fb3", "#8c6d31", "#00838f", "#5f6b7a"]
MUTED = "#5f6b7a"
SIZE = (6.4, 2.6)

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "autoscope",  # stable ids: the same data renders the same bytes
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#888888",
        "axes.grid": True,
        "grid.color": "#e4e4e4",
        "grid.linewidth": 0.6,
        "legend.frameon": False,
        "legend.fontsize": 8,
    }
)


@dataclasses.dataclass
class Series:
    """One line (or stack of bars) and the stored cells its points come from."""

    label: str
    values: list[float | None]
    dashed: bool = False
    band: tuple[list[float | None], list[float | None]] | None = None  # (low, high)
    color: str | None = None
    #: (indicator, metric, cut, cut_value) of the stored rows, for tracing each point back
    source: tuple[str, str, str, str] | None = None


_ids = itertools.count(1)  # next() is atomic: safe from several rendering threads


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: it is inlined in HTML
    # many SVGs share one page: make their ids (markers, clip paths) unique to this chart
    prefix = f"c{next(_ids)}-"
    for ident in set(re.findall(r'\bid="([^"]+)"', text)):
        text = (
            text.replace(f'id="{ident}"', f'id="{prefix}{ident}"')
            .replace(f"#{ident})", f"#{prefix}{ident})")
            .replace(f'href="#{ident}"', f'href="#{prefix}{ident}"')
        )
    # scale with the page: keep the viewBox, drop the fixed size
    text = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 class="chart-svg" role="img"', text, count=1)
    return text


def _nan(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def _duration(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 60 * 24:
        return f"{minutes / 60:.0f} h"
    return f"{minutes / 1440:.0f} d"


def _percent_axis(ax) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))


def tick_labels(periods: list[str]) -> list[str]:
    """Short tick labels: ``W36`` for 2026-W36, with the year under the first tick and under
    every tick where the year changes (2026-W53 → 2027-W01), whatever the years are."""
    out, shown = [], None
    for text in periods:
        year, _, rest = text.partition("-")
        if not rest:  # not a dated label: keep it whole
            out.append(text)
            continue
        out.append(rest if year == shown else f"{rest}\n{year}")
        shown = year
    return out


def _empty(ax, label: str) -> None:
    ax.text(
        0.5,
        0.5,
        label,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=MUTED,
        fontsize=10,
        style="italic",
        wrap=True,
    )


def _has_values(series: list[Series]) -> bool:
    return any(v is not None and not math.isnan(v) for s in series for v in s.values)


def _axes(x: list[str], highlight: tuple[int, int] | None):
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    positions = list(range(len(x)))
    if highlight is not None:
        ax.axvspan(highlight[0] - 0.5, highlight[1] + 0.5, color="#f1f4f9", zorder=0, lw=0)
    ax.set_xticks(positions, tick_labels(x))
    ax.set_xlim(-0.5, max(len(x), 1) - 0.5)
    return fig, ax, positions


def line_chart(
    x: list[str],
    series: list[Series],
    *,
    percent: bool = True,
    highlight: tuple[int, int] | None = None,
    ylabel: str = "",
    log_y: bool = False,
    empty_label: str = "no data in these weeks",
) -> str:
    """Lines over the periods ``x`` (missing or suppressed points are gaps); shaded ``highlight``.
    With no point at all, the axes are drawn with ``empty_label`` across them."""
    fig, ax, positions = _axes(x, highlight)
    drawn = _has_values(series)
    for index, s in enumerate(series):
        color = s.color or PALETTE[index % len(PALETTE)]
        if s.band is not None:
            ax.fill_between(
                positions,
                _nan(s.band[0]),
                _nan(s.band[1]),
                color=color,
                alpha=0.18,
                lw=0,
                label=f"{s.label}: 95 % interval",
            )
        ax.plot(
            positions,
            _nan(s.values),
            marker="o",
            markersize=3,
            lw=1.8 if not s.dashed else 1.4,
            ls="--" if s.dashed else "-",
            color=color,
            label=s.label,
        )
    if log_y and drawn:
        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _duration(v)))
    if percent:
        _percent_axis(ax)
        ax.set_ylim(0, None if drawn else 1)
    if ylabel:
        ax.set_ylabel(ylabel)
    if not drawn:
        if not percent:  # no scale to show without a point
            ax.set_yticks([])
        _empty(ax, empty_label)
    if series:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)


def stacked_bars(
    x: list[str],
    parts: list[Series],
    *,
    highlight: tuple[int, int] | None = None,
    empty_label: str = "no data in these weeks",
) -> str:
    """Shares stacked per period (e.g. spend by category)."""
    fig, ax, positions = _axes(x, highlight)
    bottom = [0.0] * len(x)
    for index, part in enumerate(parts):
        values = [0.0 if v is None else float(v) for v in part.values]
        ax.bar(
            positions,
            values,
            bottom=bottom,
            color=part.color or PALETTE[index % len(PALETTE)],
            width=0.7,
            label=part.label,
        )
        bottom = [b + v for b, v in zip(bottom, values)]
    _percent_axis(ax)
    if not _has_values(parts):
        ax.set_ylim(0, 1)
        _empty(ax, empty_label)
    if parts:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)


def empty_chart(x: list[str], label: str) -> str:
    """Axes with only ``label`` (an indicator not computed yet, or no week with data)."""
    fig, ax, _ = _axes(x, None)
    ax.set_yticks([])
    _empty(ax, label)
    return _svg(fig)
