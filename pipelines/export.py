"""``autoscope export``: a period's aggregates as files plus ``manifest.json``; and ``verify``.

What leaves the warehouse: rows of ``indicator_values`` (one file per indicator, long format,
every column the table has — suppressed cells included and marked, their numbers blank) for
the period and the weeks and months inside it; optionally the aggregate bookkeeping tables
(:data:`AGGREGATE_TABLES`). A table that holds events or pseudonyms is refused with a clear
message, and the refusal is audited like every other attempt (:mod:`autoscope.pipelines.audit`).

The manifest (see ``docs/report.md``, "autoscope export") names the schema version, period,
the time the indicators were computed, software version, k, epsilon used and remaining (from
``dp_ledger`` when it exists), both suppression rules in words, the coverage of every period
inside the exported one (with activity, covered without activity, not covered; complete or
not), every file's rows and SHA-256, and every indicator's definition and its row in Table 1
of the CSET report. The lab's release key signs the manifest (``manifest.sig``,
:mod:`autoscope.pipelines.signing`). ``verify`` recomputes each file's SHA-256 and row count
and reports anything missing, changed or extra; given the release key's public key (received
separately) it checks the signature too, so a doctored file with a recomputed manifest fails.

Re-export gives the same bytes: the manifest holds nothing of the moment of export (no clock
time, no audit id — the audit log links each export to its manifest by the manifest's
SHA-256), rows are written in key order, and Ed25519 signatures are deterministic. Who exported
is in the manifest, so the same data exported by the same holder gives the same files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Protocol

import duckdb
import polars as pl

from autoscope import __version__
from autoscope.pipelines import audit, signing
from autoscope.pipelines.anonymize import REASONS
from autoscope.pipelines.coverage import ACTIVITY, NO_ACTIVITY, NOT_COVERED, Span, coverage
from autoscope.pipelines.indicators.registry import REGISTRY
from autoscope.pipelines.privacy import BudgetExceeded
from autoscope.pipelines.report.build import KTooLow, PeriodUnavailable, open_warehouse
from autoscope.pipelines.report.catalog import info_for, reader_definition, resolve
from autoscope.pipelines.report.data import Period, has_table, parse_period
from autoscope.pipelines.report.stored import needed_types, uncovered
from autoscope.warehouse.lake import LakeLocation, connect_lake, current_snapshot

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
FORMATS = ("parquet", "csv", "json")
#: tables an export may carry besides indicator_values: aggregates and their bookkeeping
AGGREGATE_TABLES = ("indicator_values", "indicator_periods", "dp_ledger")
#: columns that identify people or single events: a table with one is never exported
IDENTIFYING_COLUMNS = {
    "actor",
    "reviewer",
    "event_id",
    "task_id",
    "contribution_id",
    "experiment_id",
    "run_id",
    "who",
    "token_id",
    "sha256",
}


class ExportRefused(PermissionError):
    """The export was refused (raw table, access); the message says why."""


class ExportError(ValueError):
    """The request cannot be carried out (bad period or format, output not empty …)."""


@dataclasses.dataclass
class ExportResult:
    out_dir: Path
    manifest: dict
    audit_id: str
    signature: dict | None = None
    key_created: bool = False


#: how the manifest explains suppression, in words (``privacy.suppression``)
SUPPRESSION_RULES = {
    "column": "suppression_reason: why each suppressed row is suppressed (empty when released)",
    "k_threshold": (
        "A cell is released only when at least k distinct people contributed to it. A smaller cell "
        "is kept, marked suppressed = true, with its value, counts and interval left blank "
        "(suppression_reason too_few_people)."
    ),
    "complementary": (
        "A released total must not give a suppressed part back by subtraction. Where a lab-wide "
        "total and all but one of its parts (teams, rungs, categories; weeks of a month, months "
        "of a quarter; the AI-task count the task indicators share) would be shown, a further "
        "cell with at least k people is suppressed too, so that at least two parts are hidden "
        "and one of them has k people or more (suppression_reason protects_cut, protects_period "
        "or protects_shared_count)."
    ),
    "reasons": REASONS,
}


def period_coverage(conn: duckdb.DuckDBPyConnection, period: Period, values: pl.DataFrame | None) -> list[dict]:
    """The coverage of the exported period and every period inside it (see :mod:`autoscope.pipelines.coverage`)."""
    first = conn.execute("SELECT min(period) FROM indicator_values WHERE period_type = 'week'").fetchall()[0][0]
    frame = values if values is not None else _rows(conn, "indicator_values", period)
    span = Span.of(frame, first)
    if frame.height == 0:
        as_of = conn.execute("SELECT max(computed_at) FROM indicator_values").fetchall()[0][0]
        span = Span(span.since, as_of)
    return [
        coverage(ptype, label, frame, span).as_dict()
        for ptype, labels in periods_within(period).items()
        for label in labels
    ]


def _raw_tables() -> set[str]:
    from autoscope.warehouse.columns import TABLE_BY_TYPE

    return set(TABLE_BY_TYPE.values()) | {"event_ids", "ingest_rejects", "kafka_offsets", "audit_log"}


def check_table(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """Refuse ``table`` unless it is an aggregate table (raises :class:`ExportRefused`)."""
    if table in _raw_tables():
        raise ExportRefused(
            f"refused: {table!r} holds individual events or pseudonymous identifiers, and an export "
            f"carries aggregates only. Export the indicators instead (the default, table "
            f"indicator_values); exportable tables: {', '.join(AGGREGATE_TABLES)}"
        )
    if table not in AGGREGATE_TABLES:
        raise ExportRefused(
            f"refused: {table!r} is not one of the aggregate tables an export may carry ({', '.join(AGGREGATE_TABLES)})"
        )
    if not has_table(conn, table):
        raise ExportError(f"the warehouse has no table {table!r} (not computed yet?)")
    columns = {
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }
    identifying = sorted(columns & IDENTIFYING_COLUMNS)
    if identifying:
        raise ExportRefused(f"refused: {table!r} has identifying columns ({', '.join(identifying)})")


#: the period types inside an exported period that the export carries too
INNER_TYPES = {"quarter": ("month", "week"), "month": ("week",), "week": ()}


def periods_within(period: Period) -> dict[str, list[str]]:
    """period_type → the labels an export of ``period`` includes (itself, its months, its weeks)."""
    return {ptype: period.within(ptype) for ptype in needed_types(period, INNER_TYPES[period.period_type])}


def _rows(conn: duckdb.DuckDBPyConnection, table: str, period: Period) -> pl.DataFrame:
    columns = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
        ).fetchall()
    ]
    where, params = "", {}
    if "period" in columns and "period_type" in columns:
        clauses = []
        for index, (ptype, labels) in enumerate(periods_within(period).items()):
            clauses.append(f"(period_type = $t{index} AND list_contains($p{index}, period))")
            params[f"t{index}"], params[f"p{index}"] = ptype, labels
        where = " WHERE " + " OR ".join(clauses)
    order = [c for c in ("indicator", "period_type", "period", "cut", "cut_value", "metric") if c in columns]
    query = f"SELECT * FROM {table}{where}" + (f" ORDER BY {', '.join(order)}" if order else "")
    cursor = conn.cursor()
    try:
        return pl.from_arrow(cursor.sql(query, params=params).to_arrow_table())
    finally:
        cursor.close()


def _json_value(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def check_json_safe(frame: pl.DataFrame, name: str) -> None:
    """Refuse (:class:`ExportError`) a frame with NaN or infinity, which JSON cannot carry:
    Python would write them as bare ``NaN``/``Infinity``, and a strict reader rejects the file."""
    for column, dtype in frame.schema.items():
        if not dtype.is_float():
            continue
        bad = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).is_finite())
        if bad.height:
            row = bad.row(0, named=True)
            where = ", ".join(
                f"{c} {row[c]}" for c in ("indicator", "metric", "period", "cut", "cut_value") if c in row
            )
            raise ExportError(
                f"{name}: column {column!r} holds {row[column]} ({where}; {bad.height} row(s)), which "
                "JSON cannot represent: export as parquet or csv, or fix the stored rows"
            )


def write_frame(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        frame.write_parquet(path, statistics=False)
    elif fmt == "csv":
        frame.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.f")
    else:
        rows = [{k: _json_value(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]
        path.write_text(json.dumps(rows, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        return pl.read_parquet(path).height
    if fmt == "csv":
        return pl.read_csv(path, infer_schema_length=0).height
    return len(json.loads(path.read_text(encoding="utf-8")))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def epsilon_status(conn: duckdb.DuckDBPyConnection, period: Period) -> dict:
    """Epsilon spent on releases overlapping ``period`` and what the budget leaves, if DP is in use.

    ``epsilon_used`` is the ledger's own account (:func:`autoscope.pipelines.privacy.spent`: the
    most spent on any one instant's events, what the job checks its budget against); the budget
    is the one in force; ``releases`` counts releases, not ledger rows — one release writes a
    row per period it covers (the quarter, its months, its weeks).
    """
    from autoscope.pipelines.privacy import budget_in_force, spent

    start = dt.datetime.combine(period.start, dt.time())
    end = dt.datetime.combine(period.end, dt.time())
    releases = conn.execute(
        "SELECT count(DISTINCT release_id) FROM dp_ledger WHERE period_start < ? AND period_end > ?", [end, start]
    ).fetchall()[0][0]
    budget = budget_in_force(conn)
    used = spent(conn, start, end)
    if not releases:
        return {
            "differential_privacy": False,
            "epsilon_used": 0.0,
            "epsilon_remaining": None,
            "note": "no noisy release recorded for this period: k-anonymity only",
        }
    return {
        "differential_privacy": True,
        "epsilon_used": float(used),
        "epsilon_budget": float(budget),
        "epsilon_remaining": float(budget) - float(used),
        "releases": int(releases),
    }


@contextlib.contextmanager
def _open_for_export(data_dir: Path, lake: LakeLocation | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse at its newest state, for writing (the audit row, the indicators computed first)."""
    if lake is None:
        with open_warehouse(data_dir / "warehouse.duckdb", write=True) as conn:
            yield conn
        return
    conn = connect_lake(lake)
    try:
        yield conn
    finally:
        conn.close()


class ComputeFirst(Protocol):
    """Stores the indicators of ``period`` and the ``period_types`` inside it when they are not
    (:func:`autoscope.pipelines.compute_first.ensure_stored`); True if it computed."""

    def __call__(
        self, conn: duckdb.DuckDBPyConnection, period: Period, period_types: Sequence[str], *, k: int | None = None
    ) -> bool: ...


def export_period(
    data_dir: Path,
    period_label: str,
    fmt: str,
    out_dir: Path,
    *,
    token: str | None = None,
    tables: list[str] | tuple[str, ...] = ("indicator_values",),
    k: int | None = None,
    compute_first: ComputeFirst | None = None,
    lake: LakeLocation | None = None,
    snapshot: int | None = None,
) -> ExportResult:
    """Export ``period_label`` from ``<data_dir>/warehouse.duckdb`` into ``out_dir``; audited.

    The export reads the stored indicators and never runs the indicator job itself (reads never
    write): ``compute_first``, given by the command, is called once the request is authorized
    and its output directory checked, so that what it refuses is audited like any refusal.
    Without it, a period whose indicators are not all stored is refused.

    ``lake``: export from that DuckLake warehouse instead. The release is read from one lake
    snapshot — the one just after ``compute_first``, or ``snapshot`` when given — and the
    manifest's ``warehouse`` records it, so ``autoscope export --snapshot N`` re-derives the same
    files later, however many events and runs came after (with ``snapshot`` nothing is computed:
    the release is read as it was). The audit row is written to the lake's newest state.
    """
    from autoscope.warehouse.schema import migrate, schema_version

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    tables = list(dict.fromkeys(tables or ["indicator_values"]))
    if fmt not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    period = parse_period(period_label)  # PeriodError (a ValueError) names the accepted forms
    if snapshot is not None and lake is None:
        raise ExportError("--snapshot reads a lake snapshot: it needs the ducklake warehouse backend ([warehouse])")
    with _open_for_export(data_dir, lake) as conn:
        migrate(conn)
        audit_id = audit.new_audit_id()
        common = dict(
            audit_id=audit_id, period=period.label, format=fmt, tables=tables, out_dir=str(out_dir.resolve())
        )  # where the files went, whatever the caller's cwd
        try:
            actor = audit.authorize(data_dir, token, "export")
        except audit.AccessDenied as exc:
            actor = exc.actor or audit.Actor(f"unauthenticated {audit.Actor.local().who}")
            audit.record(conn, outcome="refused", actor=actor, detail=str(exc), **common)
            raise ExportRefused(f"refused: {exc}") from None
        try:
            for table in tables:
                check_table(conn, table)
            if out_dir.exists() and not out_dir.is_dir():
                raise ExportError(
                    f"--out {out_dir} is a file, not a directory: an export writes one file per "
                    "indicator plus manifest.json and manifest.sig, so give a new or empty directory"
                )
            if out_dir.exists() and any(out_dir.iterdir()):
                raise ExportError(f"{out_dir} is not empty: export into a new or empty directory")
            if snapshot is not None:
                pass  # a release re-derived as it was at that snapshot: nothing is computed now
            elif compute_first is not None:
                compute_first(conn, period, list(periods_within(period)), k=k)
            elif uncovered(conn, period, list(periods_within(period))):
                raise PeriodUnavailable(
                    f"refused: the indicators of {period.label} are not all stored "
                    "(`autoscope indicators` computes them)"
                )
        except (ExportRefused, ExportError) as exc:
            audit.record(conn, outcome="refused", actor=actor, detail=str(exc), **common)
            raise
        except (PeriodUnavailable, BudgetExceeded, KTooLow) as exc:
            reason = str(exc) if not isinstance(exc, BudgetExceeded) else f"refused by the privacy budget: {exc}"
            audit.record(conn, outcome="refused", actor=actor, detail=reason, **common)
            raise ExportRefused(reason) from None
        release_snapshot = None
        reader = conn
        if lake is not None:  # the release is what one snapshot holds: events and indicators alike
            release_snapshot = snapshot if snapshot is not None else current_snapshot(conn)
            try:
                reader = connect_lake(lake, snapshot=release_snapshot)
            except duckdb.Error as exc:
                reason = f"lake snapshot {release_snapshot} cannot be read: {exc}"
                audit.record(conn, outcome="refused", actor=actor, detail=reason, **common)
                raise ExportRefused(f"refused: {reason}") from None
        try:
            if snapshot is not None and uncovered(reader, period, list(periods_within(period))):
                reason = f"refused: the indicators of {period.label} are not all stored at lake snapshot {snapshot}"
                audit.record(conn, outcome="refused", actor=actor, detail=reason, **common)
                raise ExportRefused(reason)
            values = _rows(reader, "indicator_values", period) if "indicator_values" in tables else None
            others = {table: _rows(reader, table, period) for table in tables if table != "indicator_values"}
            periods = period_coverage(reader, period, values)
            privacy = epsilon_status(reader, period)
            schema_at_release = schema_version(reader)
        finally:
            if reader is not conn:
                reader.close()
        warehouse = (
            {"backend": "file"}
            if lake is None
            else {
                "backend": "ducklake",
                "snapshot": release_snapshot,
                "data_path": lake.data_path,
                "rederive": f"autoscope export --period {period.label} --snapshot {release_snapshot}",
            }
        )
        if fmt == "json":
            try:
                for table, frame in [("indicator_values", values), *others.items()]:
                    if frame is not None:
                        check_json_safe(frame, table)
            except ExportError as exc:
                audit.record(conn, outcome="refused", actor=actor, detail=str(exc), **common)
                raise
        out_dir.mkdir(parents=True, exist_ok=True)
        files, indicators = [], []
        ext = fmt
        present = set(values["indicator"].unique().to_list()) if values is not None and values.height else set()
        known = [resolve(info, present) for info in REGISTRY]
        for stored in [n for n in known if n] + sorted(present - {n for n in known if n}):
            part = values.filter(pl.col("indicator") == stored)
            name = f"{stored}.{ext}"
            write_frame(part, out_dir / name, fmt)
            files.append(
                {
                    "path": name,
                    "table": "indicator_values",
                    "indicator": stored,
                    "rows": part.height,
                    "suppressed_rows": int(part["suppressed"].sum()),
                    "bytes": (out_dir / name).stat().st_size,
                    "sha256": sha256_of(out_dir / name),
                }
            )
        for info in REGISTRY:
            stored = resolve(info, present)
            indicators.append(
                {
                    "indicator": stored or info.names[0],
                    "title": info.title,
                    "table1_row": info.table1_row,
                    "computed": stored is not None,
                    "file": f"{stored}.{ext}" if stored else None,
                    "metrics": sorted(values.filter(pl.col("indicator") == stored)["metric"].unique().to_list())
                    if stored
                    else [],
                    "definition": reader_definition(stored or info.names[0]),
                }
            )
        for stored in sorted(present - {n for n in known if n}):
            indicators.append(
                {
                    "indicator": stored,
                    "title": info_for(stored).title,
                    "table1_row": None,
                    "computed": True,
                    "file": f"{stored}.{ext}",
                    "metrics": sorted(values.filter(pl.col("indicator") == stored)["metric"].unique().to_list()),
                    "definition": reader_definition(stored),
                }
            )
        for table, frame in sorted(others.items()):
            name = f"{table}.{ext}"
            write_frame(frame, out_dir / name, fmt)
            files.append(
                {
                    "path": name,
                    "table": table,
                    "indicator": None,
                    "rows": frame.height,
                    "bytes": (out_dir / name).stat().st_size,
                    "sha256": sha256_of(out_dir / name),
                }
            )
        k_values = sorted({int(x) for x in values["k"].to_list()}) if values is not None and values.height else []
        computed_at = values["computed_at"].max() if values is not None and values.height else None
        key, key_created = signing.load_or_create(data_dir)

        def listed(status: str) -> dict[str, list[str]]:
            return {
                ptype: [p["period"] for p in periods if p["period_type"] == ptype and p["status"] == status]
                for ptype in periods_within(period)
            }

        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "software": {"name": "autoscope", "version": __version__},
            "warehouse_schema_version": schema_at_release,
            "warehouse": warehouse,
            "indicators_computed_at": None if computed_at is None else computed_at.isoformat(timespec="seconds") + "Z",
            "period": period.label,
            "period_type": period.period_type,
            "period_complete": next(p["complete"] for p in periods if p["period"] == period.label),
            "periods_included": listed(ACTIVITY),
            "periods_covered_without_activity": listed(NO_ACTIVITY),
            "periods_not_covered": listed(NOT_COVERED),
            "coverage": periods,
            "coverage_rules": (
                "A period is complete when it ended before the indicators were computed "
                "(indicators_computed_at). periods_included have rows; periods_covered_without_activity fall "
                "within the time Autoscope was collecting (from the first week with data to "
                "indicators_computed_at) but recorded nothing; periods_not_covered fall outside it (before "
                "collection began, or not begun when the indicators were computed), so nothing is known about "
                "them. weeks_with_data counts the ISO weeks of a period with rows."
            ),
            "format": fmt,
            "privacy": {
                "k": k_values[0] if len(k_values) == 1 else k_values,
                "suppressed_cells_are": "present with suppressed = true and value, n_events, n_actors blank",
                "suppression": SUPPRESSION_RULES,
                **privacy,
            },
            "source": "table indicator_values (long format: indicator, metric, period_type, period, cut, "
            "cut_value, value, n_events, n_actors, suppressed, k, computed_at, …)",
            "table1": "CSET, When AI Builds AI (2025), Table 1: Signs of how automated AI R&D is "
            "progressing inside AI companies",
            "exported_by": {"who": actor.who, "token_id": actor.token_id},
            "signature": {
                "file": signing.SIGNATURE_FILE,
                "algorithm": signing.ALGORITHM,
                "key_id": key.key_id,
                "signer": key.signer,
                "check": "autoscope export verify DIR --public-key release-public-key.pem",
            },
            "files": files,
            "indicators": indicators,
        }
        manifest_path = out_dir / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        signature = signing.sign_manifest(out_dir, key, MANIFEST)
        audit.record(
            conn,
            outcome="ok",
            actor=actor,
            files=len(files),
            rows_exported=sum(f["rows"] for f in files),
            manifest_sha256=sha256_of(manifest_path),
            signer=key.key_id,
            **common,
        )
    return ExportResult(out_dir, manifest, audit_id, signature, key_created)


def _entry_problem(entry: object, index: int) -> tuple[str | None, str | None]:
    """(the entry's file name if it is a safe one, why it cannot be checked — None when it can).

    A manifest is input from outside: an entry must name a plain file *inside* the delivered
    directory (no absolute path, no ``..``, no subdirectory), so that verifying a set never reads
    files elsewhere on the machine; and it must carry the fields verify checks.
    """
    if not isinstance(entry, dict):
        return None, f"files[{index}]: not an object"
    name = entry.get("path")
    if not isinstance(name, str) or not name:
        return None, f"files[{index}]: no path"
    pure = PurePosixPath(name)
    if pure.is_absolute() or PureWindowsPath(name).is_absolute() or len(pure.parts) != 1 or name in (".", ".."):
        return None, (
            f"{name}: refused: a manifest entry must name a file directly in the delivered directory "
            "(no absolute path, no '..', no subdirectory)"
        )
    for field, kind in (("sha256", str), ("rows", int)):
        if not isinstance(entry.get(field), kind) or isinstance(entry.get(field), bool):
            return name, f"{name}: the manifest gives no {field} for it, so it cannot be checked"
    return name, None


def verify(out_dir: Path, public_key: Path | None = None) -> list[str]:
    """Problems found checking ``out_dir`` against its manifest; an empty list means it verifies.

    With ``public_key`` (a PEM file of the lab's release key, received separately), the
    manifest's signature is checked first: a file changed together with a recomputed manifest
    then fails. Without it, only the files against the manifest beside them are checked.
    """
    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST
    if not manifest_path.exists():
        return [f"no {MANIFEST} in {out_dir}"]
    signature_problems = (
        signing.check_signature(out_dir, signing.read_public_key(public_key), MANIFEST)
        if public_key is not None
        else []
    )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = manifest["files"]
        fmt = manifest["format"]
    except (ValueError, KeyError, TypeError) as exc:
        return [*signature_problems, f"{MANIFEST} is not a valid manifest: {exc}"]
    if not isinstance(entries, list) or fmt not in FORMATS:
        return [
            *signature_problems,
            f"{MANIFEST} is not a valid manifest: 'files' must be a list and 'format' one of {', '.join(FORMATS)}",
        ]
    problems = list(signature_problems)
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        problems.append(f"manifest_version {manifest.get('manifest_version')!r} is not {MANIFEST_VERSION}")
    listed = set()
    for index, entry in enumerate(entries):
        name, problem = _entry_problem(entry, index)
        if name:
            listed.add(name)
        if problem:
            problems.append(problem)
            continue
        path = out_dir / name
        if path.is_symlink():  # it could point anywhere on the machine
            problems.append(f"{name}: refused: a symbolic link, not a delivered file")
            continue
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        digest = sha256_of(path)
        if digest != entry["sha256"]:
            problems.append(f"{name}: SHA-256 {digest} differs from the manifest's {entry['sha256']}")
            continue
        try:
            rows = count_rows(path, fmt)
        except Exception as exc:  # unreadable as its format
            problems.append(f"{name}: not readable as {fmt}: {exc}")
            continue
        if rows != entry["rows"]:
            problems.append(f"{name}: {rows} rows, the manifest says {entry['rows']}")
    extra = sorted(
        p.name for p in out_dir.iterdir() if p.name not in (MANIFEST, signing.SIGNATURE_FILE) and p.name not in listed
    )
    problems.extend(f"{name}: not in the manifest" for name in extra)
    return problems
