"""What every room's command handlers share (the one CLI convention, docs/design.md).

``autoscope/cli.py`` parses the command line and dispatches; each subcommand's handler lives in
the room that does its work (``collector/commands.py``, ``pipelines/commands.py``, …) as
``handler(args: argparse.Namespace) -> int``: 0 done, 1 failed, 2 refused. A handler refuses a
request by raising :class:`UserError`; the CLI prints its one line and exits with 2.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

#: the settings file: ``--config``, else this variable, else ./autoscope.toml if it exists
CONFIG_ENV = "AUTOSCOPE_CONFIG"
DEFAULT_CONFIG = Path("autoscope.toml")


class UserError(Exception):
    """A request the command refuses, with the one line that says why (exit code 2)."""


def config_file(given: str | os.PathLike[str] | None = None) -> Path | None:
    """The settings file in force (``--config``, ``$AUTOSCOPE_CONFIG``, ./autoscope.toml), or
    None when there is none; every room's commands read the same file."""
    if given:
        return Path(given)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def data_dir_of(args: argparse.Namespace) -> Path:
    """``--data-dir`` (the CLI has filled in its default), absolute."""
    return Path(args.data_dir).resolve()


def existing_data_dir(args: argparse.Namespace) -> Path:
    """The data directory for a command that only reads or changes what is there: it must
    exist, so a typo in ``--data-dir`` is an error rather than a fresh, empty directory."""
    path = data_dir_of(args)
    if not path.is_dir():
        raise UserError(
            f"no data directory at {path} (--data-dir, or $AUTOSCOPE_DATA_DIR; "
            "`autoscope up` or `autoscope demo` makes one)"
        )
    return path
