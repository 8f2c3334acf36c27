"""Export: manifest and checksums verify, tampering is caught, raw tables are refused, every
attempt is audited, tokens gate it, and the exported numbers are the stored ones."""

from __future__ import annotations

import getpass
import hashlib
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from autoscope.cli import main
from autoscope.core.tokens import TokenStore
from autoscope.pipelines.export import periods_within, verify
from autoscope.pipelines.report.data import parse_period
from tests.report.report_reader import stored


def _export(data_dir: Path, out: Path, fmt: str = "parquet", period: str = "2026-Q3", *extra: str) -> int:
    return main(["export", "--data-dir", str(data_dir), "--period", period, "--format", fmt, "--out", str(out), *extra])


def _audit(data_dir: Path) -> pl.DataFrame:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return pl.from_arrow(conn.sql("SELECT * FROM audit_log ORDER BY occurred_at").to_arrow_table())
    finally:
        conn.close()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_manifest_describes_and_verifies_the_set(data_dir: Path, tmp_path: Path, fmt: str, capsys) -> None:
    out = tmp_path / "filing"
    assert _export(data_dir, out, fmt) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["period"] == "2026-Q3" and manifest["format"] == fmt
    assert manifest["software"]["version"] and manifest["warehouse_schema_version"] >= 5
    assert manifest["indicators_computed_at"] and manifest["privacy"]["k"] == 5
    assert {"epsilon_used", "epsilon_remaining"} <= set(manifest["privacy"])
    for entry in manifest["files"]:
        data = (out / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
        assert entry["rows"] > 0
    by_name = {i["indicator"]: i for i in manifest["indicators"]}
    assert by_name["automation_share"]["table1_row"] == "automation share"
    assert by_name["review_frequency"]["table1_row"] == "human review frequency"
    assert all(i["definition"] and i["table1_row"] for i in manifest["indicators"] if i["computed"])
    assert "time-weighted" in by_name["automation_share"]["definition"]
    assert verify(out) == []
    assert main(["export", "verify", str(out)]) == 0
    assert "every file matches" in capsys.readouterr().out


def test_tampered_missing_or_extra_files_fail_verify(data_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "filing"
    assert _export(data_dir, out, "csv") == 0
    target = out / "automation_share.csv"
    lines = target.read_text().splitlines(keepends=True)
    column = lines[0].split(",").index("value")
    row = next(i for i, line in enumerate(lines[1:], 1) if line.split(",")[column])  # a released value
    fields = lines[row].split(",")
    fields[column] = repr(float(fields[column]) + 0.01)  # one number changed, the row count kept
    lines[row] = ",".join(fields)
    target.write_text("".join(lines))
    problems = verify(out)
    assert len(problems) == 1 and "automation_share.csv: SHA-256" in problems[0]
    capsys.readouterr()
    assert main(["export", "verify", str(out)]) == 1
    assert "does NOT verify" in capsys.readouterr().out
    (out / "review_frequency.csv").unlink()
    (out / "notes.txt").write_text("added later")
    problems = verify(out)
    assert any("review_frequency.csv: missing" in p for p in problems)
    assert any("notes.txt: not in the manifest" in p for p in problems)


def test_raw_table_is_refused_with_a_clear_message(data_dir: Path, tmp_path: Path, capsys) -> None:
    for table in ("tasks", "reviews", "event_ids"):
        out = tmp_path / table
        assert _export(data_dir, out, "csv", "2026-Q3", "--table", table) == 2
        said = capsys.readouterr().out
        assert f"refused: '{table}' holds individual events or pseudonymous identifiers" in " ".join(said.split())
        assert "aggregates only" in " ".join(said.split())
        assert not out.exists()
    log = _audit(data_dir)
    assert log.height == 3 and set(log["outcome"]) == {"refused"}
    assert all("holds individual events" in d for d in log["detail"])


def test_audit_log_records_each_export(data_dir: Path, tmp_path: Path, capsys) -> None:
    assert _export(data_dir, tmp_path / "a", "parquet") == 0
    assert _export(data_dir, tmp_path / "b", "json", "2026-Q4") == 0
    assert _export(data_dir, tmp_path / "c", "csv", "2026-Q3", "--table", "spend") == 2
    log = _audit(data_dir)
    assert list(log["outcome"]) == ["ok", "ok", "refused"]
    assert list(log["period"]) == ["2026-Q3", "2026-Q4", "2026-Q3"]
    assert set(log["who"]) == {f"local:{getpass.getuser()}"} and log["token_id"].is_null().all()
    first = json.loads((tmp_path / "a" / "manifest.json").read_text())
    # the manifest holds nothing of the moment of export (re-exports are byte-identical): the audit
    # row names it by its SHA-256, and the release key that signed it
    assert "audit_id" not in first and log["signer"][0] == first["signature"]["key_id"]
    assert log["manifest_sha256"][0] == hashlib.sha256((tmp_path / "a" / "manifest.json").read_bytes()).hexdigest()
    assert log["rows_exported"][0] == sum(f["rows"] for f in first["files"])
    capsys.readouterr()
    assert main(["audit", "--data-dir", str(data_dir), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["audit_id"] for r in listed] == list(reversed(log["audit_id"].to_list()))


def test_export_needs_an_export_token_once_tokens_exist(data_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    store = TokenStore(data_dir / "tokens.json")
    reader, read_record = store.create("leadership-dashboard", ["read"])
    exporter, record = store.create("compliance", ["export"])
    monkeypatch.delenv("AUTOSCOPE_TOKEN", raising=False)
    assert _export(data_dir, tmp_path / "none") == 2
    assert "a token with the 'export' scope is required" in " ".join(capsys.readouterr().out.split())
    assert _export(data_dir, tmp_path / "read", "parquet", "2026-Q3", "--token", reader) == 2
    assert "this needs 'export'" in " ".join(capsys.readouterr().out.split())
    monkeypatch.setenv("AUTOSCOPE_TOKEN", exporter)
    assert _export(data_dir, tmp_path / "ok") == 0
    log = _audit(data_dir)
    assert list(log["outcome"]) == ["refused", "refused", "ok"]
    assert (log["who"][2], log["token_id"][2]) == ("compliance", record.token_id)
    assert log["token_id"][0] is None and log["who"][0].startswith("unauthenticated local:")  # no token
    # a valid token without the scope: the log names its holder and its id
    assert (log["who"][1], log["token_id"][1]) == ("leadership-dashboard", read_record.token_id)
    assert exporter not in str(log.to_dicts()) and record.sha256 not in str(log.to_dicts())  # never the token


def test_revoking_the_last_token_does_not_open_exports(data_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    store = TokenStore(data_dir / "tokens.json")
    exporter, record = store.create("compliance", ["export"])
    store.revoke(record.token_id)
    monkeypatch.delenv("AUTOSCOPE_TOKEN", raising=False)
    assert _export(data_dir, tmp_path / "none") == 2
    assert "a token with the 'export' scope is required" in " ".join(capsys.readouterr().out.split())
    assert _export(data_dir, tmp_path / "revoked", "parquet", "2026-Q3", "--token", exporter) == 2
    assert "unknown or revoked" in " ".join(capsys.readouterr().out.split())
    assert not (tmp_path / "none").exists() and not (tmp_path / "revoked").exists()


def test_exported_numbers_equal_the_indicator_table(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "filing"
    assert _export(data_dir, out, "parquet", "2026-Q4") == 0
    exported = pl.concat([pl.read_parquet(p) for p in sorted(out.glob("*.parquet"))], how="diagonal_relaxed")
    table = stored(data_dir / "warehouse.duckdb")
    wanted = periods_within(parse_period("2026-Q4"))
    expected = table.filter(
        pl.any_horizontal((pl.col("period_type") == t) & pl.col("period").is_in(labels) for t, labels in wanted.items())
    )
    key = ["indicator", "metric", "period_type", "period", "cut", "cut_value"]
    assert exported.height == expected.height
    joined = expected.join(exported, on=key, how="left", suffix="_exported")
    assert joined.filter(pl.col("suppressed_exported").is_null()).height == 0
    for column in ("value", "n_events", "n_actors", "ci_low", "ci_high", "suppressed", "k", "noise_scale", "note"):
        same = joined[column].eq_missing(joined[f"{column}_exported"])  # equal, or both null
        assert same.all(), (column, joined.filter(~same).select([*key, column, f"{column}_exported"]).head())
    assert joined["ci_low"].is_not_null().any() and joined["n_actors"].is_not_null().any()
    assert exported.filter(pl.col("suppressed"))["value"].is_null().all()
    assert not {"actor", "event_id", "reviewer"} & set(exported.columns)


def test_verify_refuses_entries_outside_the_set_or_without_checksums(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "filing"
    assert _export(data_dir, out, "csv") == 0
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    manifest = json.loads((out / "manifest.json").read_text())
    first = manifest["files"][0]
    manifest["files"] += [
        {"path": str(secret), "rows": 1, "sha256": hashlib.sha256(secret.read_bytes()).hexdigest()},
        {"path": "../secret.csv", "rows": 1, "sha256": hashlib.sha256(secret.read_bytes()).hexdigest()},
    ]
    del first["sha256"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    problems = verify(out)  # no KeyError, no reading outside the directory
    assert f"{first['path']}: the manifest gives no sha256 for it, so it cannot be checked" in problems
    assert (
        sum("refused: a manifest entry must name a file directly in the delivered directory" in p for p in problems)
        == 2
    )
    assert not any(first["path"] in p and "not in the manifest" in p for p in problems)
    assert main(["export", "verify", str(out)]) == 1


def test_json_export_refuses_a_value_json_cannot_carry(data_dir: Path, tmp_path: Path, capsys) -> None:
    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    conn.execute(
        "UPDATE indicator_values SET value = 'NaN'::DOUBLE WHERE indicator = 'spend' AND period = '2026-Q3'"
        " AND cut = 'lab' AND metric = 'share_compute'"
    )
    conn.close()
    assert _export(data_dir, tmp_path / "filing", "json") == 2
    said = " ".join(capsys.readouterr().out.split())
    assert "indicator_values: column 'value' holds nan (indicator spend, metric share_compute, period 2026-Q3" in said
    assert not (tmp_path / "filing").exists()
    log = _audit(data_dir)
    assert list(log["outcome"]) == ["refused"] and "JSON cannot represent" in log["detail"][0]


def test_manifest_counts_releases_not_ledger_rows(data_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from autoscope.pipelines.jobs import run

    conn = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    run(conn, epsilon=1.0, budget=100)  # one release: a ledger row per week, month and quarter
    ledger_rows = conn.execute(
        "SELECT count(*) FROM dp_ledger WHERE period_start < '2026-10-01' AND period_end > '2026-07-01'"
    ).fetchall()[0][0]
    conn.close()
    monkeypatch.chdir(tmp_path)
    assert _export(data_dir, Path("filing"), "parquet") == 0  # a relative --out
    privacy = json.loads((tmp_path / "filing" / "manifest.json").read_text())["privacy"]
    assert ledger_rows > 1 and privacy["releases"] == 1 and privacy["differential_privacy"]
    assert privacy["epsilon_used"] == 3.0  # ε = 1 on each event's week, month and quarter
    assert privacy["epsilon_remaining"] == 100 - privacy["epsilon_used"]
    assert _audit(data_dir)["out_dir"][0] == str(tmp_path / "filing")  # recorded absolute
