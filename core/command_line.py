"""What every room's command handlers share (the one CLI convention, docs/design.md).

``autoscope/cli.py`` parses the command line and dispatches; each subcommand's handler lives in
the room that does its work (``collector/commands.py``, ``pipelines/commands.py``, …) as
``handler(args: argparse.Namespace) -> int``: 0 done, 1 failed, 2 refused. A handler refuses a
request by raising :class:`UserError`; the CLI prints its one line and exits with 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path


class UserError(Exception):
    """A request the command refuses, with the one line that says why (exit code 2)."""


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
