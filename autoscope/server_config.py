"""The collector's settings file: the ``[otlp]`` section of ``autoscope.toml``.

What labs set differently about OTLP intake — which attribute names the actor, the team and the
tool, the task fields third-party telemetry does not carry, whether Claude Code's usage counts
from its events or its metrics — is :class:`~autoscope.collector.mapping.settings.OtlpSettings`,
whose docstrings list every key. Example::

    [otlp]
    claude_code_usage_from = "events"

    [otlp.identity]
    actor_attributes = ["user.email", "enduser.id"]
    team_attributes = ["department"]

    [otlp.identity.people]          # the lab's identity map: installation/user id → person
    "2f85af5d-ac18-4ff0-872d-575136f28768" = "ada@lab.example"

    [otlp.task_defaults]
    human_minutes = 20

The ``[warehouse]`` section selects the warehouse backend (:func:`load_warehouse`); without it
the warehouse is the DuckDB file ``<data-dir>/warehouse.duckdb``::

    [warehouse]
    backend = "ducklake"                                   # "file" (the default) or "ducklake"
    catalog = "postgres:host=db.lab port=5432 user=autoscope dbname=autoscope_lake"
    data_path = "/srv/autoscope/lake"                      # or "s3://bucket/prefix/" (docs/design.md)

Each key can be set, or overridden, by the environment: ``AUTOSCOPE_WAREHOUSE_BACKEND``,
``AUTOSCOPE_WAREHOUSE_CATALOG``, ``AUTOSCOPE_WAREHOUSE_DATA_PATH`` (a password belongs in
PostgreSQL's own ``PGPASSWORD`` or ``~/.pgpass``, which libpq reads, not in this file).

The file is ``--config``, else ``$AUTOSCOPE_CONFIG``, else ``./autoscope.toml`` if it exists —
the same file the hooks read their defaults from (its top level and ``[agents]``). The gRPC
port and host come from the command line, not from here; ``grpc_workers`` (threads serving
OTLP/gRPC, :class:`~autoscope.collector.receivers.grpc_settings.GrpcSettings`) may be set in
``[otlp]`` too, read by :func:`load_grpc_workers`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.receivers.grpc_settings import GrpcSettings
from autoscope.warehouse.lake import LakeLocation

CONFIG_ENV = "AUTOSCOPE_CONFIG"
DEFAULT_FILE = Path("autoscope.toml")


class ConfigError(ValueError):
    """The settings file cannot be used; the message names the file and the key."""


def config_path(given: str | os.PathLike[str] | None = None) -> Path | None:
    """The settings file in force, or None when there is none."""
    if given:
        return Path(given)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return DEFAULT_FILE if DEFAULT_FILE.exists() else None


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _otlp_section(path: Path) -> dict:
    section = _read(path).get("otlp", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [otlp] must be a table")
    for reserved in ("grpc_port", "grpc_host"):
        if reserved in section:
            raise ConfigError(f"{path}: otlp.{reserved} is set on the command line (--grpc-port, --host)")
    return section


def load_otlp_settings(path: Path | None) -> OtlpSettings:
    """``OtlpSettings`` from the file's ``[otlp]`` section (the defaults without a file or section).

    Raises :class:`ConfigError` for a missing or unreadable file, bad TOML, an unknown key or a
    bad value — a collector must not start with a mapping its operator did not mean.
    """
    if path is None:
        return OtlpSettings()
    section = {key: value for key, value in _otlp_section(path).items() if key != "grpc_workers"}
    try:
        return OtlpSettings.from_mapping(section)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_grpc_workers(path: Path | None) -> int:
    """``grpc_workers`` of the file's ``[otlp]`` section: threads serving OTLP/gRPC (8 unless set)."""
    if path is None:
        return GrpcSettings.workers
    workers = _otlp_section(path).get("grpc_workers", GrpcSettings.workers)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"{path}: otlp.grpc_workers must be a whole number of threads, at least 1; got {workers!r}")
    return workers


WAREHOUSE_BACKENDS = ("file", "ducklake")
_WAREHOUSE_KEYS = ("backend", "catalog", "data_path")


def load_warehouse(path: Path | None) -> LakeLocation | None:
    """The lake to use, from ``[warehouse]`` and ``AUTOSCOPE_WAREHOUSE_*``; None for the DuckDB file.

    Raises :class:`ConfigError` naming the key: an unknown key or backend, or a ``ducklake``
    backend without its ``catalog`` or ``data_path`` (a lake half-configured must not quietly
    become the file).
    """
    section: dict = {}
    where = "environment"
    if path is not None:
        section = _read(path).get("warehouse", {})
        where = str(path)
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [warehouse] must be a table")
        unknown = sorted(set(section) - set(_WAREHOUSE_KEYS))
        if unknown:
            raise ConfigError(f"{path}: warehouse.{unknown[0]}: unknown key; the keys are {', '.join(_WAREHOUSE_KEYS)}")
    values = {key: section.get(key) for key in _WAREHOUSE_KEYS}
    for key in _WAREHOUSE_KEYS:
        env = f"AUTOSCOPE_WAREHOUSE_{key.upper()}"
        if os.environ.get(env):
            values[key], where = os.environ[env], f"{where} and {env}" if path else env
    for key, value in values.items():
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: warehouse.{key} must be a string; got {value!r}")
    backend = values["backend"] or "file"
    if backend not in WAREHOUSE_BACKENDS:
        raise ConfigError(f"{where}: warehouse.backend must be one of {', '.join(WAREHOUSE_BACKENDS)}; got {backend!r}")
    if backend == "file":
        return None
    for key in ("catalog", "data_path"):
        if not values[key]:
            raise ConfigError(
                f'{where}: warehouse.{key} is required with backend = "ducklake"'
                + (
                    " (postgres:<libpq DSN>, or a catalog file path)"
                    if key == "catalog"
                    else " (a folder or s3:// prefix)"
                )
            )
    return LakeLocation(catalog=values["catalog"], data_path=values["data_path"])
