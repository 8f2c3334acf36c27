"""Where the hooks' settings come from, in this order: the keyword arguments of
``configure``, environment variables, an ``autoscope.toml``, then defaults.

The file is ``$AUTOSCOPE_CONFIG`` or ``./autoscope.toml``; its keys are the names of
:class:`Settings` fields, at the top level or in an ``[agents]`` table. A bad value anywhere
is logged and replaced by the default: configuring the hooks must never crash the tool.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

logger = logging.getLogger("autoscope.agents")

DEFAULT_COLLECTOR_URL = "http://127.0.0.1:4318"

#: settings that may also come from the environment
ENV_VARS = {
    "collector_url": "AUTOSCOPE_COLLECTOR_URL",
    "token": "AUTOSCOPE_TOKEN",
    "team": "AUTOSCOPE_TEAM",
    "tool": "AUTOSCOPE_TOOL",
    "tool_version": "AUTOSCOPE_TOOL_VERSION",
    "actor": "AUTOSCOPE_ACTOR",
    "spool_dir": "AUTOSCOPE_SPOOL_DIR",
    "transport": "AUTOSCOPE_TRANSPORT",
    "otel_provider": "AUTOSCOPE_OTEL_PROVIDER",
    "task_spans": "AUTOSCOPE_TASK_SPANS",
}

TRANSPORTS = ("otlp", "native")
OTEL_PROVIDERS = ("own", "global")
CONFIG_FILE_VAR = "AUTOSCOPE_CONFIG"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the hooks and their exporter need; immutable once made."""

    collector_url: str = DEFAULT_COLLECTOR_URL
    token: str | None = None
    team: str = "unassigned"
    tool: str = "python"
    tool_version: str = "unknown"
    actor: str = "unknown"
    #: ``otlp``: OpenTelemetry log records, OTLP/HTTP to ``{collector_url}/v1/logs``;
    #: ``native``: JSON batches to ``{collector_url}/v1/events`` (cheaper; the demo uses it)
    transport: str = "otlp"
    #: ``own``: events go through the hooks' own queue, spool and exporter (no SDK
    #: LoggerProvider of ours; the tool's OpenTelemetry setup is never touched); ``global``: events are
    #: emitted as log records into the tool's global LoggerProvider and its pipeline exports them
    otel_provider: str = "own"
    #: tasks also as spans (``autoscope.task <category>``) when the tool has a tracer provider
    task_spans: bool = True
    #: events waiting for the exporter; past it new events are dropped and counted
    max_queue_size: int = 4096
    #: events per POST
    max_batch_size: int = 512
    #: how long the exporter waits to fill a batch
    schedule_delay_s: float = 1.0
    #: socket timeout of one POST
    export_timeout_s: float = 10.0
    #: how long the collector may stay unreachable before pending events go to the spool
    spool_after_s: float = 5.0
    spool_dir: Path = Path("~/.cache/autoscope/spool").expanduser()
    spool_max_bytes: int = 50 * 1024 * 1024
    #: the longest ``Retry-After`` the exporter honours
    max_retry_after_s: float = 30.0
    #: how long ``shutdown`` (and so interpreter exit) waits for pending events
    shutdown_timeout_s: float = 5.0


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_CHOICES = {"transport": TRANSPORTS, "otel_provider": OTEL_PROVIDERS}


def _read_file() -> dict[str, Any]:
    data = read_config_file()
    section = data.get("agents", data)
    return section if isinstance(section, dict) else {}


def read_config_file() -> dict[str, Any]:
    """The whole ``autoscope.toml`` (``$AUTOSCOPE_CONFIG``), or {} if absent or unreadable."""
    path = Path(os.environ.get(CONFIG_FILE_VAR) or "autoscope.toml")
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logger.warning("autoscope: ignoring config file %s: %s", path, exc)
        return {}
    return data


def _coerce(name: str, value: Any) -> Any:
    """``value`` as the type of the setting ``name``; raises ValueError/TypeError if it is not."""
    default = _FIELDS[name].default
    if name == "token":
        return str(value) if value else None
    if name in _CHOICES:
        text = str(value).strip().lower()
        if text not in _CHOICES[name]:
            raise ValueError(f"allowed: {', '.join(_CHOICES[name])}")
        return text
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError("must be true or false")
    if isinstance(default, Path):
        return Path(value).expanduser()
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        text = str(value).strip()
        if not text:
            raise ValueError("empty")
        return text
    number = type(default)(value)
    if number <= 0:
        raise ValueError("must be positive")
    return number


def _tool_name() -> str:
    """The running program's name as a label, e.g. ``train`` for ``python train.py``."""
    stem = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return re.sub(r"[^A-Za-z0-9_.:/+\-]", "_", stem)[:128] or "python"


def _git_config_files(start: Path) -> list[Path]:
    """Git's config files for ``start``, strongest first: the repository's, the user's
    (``$GIT_CONFIG_GLOBAL`` or ``~/.gitconfig``, then ``$XDG_CONFIG_HOME/git/config``), the system's."""
    files: list[Path] = []
    for directory in (start, *start.parents):
        if (directory / ".git" / "config").is_file():
            files.append(directory / ".git" / "config")
            break
    if os.environ.get("GIT_CONFIG_GLOBAL"):
        files.append(Path(os.environ["GIT_CONFIG_GLOBAL"]).expanduser())
    else:
        files.append(Path.home() / ".gitconfig")
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        files.append(Path(xdg) / "git" / "config")
    files.append(Path(os.environ.get("GIT_CONFIG_SYSTEM", "/etc/gitconfig")))
    return files


def _git_user_email(start: Path) -> str | None:
    """``user.email`` as git would find it, read from its config files rather than by running
    ``git config``: the first hook call runs on the tool's thread, and a subprocess there costs
    milliseconds (seconds on a slow or hung file system). ``include`` directives are not followed."""
    pattern = re.compile(r"^\s*email\s*=\s*(.+?)\s*$", re.I)
    for path in _git_config_files(start):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        section = ""
        for line in lines:
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped[1 : stripped.find("]")].strip().lower()
            elif section == "user" and (match := pattern.match(line)):
                value = match.group(1).split(" #")[0].split(" ;")[0].strip().strip('"')
                if value:
                    return value
    return None


def _default_actor() -> str:
    """git's ``user.email``, else the login name, else ``unknown``."""
    try:
        email = _git_user_email(Path.cwd())
        if email:
            return email
    except Exception:  # no cwd, unreadable home: fall back
        pass
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # getpass raises OSError or KeyError when there is no login name
        return "unknown"


def configured_token() -> str | None:
    """The token the environment or ``autoscope.toml`` give now (not ``configure()``'s): the
    exporter re-reads it while the collector refuses its events for want of a token, so a
    token set later (in the file, say) applies without restarting the tool."""
    for layer in ({"token": os.environ.get(ENV_VARS["token"])}, _read_file()):
        value = layer.get("token")
        if value:
            return _coerce("token", value)
    return None


def load_settings(**overrides: Any) -> Settings:
    """Settings from ``overrides`` (None means unset), the environment, the file, defaults."""
    unknown = set(overrides) - set(_FIELDS)
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    layers: list[dict[str, Any]] = [
        {k: v for k, v in overrides.items() if v is not None},
        {k: os.environ[var] for k, var in ENV_VARS.items() if os.environ.get(var)},
        _read_file(),
    ]
    values: dict[str, Any] = {}
    for name in _FIELDS:
        for layer in layers:
            if name not in layer:
                continue
            try:
                values[name] = _coerce(name, layer[name])
                break
            except (TypeError, ValueError) as exc:
                logger.warning("autoscope: ignoring setting %s=%r: %s", name, layer[name], exc)
    values.setdefault("tool", _tool_name())
    if "actor" not in values:
        values["actor"] = _default_actor()
    return Settings(**values)
