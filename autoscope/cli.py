"""The ``autoscope`` command: one entry point, one subcommand per job.

This file only parses arguments and dispatches (the one CLI convention,
:mod:`autoscope.core.command_line`): each leaf command names its handler as ``"module:function"``
in the room that does its work (``collector/commands.py``, ``pipelines/commands.py``,
``pipelines/report/commands.py``, ``agents/shell.py``, the roof's ``autoscope/commands.py`` and
``autoscope/status.py``), and :func:`handler_of` imports only that module when the command runs,
so that ``autoscope --help`` is instant and the hooks-only install can still run the commands
that need only the hooks.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from autoscope import __version__
from autoscope.core.command_line import UserError

DATA_DIR_ENV = "AUTOSCOPE_DATA_DIR"
DEFAULT_DATA_DIR = "autoscope-data"
K_ENV = "AUTOSCOPE_K"
MIN_K = 5  # the k-anonymity threshold can be raised, never set below this (README, Configuration)


class CliParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2.

    argparse's own error prints the whole usage block first; a bad argument then reads as a
    wall of text. One line names the command, the argument and the reason, and points at
    ``--help`` (subcommand parsers are made from this class too: argparse uses the parent's).
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def k_threshold(text: str) -> int:
    """``--k``: an integer of at least :data:`MIN_K` (argparse turns the ValueError into an error line)."""
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"k must be a whole number of at least {MIN_K}, not {text!r}") from None
    if k < MIN_K:
        raise argparse.ArgumentTypeError(
            f"k must be at least {MIN_K} (k-anonymity can be raised, never lowered below {MIN_K}), not {k}"
        )
    return k


def _number(kind: type, test, what: str):  # -> a type function for argparse
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}, not {text!r}") from None
        if math.isnan(value) or not test(value):  # NaN is no number of seconds or epsilon
            raise argparse.ArgumentTypeError(f"{what}, not {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


#: argparse types for numbers that have a sign to respect (a negative wait or epsilon is a typo)
positive_float = _number(float, lambda v: 0 < v < float("inf"), "a number above 0")
non_negative_float = _number(float, lambda v: 0 <= v < float("inf"), "a number of at least 0")
positive_int = _number(int, lambda v: v > 0, "a whole number above 0")


def port_number(text: str) -> int:
    """``--port``: 0 (a free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, not {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, not {port}")
    return port


def period_label(text: str) -> str:
    """``--period``: a label written as the indicator job writes them (argparse reports the error)."""
    from autoscope.pipelines.periods import period_type_of

    try:
        period_type_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def grpc_port(value: str) -> int | None:
    """``--grpc-port``: a port number, 0 for a free one, ``off`` for none."""
    if value == "off":
        return None
    try:
        return port_number(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"a port from 0 to 65535, or off, not {value!r}") from None


DATA_DIR_HELP = "warehouse, keys and logs (default ./autoscope-data or $AUTOSCOPE_DATA_DIR)"


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subcommand's default must not overwrite a --data-dir given before it
    # (argparse copies a subparser's namespace over its parent's); main() fills the default.
    parser.add_argument("--data-dir", default=argparse.SUPPRESS, help=DATA_DIR_HELP)


def _subparsers_of(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [
        child
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for child in dict.fromkeys(action.choices.values())
    ]


def _share_data_dir(parser: argparse.ArgumentParser) -> None:
    """Every parser below one that takes --data-dir takes it too (``quarantine list --data-dir D``)."""
    has_it = any("--data-dir" in action.option_strings for action in parser._actions)
    for child in _subparsers_of(parser):
        if has_it and not any("--data-dir" in a.option_strings for a in child._actions):
            _add_data_dir(child)
        _share_data_dir(child)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree. Global options (``--data-dir``) are accepted before or after the
    subcommand, at any depth; argument errors are one line and exit code 2 (:class:`CliParser`)."""
    parser = CliParser(prog="autoscope", description="Telemetry for the indicators of AI R&D automation.")
    parser.add_argument("--version", action="version", version=f"autoscope {__version__}")
    _add_data_dir(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_data_dir(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        _add_data_dir(sub)
        return sub

    def with_kafka(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--kafka-bootstrap",
            help="an external Kafka (host:port,...); default: $AUTOSCOPE_KAFKA_BOOTSTRAP, else the embedded broker",
        )
        return sub

    up = with_kafka(with_data_dir(commands.add_parser("up", help="run broker, collector and ingester")))
    up.add_argument("--host", default="127.0.0.1", help="collector listen address")
    up.add_argument(
        "--port", type=port_number, default=4318, help="collector port: OTLP/HTTP and native (default 4318)"
    )
    up.add_argument(
        "--grpc-port", type=grpc_port, default=4317, help="OTLP/gRPC port (default 4317; 0: a free one; off: none)"
    )
    up.add_argument(
        "--config",
        help="settings file with an [otlp] section (default: $AUTOSCOPE_CONFIG, else ./autoscope.toml if it exists)",
    )
    up.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="listen beyond loopback although no token exists (not recommended)",
    )
    up.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    up.add_argument("--tls-key", help="… and this private key (PEM)")
    up.set_defaults(handler="autoscope.commands:cmd_up")

    collect = with_kafka(
        with_data_dir(
            commands.add_parser(
                "collect", help="run only a collector (several behind a load balancer; needs external Kafka)"
            )
        )
    )
    collect.add_argument("--host", default="127.0.0.1")
    collect.add_argument("--port", type=port_number, default=4318)
    collect.add_argument(
        "--grpc-port", type=grpc_port, default=4317, help="OTLP/gRPC port (default 4317; 0: a free one; off: none)"
    )
    collect.add_argument(
        "--config",
        help="settings file with an [otlp] section (default: $AUTOSCOPE_CONFIG, else ./autoscope.toml if it exists)",
    )
    collect.add_argument("--allow-unauthenticated", action="store_true")
    collect.add_argument("--tls-cert")
    collect.add_argument("--tls-key")
    collect.set_defaults(handler="autoscope.commands:cmd_up", only="collect")

    ingest = with_kafka(
        with_data_dir(
            commands.add_parser("ingest", help="run only the ingester: Kafka → the warehouse (needs external Kafka)")
        )
    )
    ingest.set_defaults(handler="autoscope.commands:cmd_up", only="ingest")

    demo = with_kafka(with_data_dir(commands.add_parser("demo", help="run a simulated lab end to end")))
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--weeks", type=positive_int, default=8)
    demo.set_defaults(handler="autoscope.commands:cmd_demo")

    indicators = with_data_dir(commands.add_parser("indicators", help="compute, store and print indicators"))
    indicators.add_argument(
        "--k", type=k_threshold, default=None, help="k-anonymity threshold (5 or more; default $AUTOSCOPE_K or 5)"
    )
    indicators.add_argument(
        "--period",
        action="append",
        choices=["week", "month", "quarter"],
        help="period type to show (repeatable; default week, with --all all three). All three are always "
        "computed and stored together: they are anonymized as one release",
    )
    indicators.add_argument(
        "--all", action="store_true", help="print every indicator and every cut (default: the headline table)"
    )
    indicators.add_argument(
        "--cut",
        action="append",
        choices=["team", "rung", "category", "question"],
        help="with --all (implied): cut to show beside the lab-wide rows (repeatable; default all)",
    )
    indicators.add_argument(
        "--full", action="store_true", help="recompute every period, not only those with new events"
    )
    indicators.add_argument(
        "--epsilon",
        type=positive_float,
        default=None,
        help="release under ε-differential privacy (ε per period); default: no noise",
    )
    indicators.add_argument(
        "--budget",
        type=positive_float,
        default=None,
        help="ε budget for --epsilon: the most ever spent on any one instant's events "
        "(default: the budget in force; 10 for the first DP release; it can be lowered, not raised)",
    )
    indicators.add_argument(
        "--wait",
        type=non_negative_float,
        default=120.0,
        help="seconds to wait for a running ingester to hand the warehouse over (default 120)",
    )
    indicators.set_defaults(handler="autoscope.commands:cmd_indicators")

    token = with_data_dir(commands.add_parser("token", help="create, list or revoke bearer tokens"))
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="create|list|revoke")
    create = token_commands.add_parser("create", help="make a token (shown once)")
    create.add_argument("--name", required=True, help="the tool or team it is for")
    create.add_argument(
        "--scope", action="append", choices=["ingest", "read", "export"], help="repeatable; default ingest"
    )
    create.add_argument("--team", help="bind an ingest token to one team")
    token_commands.add_parser("list", help="list tokens (never their values)")
    revoke = token_commands.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id")
    token.set_defaults(handler="autoscope.commands:cmd_token")

    quarantine = with_data_dir(commands.add_parser("quarantine", help="inspect and replay rejected events"))
    q_commands = quarantine.add_subparsers(dest="quarantine_command", required=True, metavar="list|show|replay")
    q_list = q_commands.add_parser("list", help="rejected events with their reasons")
    q_list.add_argument("--field", help="only those rejected for this field, e.g. $.team")
    for name, text in (("show", "show entries in full"), ("replay", "send entries to the collector again")):
        sub = q_commands.add_parser(name, help=text)
        sub.add_argument("ids", nargs="*")
        sub.add_argument("--all", action="store_true")
        if name == "replay":
            sub.add_argument("--url", default=os.environ.get("AUTOSCOPE_COLLECTOR_URL", "http://127.0.0.1:4318"))
            sub.add_argument("--token", default=os.environ.get("AUTOSCOPE_TOKEN"))
    quarantine.set_defaults(handler="autoscope.collector.commands:cmd_quarantine")

    key = with_data_dir(
        commands.add_parser(
            "key", help="the pseudonym key (id, rotate) and the release key that signs exports (release-…)"
        )
    )
    key_commands = key.add_subparsers(
        dest="key_command", required=True, metavar="id|rotate|release-create|release-rotate|release-public"
    )
    for name, text in (
        ("id", "print the current key id (never the key)"),
        ("rotate", "start a new key; the old one is retired"),
    ):
        key_commands.add_parser(name, help=text).set_defaults(handler="autoscope.collector.commands:cmd_key")
    add_release_key_parsers(key_commands)

    def with_collector(sub: argparse.ArgumentParser, timeout: float) -> argparse.ArgumentParser:
        sub.add_argument(
            "--collector-url", help="default: $AUTOSCOPE_COLLECTOR_URL, autoscope.toml, http://127.0.0.1:4318"
        )
        sub.add_argument("--token", help="default: $AUTOSCOPE_TOKEN")
        sub.add_argument("--transport", choices=["otlp", "native"], help="default: otlp")
        sub.add_argument("--timeout", type=non_negative_float, default=timeout, help=f"seconds (default {timeout:g})")
        return sub

    emit = with_collector(
        commands.add_parser(
            "emit",
            help="send one event from a shell script or CI job",
            description="Send one event: autoscope emit review --task-id T1 --action approved --minutes 4. "
            "Exit 0 when accepted or spooled (collector unreachable), 1 when rejected, 2 on a bad field.",
        ),
        10.0,
    )
    emit.add_argument(
        "type",
        nargs="?",
        help="task, review, experiment, contribution, model_deployment, "
        "training_milestone, impression or spend (or the JSON's type)",
    )
    emit.add_argument("--json", help="the event's fields as one JSON object ('-' reads stdin)")
    emit.add_argument(
        "fields",
        nargs=argparse.REMAINDER,
        help="--FIELD VALUE ... (e.g. --human-minutes 30; lists repeat or take commas; "
        "also --team, --actor, --occurred-at, --event-id, --tool)",
    )
    emit.set_defaults(handler="autoscope.agents.shell:cmd_emit", emit_parser=emit)

    run = with_collector(
        commands.add_parser(
            "run",
            help="run an experiment command and report its accelerator time",
            description="autoscope run --designed-by ai --accelerators 8 --accelerator-type h100 -- CMD ... "
            "reports wall time x accelerators as an experiment and exits with CMD's exit code; a failed "
            "run's purpose gets ':failed' appended.",
        ),
        10.0,
    )
    run.add_argument("--designed-by", required=True, choices=["ai", "human", "mixed"])
    run.add_argument("--accelerators", required=True, type=non_negative_float, help="how many accelerators CMD holds")
    run.add_argument("--accelerator-type", required=True, help="e.g. h100")
    run.add_argument("--purpose", help="a label (default: run)")
    run.add_argument("--experiment-id", help="default: a new UUIDv7")
    run.add_argument("--flops", type=non_negative_float)
    run.add_argument(
        "--human-minutes",
        type=non_negative_float,
        help="also report the run as an experiment_run task with its outcome",
    )
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    run.set_defaults(handler="autoscope.agents.shell:cmd_run")

    git = commands.add_parser("git", help="report commits as contributions (hook or backfill)")
    git_commands = git.add_subparsers(dest="git_command", required=True, metavar="install-hook|post-commit|scan")
    install = git_commands.add_parser(
        "install-hook", help="add post-commit and post-rewrite hooks (existing ones are chained)"
    )
    install.add_argument("--repo", help="the repository (default: the current directory)")
    install.add_argument("--team", help="the team of commits the [git] team mapping does not place")
    post_commit = git_commands.add_parser("post-commit", help="report the commits the hooks queued (what they run)")
    post_commit.add_argument("--repo")
    post_commit.add_argument("--team", help="the team of commits the [git] team mapping does not place")
    scan = with_collector(git_commands.add_parser("scan", help="backfill the history of a repository"), 60.0)
    scan.add_argument("path")
    scan.add_argument("--since", help="a date git understands, e.g. 2026-01-01 or '3 months ago'")
    scan.add_argument("--rev", default="HEAD", help="what to scan (default HEAD)")
    scan.add_argument("--include-merges", action="store_true")
    scan.add_argument("--dry-run", action="store_true", help="print the events as JSON lines, send nothing")
    scan.add_argument(
        "--explain",
        action="store_true",
        help="per commit: each identity's class, the rule that matched, the result; then totals",
    )
    scan.add_argument("--team", help="the team of commits the [git] team mapping does not place")
    scan.add_argument("--team-map", help="a CODEOWNERS-like file: 'pattern team' per line (last match wins)")
    scan.add_argument(
        "--default-branch",
        help="the branch whose history counts as merged "
        "(default: [git] default_branch, origin/HEAD, init.defaultBranch, main, master)",
    )
    git.set_defaults(handler="autoscope.agents.shell:cmd_git")

    add_report_parsers(commands, with_data_dir)
    add_status_parser(commands, with_data_dir)
    _share_data_dir(parser)
    return parser


def add_report_parsers(commands, with_data_dir) -> None:
    """``report``, ``dashboard``, ``export [verify]`` and ``audit`` (handlers: pipelines/report/commands.py)."""
    report = with_data_dir(
        commands.add_parser(
            "report",
            help="write the automation report: one self-contained HTML file",
            description="autoscope report [--period 2026-Q3] [--team T] [--out report.html]. Without --period: "
            "the latest complete period with events (quarter, else month, else week); --list-periods lists them.",
        )
    )
    report.add_argument(
        "--period",
        type=period_label,
        help="2026-Q3 (quarter), 2026-09 (month) or 2026-W37 (ISO week); default: "
        "the latest complete period with events",
    )
    report.add_argument(
        "--list-periods",
        action="store_true",
        help="list the periods that have events, whether they ended, how fresh their indicators are",
    )
    report.add_argument("--out", help="the HTML file (default report-PERIOD.html)")
    report.add_argument("--team", help="one team instead of the whole lab")
    report.add_argument("--refresh", action="store_true", help="recompute and store the indicators first")
    report.add_argument(
        "--k",
        type=k_threshold,
        help="k-anonymity threshold (5 or more): above the stored release's, "
        "the release is recomputed with it; below it, refused",
    )
    report.set_defaults(handler="autoscope.pipelines.report.commands:cmd_report")

    dashboard = with_data_dir(
        commands.add_parser(
            "dashboard", help="serve the report live on localhost (read-only, period and team selector)"
        )
    )
    dashboard.add_argument("--host", default="127.0.0.1")
    dashboard.add_argument("--port", type=int, default=8788, help="default 8788")
    dashboard.add_argument(
        "--refresh", type=positive_float, default=5.0, help="seconds between warehouse reads (default 5)"
    )
    dashboard.add_argument(
        "--k",
        type=k_threshold,
        help="k-anonymity threshold for live computation: it can raise, "
        "never lower, the k of the stored release (5 or more)",
    )
    dashboard.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve beyond loopback although no token exists (not recommended)",
    )
    dashboard.set_defaults(handler="autoscope.pipelines.report.commands:cmd_dashboard")

    export = with_data_dir(
        commands.add_parser(
            "export",
            help="export a period's aggregates with manifest.json; `export verify DIR` checks a set",
            description="autoscope export [--period 2026-Q3] --format parquet|csv|json --out DIR   |   "
            "autoscope export verify DIR",
        )
    )
    export.add_argument("action", nargs="*", metavar="verify DIR", help="check a delivered set against its manifest")
    export.add_argument(
        "--period",
        type=period_label,
        help="2026-Q3, 2026-09 or 2026-W37 (default: the latest complete period with events)",
    )
    export.add_argument("--format", choices=["parquet", "csv", "json"])
    export.add_argument("--out", help="a new or empty directory")
    export.add_argument(
        "--table",
        action="append",
        help="aggregate table to include (repeatable; default indicator_values; event tables are refused)",
    )
    export.add_argument("--token", help="a token with the export scope (default $AUTOSCOPE_TOKEN)")
    export.add_argument(
        "--k",
        type=k_threshold,
        help="k-anonymity threshold (5 or more): above the stored release's, "
        "the release is recomputed with it; below it, refused",
    )
    export.add_argument(
        "--public-key",
        help="with verify: the lab's release public key (PEM), received separately; "
        "the manifest's signature is checked against it",
    )
    export.add_argument(
        "--snapshot",
        type=int,
        help="with the ducklake warehouse: re-derive the release read from this lake snapshot "
        "(the manifest's warehouse.snapshot); nothing is computed",
    )
    export.set_defaults(handler="autoscope.commands:cmd_export")

    audit = with_data_dir(commands.add_parser("audit", help="list the audit log of exports"))
    audit.add_argument("--limit", type=positive_int, default=50)
    audit.add_argument("--json", action="store_true", help="print JSON instead of a table")
    audit.set_defaults(handler="autoscope.pipelines.report.commands:cmd_audit")


def add_release_key_parsers(key_commands) -> None:
    """``key release-create | release-rotate | release-public`` (handler: pipelines/report/commands.py)."""
    handler = "autoscope.pipelines.report.commands:cmd_release_key"
    key_commands.add_parser(
        "release-create", help="create the lab's release key, which signs export manifests"
    ).set_defaults(handler=handler)
    key_commands.add_parser(
        "release-rotate", help="start a new release key; the old one is retired, its public key still available"
    ).set_defaults(handler=handler)
    public = key_commands.add_parser("release-public", help="print the release key's public key (PEM) for auditors")
    public.set_defaults(handler=handler)
    public.add_argument("--key-id", help="a retired key's id (default: the key in force)")
    public.add_argument("--out", help="write the PEM to this file instead of printing it")


def add_status_parser(commands, with_data_dir) -> None:
    status = with_data_dir(
        commands.add_parser(
            "status",
            help="what arrived, what was refused, lag, backlog, periods and their freshness",
            description="What arrived per tool, type and team in the last hour and day, what was rejected "
            "and why, spool backlog, Kafka lag, warehouse rows, periods and how fresh their indicators are. "
            "Reads the data directory (also while `autoscope up` runs) and asks its running collector; "
            "with --collector-url, asks a remote collector's GET /v1/status instead.",
        )
    )
    status.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    status.add_argument(
        "--collector-url",
        help="a remote collector (its /v1/status; needs a token with the read scope once tokens exist)",
    )
    status.add_argument("--token", help="a token with the read scope (default $AUTOSCOPE_TOKEN)")
    status.add_argument(
        "--wait",
        type=non_negative_float,
        default=30.0,
        help="seconds to wait for a running ingester to hand the warehouse over (default 30)",
    )
    status.set_defaults(handler="autoscope.status:status_command")


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code. 0 done, 1 failed, 2 refused or bad arguments.

    An unexpected exception is one line on stderr and exit code 1, not a traceback
    (``AUTOSCOPE_DEBUG=1`` shows the traceback).
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or an argument error already printed in one line
        return exc.code if isinstance(exc.code, int) else 2
    if getattr(args, "data_dir", None) is None:
        args.data_dir = os.environ.get(DATA_DIR_ENV, DEFAULT_DATA_DIR)
    command = " ".join(["autoscope", *(w for w in (args.command, *_nested_command(args)) if w)])
    if getattr(args, "k", "absent") is None and os.environ.get(K_ENV):
        try:  # --k's default comes from the environment: the same rule, named by the variable
            k_threshold(os.environ[K_ENV])
        except argparse.ArgumentTypeError as exc:
            print(f"{command}: error: ${K_ENV}: {exc}", file=sys.stderr)
            return 2
    try:
        return int(handler_of(args)(args))
    except UserError as exc:
        print(f"{command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("AUTOSCOPE_DEBUG"):
            raise
        print(
            f"{command}: failed: {type(exc).__name__}: {exc} (AUTOSCOPE_DEBUG=1 shows the traceback)", file=sys.stderr
        )
        return 1


def handler_of(args: argparse.Namespace) -> Callable[[argparse.Namespace], int]:
    """The handler a parsed command names as ``"module:function"``, imported now: only the
    chosen command's room is loaded (``--help`` stays instant, the hooks-only install runs
    the hooks' commands)."""
    module, _, name = args.handler.partition(":")
    return getattr(importlib.import_module(module), name)


def _nested_command(args: argparse.Namespace) -> list[str]:
    return [value for name, value in vars(args).items() if name.endswith("_command") and isinstance(value, str)]


if __name__ == "__main__":
    sys.exit(main())
