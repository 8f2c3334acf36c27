"""The audit log of releases: who exported what, when, with which token (table ``audit_log``).

Every ``autoscope export`` attempt writes one row — a refused one too (a raw table asked for, a
token without the ``export`` scope), with the reason — in the warehouse, in the same file as
the numbers it released. Rows are only inserted, never changed. ``autoscope audit`` lists them.

*Signer*: the id of the release key that signed the manifest (:mod:`autoscope.pipelines.signing`),
with the manifest's SHA-256: together they say which signed file set an export produced.

*Who*: the token's name and id when a valid token was presented (also when it is refused for
lacking the scope); without tokens (a local operator
on a warehouse that has no tokens configured) ``local:<OS user>`` and no token id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import secrets

import duckdb
import polars as pl

COLUMNS = [
    "audit_id",
    "occurred_at",
    "action",
    "outcome",
    "who",
    "token_id",
    "period",
    "format",
    "tables",
    "out_dir",
    "files",
    "rows_exported",
    "manifest_sha256",
    "signer",
    "detail",
]


@dataclasses.dataclass
class Actor:
    """Who is acting: a token's record, or the local operator."""

    who: str
    token_id: str | None = None

    @classmethod
    def local(cls) -> Actor:
        try:
            user = getpass.getuser()
        except Exception:  # no user name in this environment
            user = "unknown"
        return cls(f"local:{user}")


def new_audit_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


def record(
    conn: duckdb.DuckDBPyConnection,
    *,
    audit_id: str | None = None,
    action: str = "export",
    outcome: str,
    actor: Actor,
    period: str | None = None,
    format: str | None = None,
    tables: list[str] | None = None,
    out_dir: str | None = None,
    files: int | None = None,
    rows_exported: int | None = None,
    manifest_sha256: str | None = None,
    signer: str | None = None,
    detail: str | None = None,
) -> str:
    """Insert one audit row; returns its id."""
    audit_id = audit_id or new_audit_id()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    conn.execute(
        f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [
            audit_id,
            now,
            action,
            outcome,
            actor.who,
            actor.token_id,
            period,
            format,
            tables or [],
            out_dir,
            files,
            rows_exported,
            manifest_sha256,
            signer,
            detail,
        ],
    )
    return audit_id


def entries(conn: duckdb.DuckDBPyConnection, limit: int | None = None) -> pl.DataFrame:
    """Audit rows, newest first (``signer`` is empty on a warehouse not yet migrated to 008)."""
    present = {
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'audit_log'"
        ).fetchall()
    }
    columns = [c if c in present else f"NULL::VARCHAR AS {c}" for c in COLUMNS]
    query = f"SELECT {', '.join(columns)} FROM audit_log ORDER BY occurred_at DESC, audit_id DESC"
    if limit:
        query += f" LIMIT {int(limit)}"
    cursor = conn.cursor()
    try:
        return pl.from_arrow(cursor.sql(query).to_arrow_table())
    finally:
        cursor.close()


class AccessDenied(PermissionError):
    """A token is missing, unknown, revoked, or lacks the scope (the message says which).

    ``actor`` is the token's holder when a valid token was presented but lacks the scope: the
    audit log then names who tried, not an anonymous caller.
    """

    def __init__(self, message: str, actor: Actor | None = None) -> None:
        super().__init__(message)
        self.actor = actor


def authorize(data_dir, token: str | None, scope: str) -> Actor:
    """Who is acting, after checking ``token`` for ``scope`` against ``<data-dir>/tokens.json``.

    Roles (issue 7): exporting needs a token with the ``export`` scope, the dashboard ``read``,
    *once any token has been created* in the data directory (revoked ones included, as for the
    collector: revoking the last token must not open the door). A data directory where no
    token was ever made is a single-operator setup (the person who owns the files could read the
    warehouse directly anyway): the local operator may then act without a token and is recorded
    as ``local:<OS user>``. A token that is presented is always checked, even then. The
    decision is :func:`autoscope.core.access.authorize`'s; this words it for the CLI.
    """
    from pathlib import Path

    from autoscope.core.access import Denial, Denied
    from autoscope.core.access import authorize as decide
    from autoscope.core.tokens import TokenStore

    decision = decide(TokenStore(Path(data_dir) / "tokens.json"), token, scope, check_presented=True)
    if isinstance(decision, Denied):
        if decision.denial is Denial.MISSING:
            raise AccessDenied(
                f"a token with the {scope!r} scope is required (tokens are configured for this data "
                f"directory): pass --token or set AUTOSCOPE_TOKEN; make one with "
                f"`autoscope token create --name NAME --scope {scope}`"
            )
        if decision.denial is Denial.UNKNOWN:
            raise AccessDenied("the token is unknown or revoked")
        found = decision.record
        assert found is not None
        raise AccessDenied(
            f"token {found.token_id} ({found.name}) has scopes {', '.join(found.scopes)}; this needs {scope!r}",
            actor=Actor(found.name, found.token_id),
        )
    if decision.record is None:
        return Actor.local()
    return Actor(decision.record.name, decision.record.token_id)
