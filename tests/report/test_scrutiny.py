"""Issue 17: what leadership and compliance read must survive scrutiny.

Suppression says why, partial periods say so, arrows follow each indicator's concern direction
(checked in headless Chromium, on the colours it computes); releases are signed and verified
against a public key given separately; a re-export is byte-identical; CLI mistakes are refused
clearly (and audited for the export)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import polars as pl
import pytest

from autoscope.cli import main
from autoscope.pipelines.report.data import load_values, parse_period
from autoscope.pipelines.report.html import Report
from tests.report import browser
from tests.report.report_reader import stored

#: run in Chromium after load: what the browser computed, written back into the DOM
PROBE = """<script>addEventListener('load', function () {
  document.querySelectorAll('.arrow, [data-coverage], [data-suppression-reason], [data-caveat], table')
    .forEach(function (el) {
      var style = getComputedStyle(el);
      el.setAttribute('data-probe-color', style.color);
      el.setAttribute('data-probe-text', el.innerText.replace(/\\s+/g, ' ').trim());
      if (el.tagName === 'TABLE') {
        el.setAttribute('data-probe-fits', String(el.scrollWidth <= el.parentElement.clientWidth + 1));
      }
    });
});</script>"""

RED, GREEN = "rgb(179, 38, 30)", "rgb(27, 127, 59)"


class Probed(HTMLParser):
    """Every element the probe marked, with its attributes."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.marked: list[dict] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-probe-color" in a:
            self.marked.append({"tag": tag, **a})


def _in_chromium(html_text: str, tmp_path: Path, name: str) -> list[dict]:
    page = tmp_path / name
    page.write_text(html_text.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    return Probed(browser.dump_dom(page.as_uri(), size="1280,2000")).marked


def _report(data_dir: Path, period: str, tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / f"report-{period}.html"
    assert main(["report", "--data-dir", str(data_dir), "--period", period, "--out", str(out), *extra]) == 0
    return out


def _export(data_dir: Path, out: Path, period: str = "2026-Q3", fmt: str = "parquet", *extra: str) -> int:
    return main(["export", "--data-dir", str(data_dir), "--period", period, "--format", fmt, "--out", str(out), *extra])


def _audit(data_dir: Path) -> pl.DataFrame:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return pl.from_arrow(conn.sql("SELECT * FROM audit_log ORDER BY occurred_at").to_arrow_table())
    finally:
        conn.close()


# ---------------------------------------------------------------- the page, in Chromium


def test_complementary_suppressed_cell_explains_itself_in_chromium(data_dir: Path, tmp_path: Path) -> None:
    table = stored(data_dir / "warehouse.duckdb")
    q4 = table.filter((pl.col("period") == "2026-Q4") & (pl.col("cut") == "team") & pl.col("suppressed"))
    reasons = dict(q4.select(["cut_value", "suppression_reason"]).unique().iter_rows())
    # the demo: policy (3 people) is below k; evals (10 people) is hidden only to protect it
    assert reasons.get("policy") == "too_few_people" and reasons.get("evals") == "protects_cut", reasons
    marked = _in_chromium(_report(data_dir, "2026-Q4", tmp_path).read_text(encoding="utf-8"), tmp_path, "probe.html")
    cells = [m for m in marked if m.get("data-suppression-reason")]
    evals = [m for m in cells if m.get("data-cut-value") == "evals" and m["data-period"] == "2026-Q4"]
    policy = [m for m in cells if m.get("data-cut-value") == "policy" and m["data-period"] == "2026-Q4"]
    assert evals and policy
    for cell in evals:  # what a reader sees, and the explanation on hover
        assert cell["data-probe-text"] == "suppressed (protects another team)", cell
        assert "hidden to protect another suppressed cell" in cell["title"] and "fewer than k" not in cell["title"]
    for cell in policy:
        assert cell["data-probe-text"] == "suppressed (fewer than k people)", cell
        assert "fewer than k=5 people" in cell["title"]
    # every table fits its column of the page at 1280 px (no sideways scrolling)
    tables = [m for m in marked if m["tag"] == "table"]
    assert tables and all(t["data-probe-fits"] == "true" for t in tables), [
        t["data-probe-text"][:60] for t in tables if t["data-probe-fits"] != "true"
    ]


def test_partial_period_is_labelled_and_not_compared_as_whole(data_dir: Path, tmp_path: Path) -> None:
    marked = _in_chromium(_report(data_dir, "2026-Q4", tmp_path).read_text(encoding="utf-8"), tmp_path, "probe.html")
    badges = {m["data-period"]: m for m in marked if m.get("data-coverage")}
    q4, q3 = badges["2026-Q4"], badges["2026-Q3"]
    # 2026-Q4 (W40–W53) had not ended when the demo's indicators were computed; the demo ran W36–W43
    assert q4["data-coverage"] == "partial", q4
    assert re.fullmatch(
        r"2026-Q4: partial: still running, 4 of 14 weeks have data \(\d+ begun\)", q4["data-probe-text"]
    )
    assert q3["data-coverage"] == "complete" and q3["data-probe-text"].startswith("2026-Q3: complete (")
    caveats = [m for m in marked if m.get("data-caveat") == "unlike"]
    assert caveats and any("not like for like" in m["data-probe-text"] for m in caveats)


def test_concern_arrow_is_red_and_a_neutral_one_grey_in_chromium(data_dir: Path, tmp_path: Path) -> None:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        frame = load_values(conn)
    finally:
        conn.close()
    where = (
        (pl.col("indicator") == "review_frequency")
        & (pl.col("metric") == "unreviewed_share")
        & (pl.col("cut") == "lab")
        & (pl.col("period_type") == "quarter")
    )
    q3 = frame.filter(where & (pl.col("period") == "2026-Q3"))["value"][0]

    def page(unreviewed_q4: float) -> dict[str, dict]:
        changed = frame.with_columns(
            value=pl.when(where & (pl.col("period") == "2026-Q4"))
            .then(pl.lit(unreviewed_q4))
            .otherwise(pl.col("value"))
        )
        html_text = Report(changed, parse_period("2026-Q4")).render()
        marked = _in_chromium(html_text, tmp_path, f"arrows-{unreviewed_q4:.3f}.html")
        return {m["data-arrow-metric"]: m for m in marked if "arrow" in m.get("class", "")}

    rose = page(min(q3 + 0.2, 1.0))  # more AI work merged without review: a concern
    assert rose["unreviewed_share"]["data-concern"] == "concern" and rose["unreviewed_share"]["data-probe-color"] == RED
    assert rose["unreviewed_share"]["data-probe-text"].startswith("▲")
    fell = page(max(q3 - 0.05, 0.0))  # the other way: green
    assert fell["unreviewed_share"]["data-concern"] == "eases" and fell["unreviewed_share"]["data-probe-color"] == GREEN
    # the AI share has no concern direction: its rise is neither red nor green
    share = rose["time_weighted_ai_share"]
    assert share["data-concern"] == "neutral" and share["data-probe-color"] not in (RED, GREEN)


# ---------------------------------------------------------------- units, order, gaps, one category


def test_units_buckets_gaps_and_a_one_category_chart(data_dir: Path, tmp_path: Path) -> None:
    text = _report(data_dir, "2026-Q4", tmp_path).read_text(encoding="utf-8")
    # the time horizon: value and interval in one unit
    for value, low, high in re.findall(
        r'data-metric="h50_minutes"[^>]*>([\d.]+ \w+) <span class="ci">\[([\d.]+ \w+) – '
        r"([\d.]+ \w+)\]",
        text,
    ):
        assert len({v.split()[1] for v in (value, low, high)}) == 1, (value, low, high)
    # spend per researcher carries its unit
    assert re.search(r'data-metric="ai_tool_spend_per_active_researcher"[^>]*>\$[\d,.]+ per active researcher', text)
    # task-size buckets in order of size
    head = text[text.index('<section class="indicator" data-indicator="task_size"') :]  # its table's header
    head = head[: head.index("</tr>")]
    assert head.index("share over 1h") < head.index("share over 8h") < head.index("share over 40h")
    # the spend chart: the demo spends on AI tools, compute and staff, so stacked bars (one
    # category alone is a sentence, not a 100 % bar: below)
    assert re.search(r'data-chart="spend_distribution" data-series=', text)
    # a week without data stays on the axis, named as a gap
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        frame = load_values(conn)
    finally:
        conn.close()
    report = Report(frame.filter(pl.col("period") != "2026-W38"), parse_period("2026-Q3"))
    html_text = report.render()
    assert "2026-W38" in report.weeks and report.gaps == ["2026-W38"]
    assert "Weeks without data (gaps on the axis): W38" in html_text
    # spend on one category only (the others stored as 0 %): a sentence, not a 100 % bar
    only_ai_tools = frame.with_columns(
        value=pl.when((pl.col("indicator") == "spend") & pl.col("metric").is_in(["share_compute", "share_staff"]))
        .then(0.0)
        .otherwise(pl.col("value"))
    )
    one = Report(only_ai_tools, parse_period("2026-Q3")).render()
    assert re.search(r'data-chart="spend_distribution" data-sentence="true"', one) and "ai tools: 100 %" in one


def test_definitions_are_plain_text_and_cite_the_projects_docs(data_dir: Path, tmp_path: Path) -> None:
    text = _report(data_dir, "2026-Q4", tmp_path).read_text(encoding="utf-8")
    definitions = re.findall(r'<p class="definition">(.*?)</p>', text, re.DOTALL)
    assert len(definitions) >= 10
    for d in definitions:
        assert "DESIGN.md" not in d and "``" not in d and ":func:" not in d and "`" not in d, d
        assert "docs/indicators.md" in d
    assert (Path(__file__).resolve().parents[2] / "docs" / "indicators.md").is_file()


def test_month_view_charts_agree_with_its_headline(data_dir: Path, tmp_path: Path) -> None:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        frame = load_values(conn)
    finally:
        conn.close()
    months = frame.filter(pl.col("period_type") == "month")["period"].unique().sort().to_list()
    assert "2026-08" in months  # Monday 31 August is in W36, a September week by ISO's rule
    for month in months:
        report = Report(frame, parse_period(month))
        report.render()
        assert report.weeks and "automation_share" in report.charts_drawn, (month, report.weeks)


# ---------------------------------------------------------------- signed, reproducible releases


def test_doctored_file_with_a_recomputed_manifest_fails_on_the_signature(
    data_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "filing"
    assert _export(data_dir, out, "2026-Q3", "csv") == 0
    key = tmp_path / "release.pem"
    assert main(["key", "--data-dir", str(data_dir), "release-public", "--out", str(key)]) == 0
    assert main(["export", "verify", str(out), "--public-key", str(key)]) == 0
    assert "signed by the release key" in capsys.readouterr().out
    # doctor a number, then recompute the manifest's checksum so the set is self-consistent again
    target = out / "automation_share.csv"
    target.write_text(target.read_text().replace("0.4", "0.9", 1))
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["path"] == target.name:
            entry["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()
            entry["bytes"] = target.stat().st_size
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    assert main(["export", "verify", str(out)]) == 0  # without the key, nothing can tell
    assert "signature was NOT checked" in capsys.readouterr().out
    assert main(["export", "verify", str(out), "--public-key", str(key)]) == 1
    said = capsys.readouterr().out
    assert "does NOT verify" in said and "the signature does not match" in said
    # a key that is not the lab's is named as such
    other = tmp_path / "other"
    assert main(["key", "--data-dir", str(other), "release-create"]) == 0
    assert main(["key", "--data-dir", str(other), "release-public", "--out", str(tmp_path / "other.pem")]) == 0
    fresh = tmp_path / "fresh"
    assert _export(data_dir, fresh, "2026-Q3", "csv") == 0
    capsys.readouterr()
    assert main(["export", "verify", str(fresh), "--public-key", str(tmp_path / "other.pem")]) == 1
    assert "but the public key given is" in capsys.readouterr().out


def test_rotated_key_signs_new_exports_and_old_ones_still_verify(data_dir: Path, tmp_path: Path, capsys) -> None:
    assert _export(data_dir, tmp_path / "old", "2026-Q3", "json") == 0
    old_id = json.loads((tmp_path / "old" / "manifest.sig").read_text())["key_id"]
    assert main(["key", "--data-dir", str(data_dir), "release-rotate"]) == 0
    assert _export(data_dir, tmp_path / "new", "2026-Q3", "json") == 0
    new_id = json.loads((tmp_path / "new" / "manifest.sig").read_text())["key_id"]
    assert new_id != old_id
    assert (
        main(
            [
                "key",
                "--data-dir",
                str(data_dir),
                "release-public",
                "--key-id",
                old_id,
                "--out",
                str(tmp_path / "old.pem"),
            ]
        )
        == 0
    )
    assert main(["export", "verify", str(tmp_path / "old"), "--public-key", str(tmp_path / "old.pem")]) == 0
    assert main(["export", "verify", str(tmp_path / "new"), "--public-key", str(tmp_path / "old.pem")]) == 1
    signature = json.loads((tmp_path / "new" / "manifest.sig").read_text())
    assert len(base64.b64decode(signature["signature"])) == 64 and signature["algorithm"] == "Ed25519"


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_reexport_of_the_same_data_is_byte_identical(data_dir: Path, tmp_path: Path, fmt: str) -> None:
    assert _export(data_dir, tmp_path / "first", "2026-Q4", fmt) == 0
    assert _export(data_dir, tmp_path / "second", "2026-Q4", fmt) == 0
    first = {p.name: p.read_bytes() for p in (tmp_path / "first").iterdir()}
    second = {p.name: p.read_bytes() for p in (tmp_path / "second").iterdir()}
    assert set(first) == set(second) and "manifest.sig" in first
    assert [n for n in first if first[n] != second[n]] == []
    log = _audit(data_dir)  # two audit rows, one manifest
    assert log["manifest_sha256"].n_unique() == 1 and log.height == 2 and log["audit_id"].n_unique() == 2


def test_audit_table_shows_manifest_hash_and_signer(data_dir: Path, tmp_path: Path, capsys) -> None:
    assert _export(data_dir, tmp_path / "a", "2026-Q3", "csv") == 0
    digest = hashlib.sha256((tmp_path / "a" / "manifest.json").read_bytes()).hexdigest()
    signer = json.loads((tmp_path / "a" / "manifest.sig").read_text())["key_id"]
    capsys.readouterr()
    assert main(["audit", "--data-dir", str(data_dir)]) == 0  # the table, not --json
    shown = capsys.readouterr().out
    assert digest in shown and signer in shown


# ---------------------------------------------------------------- coverage in the export


def test_export_tells_no_activity_from_not_covered(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "q3"
    assert _export(data_dir, out, "2026-Q3", "json") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    # the demo starts in W36: Q3's earlier weeks and July were not covered; W36–W39 had activity
    assert manifest["periods_included"]["week"] == ["2026-W36", "2026-W37", "2026-W38", "2026-W39"]
    assert (
        "2026-W30" in manifest["periods_not_covered"]["week"] and "2026-07" in manifest["periods_not_covered"]["month"]
    )
    assert manifest["period_complete"] is True
    rows = {
        (r["period_type"], r["period"]) for f in manifest["files"] for r in json.loads((out / f["path"]).read_text())
    }
    for ptype, labels in manifest["periods_included"].items():
        assert all((ptype, label) in rows for label in labels)
    for ptype, labels in manifest["periods_not_covered"].items():
        assert not any((ptype, label) in rows for label in labels)
    assert "suppression_reason" in json.loads((out / "automation_share.json").read_text())[0]
    words = manifest["privacy"]["suppression"]
    assert "at least k distinct people" in words["k_threshold"] and "by subtraction" in words["complementary"]


def test_week_with_no_activity_inside_the_collection_span(data_dir: Path, tmp_path: Path) -> None:
    """A covered week without events is listed as covered without activity, not as not covered."""
    from autoscope.pipelines.coverage import NO_ACTIVITY, NOT_COVERED, Span, coverage

    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        frame = load_values(conn)
    finally:
        conn.close()
    frame = frame.filter(pl.col("period") != "2026-W38")
    span = Span.of(frame)
    assert coverage("week", "2026-W38", frame, span).status == NO_ACTIVITY
    assert coverage("week", "2026-W30", frame, span).status == NOT_COVERED


# ---------------------------------------------------------------- CLI mistakes


def test_export_to_a_file_is_a_clear_refusal_and_audited(data_dir: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "export.parquet"
    target.write_text("not a directory")
    assert _export(data_dir, target, "2026-Q3") == 2
    said = capsys.readouterr().out
    assert "is a file, not a directory" in said and "Traceback" not in said
    log = _audit(data_dir)
    assert log["outcome"].to_list() == ["refused"] and "is a file" in log["detail"][0]
    assert target.read_text() == "not a directory"


def test_team_typo_is_refused_with_the_teams(data_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.html"
    assert (
        main(["report", "--data-dir", str(data_dir), "--period", "2026-Q4", "--team", "evalz", "--out", str(out)]) == 2
    )
    said = capsys.readouterr().out
    assert "no such team" in said and "evals, infrastructure, policy, post-training, pretraining" in said
    assert not out.exists()


def test_k_is_honoured_without_refresh_and_never_lowered(data_dir: Path, tmp_path: Path, capsys) -> None:
    strict = _report(data_dir, "2026-Q3", tmp_path, "--k", "10").read_text(encoding="utf-8")
    assert "k = 10" in strict
    table = stored(data_dir / "warehouse.duckdb")
    assert set(table["k"].to_list()) == {10}  # stored as the release, for every period
    released = table.filter(~pl.col("suppressed") & pl.col("n_actors").is_not_null())
    assert released["n_actors"].min() >= 10
    capsys.readouterr()
    assert (
        main(
            [
                "report",
                "--data-dir",
                str(data_dir),
                "--period",
                "2026-Q3",
                "--k",
                "5",
                "--out",
                str(tmp_path / "weak.html"),
            ]
        )
        == 2
    )
    assert "k can be raised, never lowered" in capsys.readouterr().out
    out = tmp_path / "weak-export"
    assert _export(data_dir, out, "2026-Q3", "csv", "--k", "5") == 2
    assert _audit(data_dir)["outcome"].to_list() == ["refused"]
    shutil.rmtree(out, ignore_errors=True)
