"""The automation report as one self-contained HTML page (styles and SVG charts inline).

Built only from ``indicator_values`` rows (a polars frame of them): what is present is shown,
an indicator with no rows is listed as "not yet computed", a suppressed cell reads
"suppressed" and why (too few people, or hidden to protect another cell; never blank). Each
period says how much of it has data and whether it is complete
(:mod:`autoscope.pipelines.coverage`), and a comparison of unlike periods says so. Arrows are
coloured by meaning, not by direction: each metric declares which direction is a concern
(:data:`autoscope.pipelines.report.catalog.CONCERN`); red is a move that way, green the other
way, grey a metric with no concern direction. Every number rendered from a cell carries ``data-*`` attributes
naming that cell (indicator, metric, period, cut, cut value, the stored value), so tests and
auditors can check each number against the table it came from.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re

import polars as pl

from autoscope import __version__
from autoscope.core import contract
from autoscope.pipelines.anonymize import REASONS
from autoscope.pipelines.coverage import Coverage, Span, comparable, coverage
from autoscope.pipelines.indicators.registry import BY_KEY, REGISTRY
from autoscope.pipelines.periods import bounds
from autoscope.pipelines.report import charts
from autoscope.pipelines.report.catalog import (
    COUNTS,
    concern,
    info_for,
    is_share,
    metric_label,
    metric_order,
    reader_definition,
    resolve,
    unit,
)
from autoscope.pipelines.report.data import Cell, Period, chart_weeks, find, overlapping_weeks
from autoscope.pipelines.report.summary import sentences
from autoscope.pipelines.team_classes import CUT as CLASS_CUT
from autoscope.pipelines.team_classes import UNCLASSIFIED

e = html.escape


# ---------------------------------------------------------------- formatting


#: the most metric columns one table holds (with cut, events and people it fits a 1280 px page)
TABLE_COLUMNS = 7


def minutes_unit(value: float) -> str:
    """The unit a duration of ``value`` minutes reads best in: min, h or days."""
    if value < 90:
        return "min"
    if value < 60 * 48:
        return "h"
    return "days"


def _minutes(value: float, in_unit: str | None = None) -> str:
    """``value`` minutes in ``in_unit`` (by default the one that suits it): a value and its
    interval are written in one unit, never "1.6 h [74 min – 2.1 h]"."""
    chosen = in_unit or minutes_unit(value)
    if chosen == "min":
        return f"{value:.0f} min"
    if chosen == "h":
        return f"{value / 60:.1f} h"
    return f"{value / 60 / 24:.1f} days"


def _is_minutes(metric: str) -> bool:
    return "minutes" in metric or metric.startswith("horizon")


def fmt(metric: str, value: float | None, in_unit: str | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric.startswith("change_"):
        return f"{value * 100:+.1f} pts"
    if metric.startswith("source_"):  # which source a cell's figures came from (time allocation)
        return "used" if value else "not used"
    if is_share(metric):
        return f"{value:.1%}".replace("%", " %")
    if _is_minutes(metric):
        return _minutes(value, in_unit)
    if "days" in metric:
        return f"{value:,.0f} days"
    named = unit(metric)
    if metric in COUNTS:
        return f"{value:,.0f} {named}"
    if named == "×":
        return f"×{value:,.2f}"
    if named.startswith("USD"):
        return f"${value:,.2f} {named[4:]}"
    return f"{value:,.2f} {named}".rstrip()


def reason_short(row: dict) -> str:
    """The few words a suppressed cell reads: too few people, or what it protects."""
    reason = row.get("suppression_reason")
    if reason == "protects_cut":
        return f"protects another {row.get('cut') if row.get('cut') not in (None, 'lab') else 'cell'}"
    if reason == "protects_period":
        return "protects another period"
    if reason == "protects_shared_count":
        return "protects another indicator"
    if reason == "too_few_people":
        return "fewer than k people"
    return "reason not recorded"  # rows stored before reasons were kept (re-run the job)


def reason_words(row: dict) -> str:
    """The full reason of a suppressed cell, as its tooltip and the table's notes give it."""
    reason = row.get("suppression_reason")
    text = REASONS.get(reason, "stored before suppression reasons were kept: recompute with --refresh to see why")
    return text.replace("fewer than k", f"fewer than k={row.get('k')}") if reason == "too_few_people" else text


#: how a value withheld under differential privacy reads (the DP job has no mechanism for it)
WITHHELD = "withheld (differential privacy)"


def sizes(row: dict) -> tuple[str, str]:
    """The events and people of a released row as text: under DP, a noisy count reads as
    approximate and a withheld one as withheld (never a bare blank or a crash on NULL)."""
    events, people = row.get("n_events"), row.get("n_actors")
    noisy = row.get("noise_scale") is not None
    return (
        "withheld" if events is None else f"≈ {events:,}" if noisy else f"{events:,}",
        "withheld" if people is None else f"{people:,}",
    )


def cell_html(cell: Cell, metric: str, tag: str = "td", extra: str = "", missing: str = "not computed") -> str:
    """A table cell (or span) for one stored cell, labelled and traceable."""
    if cell.missing:
        text = missing if tag != "td" else "–"
        return f'<{tag} class="na {extra}" title="not computed for this cut">{text}</{tag}>'
    row = cell.row
    attrs = (
        f'data-indicator="{e(row["indicator"])}" data-metric="{e(row["metric"])}" '
        f'data-period="{e(row["period"])}" data-cut="{e(row["cut"])}" data-cut-value="{e(row["cut_value"])}"'
    )
    if cell.suppressed:
        reason = row.get("suppression_reason") or ""
        return (
            f'<{tag} class="suppressed {extra}" {attrs} data-suppressed="true" '
            f'data-suppression-reason="{e(reason)}" title="{e(reason_words(row))}">suppressed'
            f' <span class="why">({e(reason_short(row))})</span></{tag}>'
        )
    if cell.withheld:
        return (
            f'<{tag} class="withheld {extra}" {attrs} data-withheld="true" '
            f'title="{e(str(row.get("note") or "no differentially private mechanism for this statistic"))}">'
            f"{WITHHELD}</{tag}>"
        )
    text = fmt(metric, row["value"])
    if metric == "highest_rung" and row.get("note"):  # the ordinal's name is in the note
        text, row = e(str(row["note"])), {**row, "note": None}
    low, high = row.get("ci_low"), row.get("ci_high")
    if low is not None and high is not None:
        if _is_minutes(metric) and row["value"] is not None:  # value and interval in one unit
            in_unit = minutes_unit(row["value"])
            text = fmt(metric, row["value"], in_unit)
            text += f' <span class="ci">[{fmt(metric, low, in_unit)} – {fmt(metric, high, in_unit)}]</span>'
        else:
            text += f' <span class="ci">[{fmt(metric, low)} – {fmt(metric, high)}]</span>'
    if row.get("note"):
        text += f' <span class="note">{e(str(row["note"]))}</span>'
    value_attr = "" if row["value"] is None else f' data-value="{row["value"]!r}"'
    return f'<{tag} class="num {extra}" {attrs}{value_attr}>{text}</{tag}>'


# ---------------------------------------------------------------- page parts

CSS = """
:root { --ink:#1d2430; --muted:#5f6b7a; --line:#dde2ea; --accent:#1f5fa8; --bg:#fafbfc; --supp:#8a5a00; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--bg); margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { font-size: 24px; margin: 0 0 2px; }
header .sub { color: var(--muted); margin: 0 0 18px; }
h2 { font-size: 17px; margin: 30px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 0 0 6px; }
.headline { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12.5px; min-height: 34px; }
.card .big { font-size: 28px; font-weight: 650; margin: 4px 0 2px; }
.card .big.suppressed, .card .big.na { font-size: 18px; }
.card .delta { font-size: 12.5px; color: var(--muted); }
.concern { color: #b3261e; font-weight: 600; } .eases { color: #1b7f3b; } .neutral { color: var(--muted); }
.caveat { color: var(--supp); }
.coverage { display: inline-block; border-radius: 4px; padding: 0 6px; font-size: 12px; }
.coverage.partial { background: #fff1d6; color: #7a4b00; } .coverage.complete { background: #e6f2ea; color: #1b5e34; }
.coverage.none { background: #eef0f3; color: var(--muted); }
.suppressed .why { font-size: 11px; }
td.suppressed .why { display: block; white-space: normal; }
.reasons { color: var(--muted); font-size: 11.5px; margin: 4px 0 0; }
.definition { white-space: normal; font-size: 12.5px; background: #f4f6f9; padding: 8px 10px;
              border-radius: 4px; margin: 4px 0; }
.sentence { color: var(--ink); padding: 18px 4px; font-size: 13.5px; }
.summary { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--accent);
           border-radius: 6px; padding: 10px 16px; }
.summary li { margin: 4px 0; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
figure.chart { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 0; }
figure.chart svg { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 6px; }
.not-computed { color: var(--muted); font-style: italic; padding: 28px 0; text-align: center;
                border: 1px dashed var(--line); border-radius: 6px; }
details { margin-top: 6px; font-size: 12.5px; }
details summary { cursor: pointer; color: var(--accent); }
details pre { white-space: pre-wrap; font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace;
              background: #f4f6f9; padding: 8px 10px; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: right; white-space: normal; }
td .ci { white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f1f4f9; font-weight: 600; white-space: normal; vertical-align: bottom; }
td .sub, th .sub { display: block; color: var(--muted); font-size: 11px; }
th .sub { font-weight: normal; }
.classes figure { margin-top: 16px; }
td.suppressed, span.suppressed, .big.suppressed { color: var(--supp); font-style: italic; }
td.na { color: var(--muted); font-style: italic; }
.withheld { color: var(--muted); font-style: italic; }
.card .big.withheld { font-size: 18px; }
.ci, .note { color: var(--muted); font-size: 11px; }
.indicator { margin-bottom: 18px; }
.scroll { overflow-x: auto; }
.pending { color: var(--muted); }
.live { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; margin-bottom: 14px;
        display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
.live .status { color: var(--muted); font-size: 12.5px; }
footer { color: var(--muted); font-size: 12px; margin-top: 32px; }
@media (max-width: 900px) { .headline { grid-template-columns: 1fr 1fr; } .charts { grid-template-columns: 1fr; } }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  .live, .noprint { display: none !important; }
  .headline { grid-template-columns: repeat(4, 1fr); }
  .charts { grid-template-columns: 1fr 1fr; }
  figure.chart, .card, table { break-inside: avoid; }
  .scroll { overflow: visible; }
  table { font-size: 8pt; }
  th, td { padding: 2px 4px; white-space: normal; }
  details summary { color: var(--ink); }
  a { color: inherit; text-decoration: none; }
  @page { size: A4; margin: 14mm; }
}
"""


#: printing opens every definition (the page needs no script otherwise)
PRINT_SCRIPT = (
    "<script>addEventListener('beforeprint', function () {"
    " document.querySelectorAll('details').forEach(function (d) { d.open = true; }); });</script>"
)


def _arrow_class(indicator: str, metric: str, change: float) -> tuple[str, str]:
    """(class, explanation) of an arrow: by the metric's concern direction, not by sign."""
    worry = concern(indicator, metric)
    if change == 0 or worry is None:
        return "neutral", "no direction of this indicator is marked as a concern"
    moved = "rise" if change > 0 else "fall"
    if moved == worry:
        return "concern", f"a {worry} of this indicator is a concern"
    return "eases", f"a {worry} of this indicator would be a concern; this is the other way"


def _delta(
    indicator: str, metric: str, now: float | None, before: Cell, before_label: str, caveat: str | None = None
) -> str:
    if before.missing:
        return f'<span class="delta">{e(before_label)}: no data</span>'
    if before.suppressed:
        return f'<span class="delta">{e(before_label)}: <span class="suppressed">suppressed</span></span>'
    if before.withheld:
        return f'<span class="delta">{e(before_label)}: <span class="withheld">{WITHHELD}</span></span>'
    if now is None or before.value is None:
        return f'<span class="delta">{e(before_label)}: {fmt(metric, before.value)}</span>'
    change = now - before.value
    cls, why = _arrow_class(indicator, metric, change)
    arrow = "▲" if change > 0 else "▼" if change < 0 else "="
    if is_share(metric):
        size = f"{change * 100:+.1f} pts"
    elif before.value > 0 and ("minutes" in metric or "days" in metric or metric.startswith("horizon")):
        size = f"×{now / before.value:.2f}"
    else:
        size = f"{change:+,.2f}"
    warn = (
        f' <span class="caveat" data-caveat="unlike" title="{e(caveat)}">(not like for like)</span>' if caveat else ""
    )
    return (
        f'<span class="delta">vs {fmt(metric, before.value)} in {e(before_label)} '
        f'<span class="arrow {cls}" data-concern="{cls}" data-arrow-indicator="{e(indicator)}" '
        f'data-arrow-metric="{e(metric)}" '
        f'title="{e(why)}">{arrow} {size}</span>{warn}</span>'
    )


def _answers(row: str) -> str:
    """What an indicator answers: a row of the CSET report's Table 1, or (for the indicators
    beyond it, issue 16) the metric named with its source, e.g. "GovAI (2026): …" or "Labs' own
    disclosures: …"."""
    return row if row.startswith(("GovAI", "Labs'")) else f"Table 1: {row}"


def _definition(name: str) -> str:
    """The indicator's definition in plain words, one click away (opened when printing)."""
    return f'<details><summary>Definition</summary><p class="definition">{e(reader_definition(name))}</p></details>'


def coverage_badge(cov: Coverage) -> str:
    """A period's state as a labelled badge: complete, partial (how much has data), or none."""
    kind = "none" if cov.status != "activity" else "complete" if cov.complete else "partial"
    return (
        f'<span class="coverage {kind}" data-coverage="{kind}" data-period="{e(cov.period)}">'
        f"{e(cov.period)}: {e(cov.label)}</span>"
    )


def _card(title: str, body: str, delta: str = "", note: str = "") -> str:
    return (
        f'<div class="card"><div class="label">{e(title)}</div>{body}'
        f"<div>{delta}</div>{f'<div class=delta>{note}</div>' if note else ''}</div>"
    )


def _sample(cell: Cell) -> str:
    if cell.missing or cell.suppressed:
        return ""
    events, people = sizes(cell.row)
    if "withheld" in (events, people) or events.startswith("≈"):
        events = "events withheld" if events == "withheld" else f"{events} events (noisy count)"
        people = "people withheld" if people == "withheld" else f"{people} people"
        return f"n: {events}, {people} (differential privacy)"
    return f"n = {events} events, {people} people"


class Report:
    """Everything one page needs: the rows, the period, the team (None = lab-wide)."""

    def __init__(
        self,
        frame: pl.DataFrame,
        period: Period,
        team: str | None = None,
        generated_at: dt.datetime | None = None,
        epsilons: dict[tuple[str, str], float] | None = None,
        span: Span | None = None,
    ) -> None:
        """``epsilons``: (period_type, period) → epsilon of the periods released under
        differential privacy (``indicator_periods.epsilon``); rows with a noise scale mark
        their period as such too. ``span``: when the warehouse collected (default: from
        ``frame``), for what is covered and complete."""
        self.frame = frame
        self.epsilons = dict(epsilons or {})
        noisy = frame.filter(pl.col("noise_scale").is_not_null()) if "noise_scale" in frame.columns else frame.clear()
        self.dp_periods = set(self.epsilons) | set(noisy.select(["period_type", "period"]).unique().iter_rows())
        self.dp = (period.period_type, period.label) in self.dp_periods
        self.period = period
        self.previous = period.previous()
        self.team = team
        self.cut, self.cut_value = ("team", team) if team else ("lab", "all")
        self.generated_at = generated_at or dt.datetime.now(dt.UTC)
        self.present = set(frame["indicator"].unique().to_list()) if frame.height else set()
        self.span = span or Span.of(frame)
        self.coverage = coverage(period.period_type, period.label, frame, self.span)
        self.previous_coverage = coverage(self.previous.period_type, self.previous.label, frame, self.span)
        self.caveat = comparable(self.coverage, self.previous_coverage)
        weeks_with_data = set(frame.filter(pl.col("period_type") == "week")["period"].unique().to_list())
        # every week from the first with data to the last begun: a week without data stays on the
        # axis as a gap, never silently dropped
        window = chart_weeks(period)
        have = [i for i, w in enumerate(window) if w in weeks_with_data]
        begun = [i for i, w in enumerate(window) if self.span.as_of is None or bounds("week", w)[0] < self.span.as_of]
        self.weeks = window[min(have) : max(max(have), max(begun, default=0)) + 1] if have else []
        self.gaps = [w for w in self.weeks if w not in weeks_with_data]
        own = set(overlapping_weeks(period))
        idx = [i for i, w in enumerate(self.weeks) if w in own]
        self.highlight = (min(idx), max(idx)) if idx else None
        self.charts_drawn: list[str] = []

    # -- helpers
    def name(self, key: str) -> str | None:
        return resolve(BY_KEY[key], self.present)

    def here(self, indicator: str, metric: str, cut: str | None = None, cut_value: str | None = None) -> Cell:
        return find(
            self.frame,
            indicator,
            metric,
            self.period.period_type,
            self.period.label,
            cut or self.cut,
            cut_value or self.cut_value,
            dp=self.dp,
        )

    def before(self, indicator: str, metric: str) -> Cell:
        return find(
            self.frame,
            indicator,
            metric,
            self.previous.period_type,
            self.previous.label,
            self.cut,
            self.cut_value,
            dp=(self.previous.period_type, self.previous.label) in self.dp_periods,
        )

    def metrics_of(self, indicator: str) -> list[str]:
        return self.frame.filter(pl.col("indicator") == indicator)["metric"].unique(maintain_order=True).to_list()

    def weekly(self, indicator: str, metric: str, cut: str, cut_value: str, column: str = "value") -> list:
        rows = self.frame.filter(
            (pl.col("indicator") == indicator)
            & (pl.col("metric") == metric)
            & (pl.col("period_type") == "week")
            & (pl.col("cut") == cut)
            & (pl.col("cut_value") == cut_value)
        )
        by_week = {r["period"]: (None if r["suppressed"] else r.get(column)) for r in rows.iter_rows(named=True)}
        return [by_week.get(w) for w in self.weeks]

    def suppressed_points(self, indicator: str, metric: str, cut: str, cut_values: list[str]) -> list[str]:
        rows = self.frame.filter(
            (pl.col("indicator") == indicator)
            & (pl.col("metric") == metric)
            & (pl.col("period_type") == "week")
            & (pl.col("cut") == cut)
            & pl.col("cut_value").is_in(cut_values)
            & pl.col("suppressed")
            & pl.col("period").is_in(self.weeks)
        )
        out = []
        for value in cut_values:
            weeks = sorted(rows.filter(pl.col("cut_value") == value)["period"].to_list())
            if weeks:
                label = "lab" if cut == "lab" else value
                out.append(
                    f"{label}: "
                    + (
                        "every week shown"
                        if len(weeks) == len(self.weeks)
                        else ", ".join(w.split("-")[1] for w in weeks)
                    )
                )
        return out

    # -- headline
    def headline(self) -> str:
        cards = []
        auto = self.name("automation_share")
        if auto:
            metric = "time_weighted_ai_share"
            cell = self.here(auto, metric)
            cards.append(
                _card(
                    "AI share of R&D work (time-weighted), " + self.period.label,
                    cell_html(cell, metric, "div", "big"),
                    _delta(auto, metric, cell.value, self.before(auto, metric), self.previous.label, self.caveat),
                    _sample(cell),
                )
            )
        else:
            cards.append(_card("AI share of R&D work (time-weighted)", '<div class="big na">not yet computed</div>'))
        cards.append(self._horizon_card())
        review = self.name("review_frequency")
        if review:
            metric = "unreviewed_share"
            cell = self.here(review, metric)
            cards.append(
                _card(
                    "AI tasks merged without human review",
                    cell_html(cell, metric, "div", "big"),
                    _delta(review, metric, cell.value, self.before(review, metric), self.previous.label, self.caveat),
                    _sample(cell),
                )
            )
        else:
            cards.append(_card("AI tasks merged without human review", '<div class="big na">not yet computed</div>'))
        compute = self.name("experiment_compute")
        if compute:
            metric = "ai_designed_share"
            cell = self.here(compute, metric)
            cards.append(
                _card(
                    "Experiment compute on AI-designed experiments",
                    cell_html(cell, metric, "div", "big"),
                    _delta(compute, metric, cell.value, self.before(compute, metric), self.previous.label, self.caveat),
                    _sample(cell),
                )
            )
        else:
            cards.append(
                _card("Experiment compute on AI-designed experiments", '<div class="big na">not yet computed</div>')
            )
        return '<section class="headline">' + "".join(cards) + "</section>"

    def horizon_metrics(self) -> tuple[str | None, str | None, str | None]:
        """(indicator, 50 % horizon metric, doubling-time metric) as stored, when present."""
        name = self.name("time_horizon")
        if not name:
            return None, None, None
        metrics = self.metrics_of(name)
        plain = [m for m in metrics if not re.search(r"(low|high|lower|upper|ci)", m)]
        h50 = next((m for m in plain if "50" in m), None)
        doubling = next((m for m in plain if "doubling" in m), None)
        return name, h50, doubling

    def _horizon_card(self) -> str:
        title = "50 % time horizon and its doubling time"
        name, h50, doubling = self.horizon_metrics()
        if not name or not h50:
            return _card(
                title,
                '<div class="big na">not yet computed</div>',
                note="METR's method; arrives with the time-horizon indicator",
            )
        cell = self.here(name, h50)
        body = cell_html(cell, h50, "div", "big", missing="lab-wide only" if self.team else "not computed")
        note = ""
        if doubling:
            # this period's own doubling time only: another period's (a week's, on a quarter's
            # card) would read as this one's; the job fits it lab-wide over three or more periods
            dcell = self.here(name, doubling)
            absent = (
                "lab-wide only"
                if self.team
                else f"not meaningful for {e(self.period.label)} (it needs 50 % horizons in three or more "
                f"{e(self.period.period_type)}s up to it)"
            )
            note = "doubling time: " + cell_html(dcell, doubling, "span", missing=absent)
        return _card(
            title, body, _delta(name, h50, cell.value, self.before(name, h50), self.previous.label, self.caveat), note
        )

    # -- charts
    def series(self, label: str, indicator: str, metric: str, cut: str, cut_value: str, **style) -> charts.Series:
        """A chart line of stored weekly cells, carrying where its points come from."""
        return charts.Series(
            label, self.weekly(indicator, metric, cut, cut_value), **style, source=(indicator, metric, cut, cut_value)
        )

    def _why_empty(self, series: list[charts.Series]) -> str:
        """Why a chart has no point to draw, in words for the chart itself."""
        sources = pl.DataFrame(
            [s.source for s in series if s.source], orient="row", schema=["indicator", "metric", "cut", "cut_value"]
        )
        rows = self.frame.filter((pl.col("period_type") == "week") & pl.col("period").is_in(self.weeks)).join(
            sources, on=["indicator", "metric", "cut", "cut_value"], how="semi"
        )
        if rows.height == 0:
            return "no data in these weeks"
        if rows["suppressed"].all():
            reasons = set(rows["suppression_reason"].to_list()) if "suppression_reason" in rows.columns else {None}
            if reasons == {"too_few_people"}:
                return "every point suppressed (fewer than k people)"
            return "every point suppressed (too few people, or hidden to protect another cell)"
        if any(("week", w) in self.dp_periods for w in rows["period"].to_list()):
            return WITHHELD
        return "no released value in these weeks"

    def _series_data(self, series: list[charts.Series]) -> str:
        """The drawn points as JSON, each line naming its stored cells: what the chart shows
        can be checked against the table, as the numbers in the tables can."""
        lines = []
        for s in series:
            if s.source is None:
                continue
            indicator, metric, cut, cut_value = s.source
            base = {"label": s.label, "indicator": indicator, "metric": metric, "cut": cut, "cut_value": cut_value}
            lines.append({**base, "column": "value", "values": s.values})
            if s.band is not None:
                lines.append({**base, "column": "ci_low", "values": s.band[0]})
                lines.append({**base, "column": "ci_high", "values": s.band[1]})
        return json.dumps({"weeks": self.weeks, "series": lines}, allow_nan=False)

    def _figure(
        self,
        key: str,
        title: str,
        series: list[charts.Series] | None,
        caption: str = "",
        indicator: str | None = None,
        draw=charts.line_chart,
        **options,
    ) -> str:
        """One chart, always drawn: with its points, or with a label saying why it has none
        (``series`` None: the indicator is not computed, or no week has data)."""
        if series is None:
            drawn = False
            svg = charts.empty_chart(
                self.weeks, "not yet computed" if self.weeks or not self.frame.height else "no week with data"
            )
            data = ""
        else:
            drawn = any(v is not None for s in series for v in s.values)
            svg = draw(
                self.weeks,
                series,
                highlight=self.highlight,
                **options,
                **({} if drawn else {"empty_label": self._why_empty(series)}),
            )
            data = f' data-series="{e(self._series_data(series))}"'
        if drawn:
            self.charts_drawn.append(key)
        stored = indicator or (self.name(BY_KEY[key].key) if key in BY_KEY else None) or key
        definition_html = _definition(stored)
        cls = "chart" if drawn else "chart pending"
        return (
            f'<figure class="{cls}" data-chart="{e(key)}"{data}><h3>{e(title)}</h3>{svg}'
            f"{f'<figcaption>{caption}</figcaption>' if caption else ''}{definition_html}</figure>"
        )

    def _caption(self, suppressed: list[str]) -> str:
        shaded = f"Shaded: {e(self.period.label)} ({e(self.coverage.label)}). " if self.highlight else ""
        gaps = (
            (
                f'<span class="gaps">Weeks without data (gaps on the axis): '
                f"{e(', '.join(w.split('-')[1] for w in self.gaps))}.</span> "
            )
            if self.gaps
            else ""
        )
        if suppressed:
            return (
                shaded + gaps + '<span class="suppressed">suppressed</span> (too few people, or hidden to protect '
                "another cell; gaps in the lines): " + e("; ".join(suppressed))
            )
        return shaded + gaps + "No suppressed points."

    def chart_automation(self) -> str:
        key, title = "automation_share", "Automation share by team (AI share of tasks, per week)"
        name = self.name(key)
        if not name or not self.weeks:
            return self._figure(key, title, None)
        teams = sorted(
            self.frame.filter((pl.col("indicator") == name) & (pl.col("cut") == "team"))["cut_value"].unique().to_list()
        )
        if self.team:
            teams = [t for t in teams if t == self.team]
        series = []
        for t in teams:
            line = self.series(t, name, "ai_share", "team", t)
            if all(v is None for v in line.values):
                line.label = f"{t} (suppressed)"
            series.append(line)
        series.append(self.series("lab, share of tasks", name, "ai_share", "lab", "all", dashed=True, color="#1d2430"))
        series.append(
            self.series(
                "lab, time-weighted", name, "time_weighted_ai_share", "lab", "all", dashed=True, color="#9aa3ad"
            )
        )
        return self._figure(key, title, series, self._caption(self.suppressed_points(name, "ai_share", "team", teams)))

    def chart_ladder(self) -> str:
        key, title = "ladder", "Sophistication ladder (AI share per rung)"
        name = self.name(key)
        rungs_rows = self.frame.filter((pl.col("indicator") == name) & (pl.col("cut") == "rung")) if name else None
        if not name or not self.weeks or not rungs_rows.height:
            return self._figure(key, title, None, indicator=name)
        order = list(contract.RUNGS)
        metric = "ai_share" if "ai_share" in rungs_rows["metric"].to_list() else rungs_rows["metric"][0]
        rungs = sorted(
            rungs_rows["cut_value"].unique().to_list(), key=lambda r: (order.index(r) if r in order else 9, r)
        )
        series = [self.series(r, name, metric, "rung", r) for r in rungs]
        caption = self._caption(self.suppressed_points(name, metric, "rung", rungs))
        if self.team:
            caption = "Whole lab: rungs are not cut by team. " + caption
        return self._figure(key, title, series, caption, indicator=name)

    def chart_horizon(self) -> str:
        key, title = "time_horizon", "Time horizon (50 %) with its 95 % interval"
        name, h50, _ = self.horizon_metrics()
        if not name or not h50 or not self.weeks:
            return self._figure(key, title, None)
        line = self.series("50 % horizon", name, h50, self.cut, self.cut_value)
        band = (
            self.weekly(name, h50, self.cut, self.cut_value, "ci_low"),
            self.weekly(name, h50, self.cut, self.cut_value, "ci_high"),
        )
        if any(v is not None for v in band[0]):
            line.band = band
        return self._figure(
            key,
            title,
            [line],
            self._caption(self.suppressed_points(name, h50, self.cut, [self.cut_value])),
            percent=False,
            ylabel="human minutes",
            log_y=True,
        )

    def chart_metrics(self, key: str, title: str, metrics: list[str] | None = None) -> str:
        name = self.name(key)
        if not name or not self.weeks:
            return self._figure(key, title, None)
        chosen = metrics or [m for m in self.metrics_of(name) if is_share(m)]
        chosen = [m for m in chosen if m in self.metrics_of(name)]
        if not chosen:
            return self._figure(key, title, None)
        series = [self.series(metric_label(m), name, m, self.cut, self.cut_value) for m in chosen]
        return self._figure(
            key, title, series, self._caption(self.suppressed_points(name, chosen[0], self.cut, [self.cut_value]))
        )

    def chart_spend(self) -> str:
        key, title = "spend_distribution", "R&D spend distribution (share of spend by category)"
        name = self.name(key)
        if not name or not self.weeks:
            return self._figure(key, title, None)
        parts = [
            self.series(metric_label(m), name, m, self.cut, self.cut_value)
            for m in self.metrics_of(name)
            if is_share(m)
        ]
        if not parts:
            return self._figure(key, title, None)
        used = [p for p in parts if any(v for v in p.values if v is not None)]
        if len(used) == 1:  # one category is 100 % of every week: a sentence says it better than bars
            only = used[0]
            weeks = [w for w, v in zip(self.weeks, only.values) if v is not None]
            category = only.label.removeprefix("share ").replace("_", " ")
            sentence = (
                f"All spend reported in the {len(weeks)} week{'s' if len(weeks) != 1 else ''} with released "
                f"data ({weeks[0].split('-')[1]}–{weeks[-1].split('-')[1]}) was on {category}: 100 %. "
                "No other category had any spend, so there is no split to chart."
            )
            self.charts_drawn.append(key)
            return (
                f'<figure class="chart" data-chart="{e(key)}" data-sentence="true" '
                f'data-series="{e(self._series_data(used))}"><h3>{e(title)}</h3>'
                f'<p class="sentence">{e(sentence)}</p>{_definition(name)}</figure>'
            )
        return self._figure(
            key,
            title,
            parts,
            self._caption(self.suppressed_points(name, parts[0].source[1], self.cut, [self.cut_value])),
            draw=charts.stacked_bars,
        )

    def chart_escaped_errors(self) -> str:
        """Escaped errors per 100 tasks (not a share: its own axis), AI work by oversight beside
        human work."""
        key, title = "escaped_errors", "Escaped errors per 100 tasks, by who let the work through"
        name = self.name(key)
        metrics = {
            "escaped_per_100_ai_tasks_person_reviewed": "AI, person-reviewed",
            "escaped_per_100_ai_tasks_rule_approved": "AI, rule-approved",
            "escaped_per_100_ai_tasks_never_asked": "AI, never asked",
            "escaped_per_100_human_tasks": "human",
        }
        if not name or not self.weeks:
            return self._figure(key, title, None)
        series = [self.series(label, name, m, self.cut, self.cut_value) for m, label in metrics.items()]
        first = next(iter(metrics))
        return self._figure(
            key,
            title,
            series,
            self._caption(self.suppressed_points(name, first, self.cut, [self.cut_value])),
            percent=False,
            ylabel="per 100 tasks (week of the work)",
        )

    def chart_time_allocation(self) -> str:
        """The shares where a week's figures came from a survey (or time tracking); a week with
        only measured minutes has no share, and the caption says so rather than leave a silent gap."""
        key = "time_allocation"
        figure = self.chart_metrics(
            key,
            "Researchers' time directing and reviewing AI (share of their time)",
            ["ai_directed_share", "directing_share", "reviewing_share"],
        )
        name = self.name(key)
        measured = (
            [w for w, v in zip(self.weeks, self.weekly(name, "source_measured", self.cut, self.cut_value)) if v]
            if name and self.weeks
            else []
        )
        if not measured:
            return figure
        note = (
            f' <span class="measured-only">Weeks with no survey or time tracking '
            f"({e(', '.join(w.split('-')[1] for w in measured))}) have no share: only agents' active time and "
            "review minutes were measured, a lower bound given in minutes per researcher in the table.</span>"
        )
        return figure.replace("</figcaption>", note + "</figcaption>", 1)

    def charts_section(self) -> str:
        figures = [
            self.chart_automation(),
            self.chart_ladder(),
            self.chart_horizon(),
            self.chart_metrics(
                "review_frequency", "Review and intervention rates", ["unreviewed_share", "intervention_rate"]
            ),
            self.chart_metrics("experiment_compute", "AI-designed experiment compute share"),
            self.chart_metrics("first_authorship", "AI first-authorship share"),
            self.chart_metrics(
                "merged_code", "Share of merged lines written with AI", ["ai_share", "ai_authored_share"]
            ),
            self.chart_metrics(
                "ai_review", "AI as reviewer (reviews of AI work)", ["ai_review_share", "ai_only_reviewed_share"]
            ),
            self.chart_spend(),
            self.chart_escaped_errors(),
            self.chart_metrics(
                "agent_permissions",
                "AI work by what the agent was allowed to do",
                [
                    "share_under_job_submission",
                    "share_under_internet",
                    "share_under_secrets",
                    "share_under_no_approval",
                ],
            ),
            self.chart_time_allocation(),
            self.chart_metrics("capital_share", "Capital share of R&D spending", ["capital_share"]),
        ]
        return '<h2>Over time (per ISO week)</h2><section class="charts">' + "".join(figures) + "</section>"

    # -- team classes
    def classes(self) -> list[str]:
        """The team classes the stored indicators are cut by (none: no class cut configured)."""
        rows = self.frame.filter(pl.col("cut") == CLASS_CUT)
        return sorted(rows["cut_value"].unique().to_list()) if rows.height else []

    def chart_classes(self, classes: list[str]) -> str:
        """AI share of tasks per class and week: safety against the other classes (GovAI's
        productivity of safety versus other teams)."""
        key, title = "team_class", "Automation share by team class (AI share of tasks, per week)"
        name = self.name("automation_share")
        if not name or not self.weeks:
            return self._figure(key, title, None, indicator=name)
        series = []
        for c in classes:
            line = self.series(c, name, "ai_share", CLASS_CUT, c)
            if all(v is None for v in line.values):
                line.label = f"{c} (suppressed)"
            series.append(line)
        series.append(self.series("lab, share of tasks", name, "ai_share", "lab", "all", dashed=True, color="#1d2430"))
        caption = self._caption(self.suppressed_points(name, "ai_share", CLASS_CUT, classes))
        return self._figure(key, title, series, caption, indicator=name)

    def classes_section(self) -> str:
        """The "by team class" view: each indicator's lead metric per class for the period, and
        the weekly AI share per class. Empty when no classes are configured."""
        classes = self.classes()
        if not classes:
            return ""
        columns = []  # (stored indicator, its lead metric) of every indicator cut by class
        here = self.frame.filter(
            (pl.col("cut") == CLASS_CUT)
            & (pl.col("period_type") == self.period.period_type)
            & (pl.col("period") == self.period.label)
        )
        for info in REGISTRY:  # those with a lead metric (a distribution has none: it is in the tables)
            name = resolve(info, self.present)
            metrics = here.filter(pl.col("indicator") == name)["metric"].unique().to_list() if name else []
            lead = next((m for m in info.lead_metrics if m in metrics), None)
            if lead:
                columns.append((name, info.title, lead))
        head = (
            '<div class="scroll"><table class="by-class"><thead><tr><th>team class</th>'
            + "".join(f"<th>{e(title)}<span class=sub>{e(metric_label(m))}</span></th>" for _, title, m in columns)
            + "</tr></thead><tbody>"
        )
        body = []
        for cut, value in [("lab", "all"), *((CLASS_CUT, c) for c in classes)]:
            label = "lab (all teams)" if cut == "lab" else value
            period = (self.period.period_type, self.period.label)
            cells = "".join(cell_html(find(self.frame, n, m, *period, cut, value, self.dp), m) for n, _, m in columns)
            body.append(f'<tr data-team-class="{e(value)}"><td>{e(label)}</td>{cells}</tr>')
        return (
            '<h2 id="by-class">By team class</h2><section class="classes" data-section="team_class">'
            '<p class="pending">Each team belongs to one configured class (teams in none are '
            f"<i>{UNCLASSIFIED}</i>); a class's cells sum its teams' events, under the same k-anonymity and "
            "complementary suppression as every cut, so a class can be shown where its small teams are not. "
            "One lead metric per indicator; every metric by class is in the tables below.</p>"
            + head
            + "".join(body)
            + "</tbody></table></div>"
            + self.chart_classes(classes)
            + "</section>"
        )

    # -- tables
    def tables_section(self) -> str:
        parts = [
            f"<h2>Every indicator for {e(self.period.label)}, with sample sizes</h2>",
            '<p class="pending">Rows: the whole lab, then each team (and rung or category where the '
            'indicator is cut that way). A <span class="suppressed">suppressed</span> cell is shown, never '
            "dropped, with its numbers withheld and the reason: either fewer than k people contributed to "
            "it, or it is hidden to protect another suppressed cell that could otherwise be worked out by "
            "subtraction from a total (complementary suppression).</p>",
        ]
        ordered = [resolve(info, self.present) for info in REGISTRY]
        extra = sorted(self.present - {n for n in ordered if n})
        pending = [info for info in REGISTRY if not resolve(info, self.present)]
        for name in [n for n in ordered if n] + extra:
            parts.append(self._indicator_table(name))
        if pending:
            parts.append(
                "<h3>Not yet computed</h3><ul class=pending>"
                + "".join(
                    f"<li>{e(info.title)} ({e(_answers(info.table1_row))}) — not yet computed"
                    f"{_definition(info.key)}</li>"
                    for info in pending
                )
                + "</ul>"
            )
        return "".join(parts)

    def _indicator_table(self, name: str) -> str:
        info = info_for(name)
        rows = self.frame.filter(
            (pl.col("indicator") == name)
            & (pl.col("period_type") == self.period.period_type)
            & (pl.col("period") == self.period.label)
        )
        if self.team:
            rows = rows.filter((pl.col("cut") != "team") | (pl.col("cut_value") == self.team))
        head = (
            f'<section class="indicator" data-indicator="{e(name)}"><h3>{e(info.title)} '
            f'<span class="pending">· {e(_answers(info.table1_row))}</span></h3>'
        )
        foot = _definition(name) + "</section>"
        if rows.height == 0:
            return head + f'<p class="pending">No rows for {e(self.period.label)}.</p>' + foot
        metrics = metric_order(rows["metric"].unique(maintain_order=True).to_list())
        # a change shown under the share it changes: one column, not two (the table fits the page)
        folded = {m: f"share_{m[7:]}" for m in metrics if m.startswith("change_") and f"share_{m[7:]}" in metrics}
        metrics = [m for m in metrics if m not in folded]
        under = {share: change for change, share in folded.items()}
        cut_order = {"lab": 0, CLASS_CUT: 1, "team": 2, "rung": 3, "category": 4}
        keys = (
            rows.select(["cut", "cut_value"])
            .unique()
            .sort([pl.col("cut").replace_strict(cut_order, default=9, return_dtype=pl.Int32), "cut_value"])
        )
        reasons_seen: dict[str, str] = {}
        # a wide indicator is shown as several tables of at most TABLE_COLUMNS metrics, so that
        # every table fits the page (no sideways scrolling); each repeats the cut and the sizes
        out = [
            self._metrics_table(name, rows, keys, metrics[at : at + TABLE_COLUMNS], folded, under, reasons_seen)
            for at in range(0, len(metrics), TABLE_COLUMNS)
        ]
        if reasons_seen:
            out.append(
                '<p class="reasons">'
                + " ".join(f"<b>Suppressed: {e(short)}</b> — {e(words)}." for short, words in reasons_seen.items())
                + "</p>"
            )
        return head + "".join(out) + foot

    def _metrics_table(
        self,
        name: str,
        rows: pl.DataFrame,
        keys: pl.DataFrame,
        group: list[str],
        folded: dict[str, str],
        under: dict[str, str],
        reasons_seen: dict[str, str],
    ) -> str:
        """One table of ``group``'s metrics, a row per cut (``reasons_seen`` collects why cells
        are suppressed)."""
        out = [
            '<div class="scroll"><table><thead><tr><th>cut</th><th>events</th><th>people</th>'
            + "".join(
                f"<th>{e(metric_label(m))}"
                + ('<span class="sub">and its change</span>' if m in under else "")
                + "</th>"
                for m in group
            )
            + "</tr></thead><tbody>"
        ]
        for cut, cut_value in keys.iter_rows():
            cells = {
                m: find(rows, name, m, self.period.period_type, self.period.label, cut, cut_value, self.dp)
                for m in [*group, *folded]
            }
            any_cell = next((c for c in cells.values() if not c.missing), None)
            if any_cell is None:  # none of this table's metrics has the cut: nothing to show
                continue
            label = "lab (all teams)" if cut == "lab" else f"{cut.replace('_', ' ')}: {cut_value}"
            if any_cell.suppressed:
                counts = '<td class="suppressed">suppressed</td><td class="suppressed">suppressed</td>'
            else:
                counts = "".join(
                    f'<td class="withheld" title="{WITHHELD}">withheld</td>'
                    if text == "withheld"
                    else f'<td class="num" data-{attr}="{any_cell.row[column]}">{text}</td>'
                    for text, attr, column in zip(
                        sizes(any_cell.row), ("n-events", "n-actors"), ("n_events", "n_actors")
                    )
                )
            if any_cell.suppressed:
                reasons_seen.setdefault(reason_short(any_cell.row), reason_words(any_cell.row))
            out.append(
                f"<tr><td>{e(label)}</td>{counts}" + "".join(self._table_cell(cells, m, under) for m in group) + "</tr>"
            )
        out.append("</tbody></table></div>")
        return "".join(out)

    @staticmethod
    def _table_cell(cells: dict[str, Cell], metric: str, under: dict[str, str]) -> str:
        """A metric's cell, with its change (``under``) inside it when the table has one."""
        html_ = cell_html(cells[metric], metric)
        change = under.get(metric)
        if change is None or cells[change].missing or cells[metric].suppressed:
            return html_
        return (
            html_.replace("</td>", cell_html(cells[change], change, "span", "sub") + "</td>", 1)
            if html_.endswith("</td>")
            else html_
        )

    def _dp_words(self) -> str:
        if not self.dp:
            return ""
        epsilon = self.epsilons.get((self.period.period_type, self.period.label))
        spent = f" (ε = {epsilon:g} for {e(self.period.label)})" if epsilon is not None else ""
        return (
            f", with differential privacy{spent}: the automation share is released with Laplace noise, "
            f"every other indicator is {WITHHELD.replace('(differential privacy)', '').strip()}"
        )

    def _caveat_html(self) -> str:
        if not self.caveat:
            return ""
        return f' · <span class="caveat" data-caveat="unlike">comparisons below: {e(self.caveat)}</span>'

    # -- page
    def render(self, live_bar: str = "", script: str = "") -> str:
        k_values = sorted(set(self.frame["k"].to_list())) if self.frame.height else []
        as_of = self.frame["computed_at"].max() if self.frame.height else None
        scope = f"team {e(self.team)}" if self.team else "whole lab"
        summary = "".join(f"<li>{e(s)}</li>" for s in sentences(self.frame, self.period, self.team))
        if self.caveat:  # the moves below compare unlike periods: say so before them
            summary = (
                f'<li class="caveat" data-caveat="unlike">Read the changes below with care: {e(self.caveat)}.'
                "</li>" + summary
            )
        title = f"AI R&amp;D automation report — {e(self.period.label)}"
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="autoscope {__version__}">
<title>AI R&amp;D automation report — {e(self.period.label)}</title>
<style>{CSS}</style></head>
<body><main>
{live_bar}
<header><h1>{title}</h1>
<p class="sub">{scope} · {e(self.period.period_type)} {e(self.period.label)}, compared with {e(self.previous.label)}
 · {coverage_badge(self.coverage)} · {coverage_badge(self.previous_coverage)}{self._caveat_html()}
 · indicators computed {e(str(as_of)[:19]) if as_of else "never"} UTC · k = {", ".join(map(str, k_values)) or "–"}
 · generated {self.generated_at.strftime("%Y-%m-%d %H:%M")} UTC by autoscope {__version__}</p></header>
{self.headline()}
<h2>What moved most</h2>
<section class="summary"><ul>{summary}</ul></section>
{self.charts_section()}
{self.classes_section()}
{self.tables_section()}
<footer>Indicators follow the CSET workshop report <i>When AI Builds AI</i> (2025), Table 1. Every number here is an
aggregate over at least k people (k-anonymity{self._dp_words()});
no individual's work can be read from it. Definitions: open “Definition” under each chart or table.</footer>
</main>{PRINT_SCRIPT}{script}</body></html>
"""
