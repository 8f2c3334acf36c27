"""The ``autoscope`` command: one entry point, one subcommand per job.

Each subcommand's handler lives in the module that owns its work; this file only parses
arguments and wires them up, and imports the heavy parts lazily, so that ``autoscope --help``
is instant and the hooks-only install can still run the commands that need only the hooks.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

from autoscope import __version__

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


class UserError(Exception):
    """A request the command refuses, with the one line that says why (exit code 2)."""


def k_threshold(text: str) -> int:
    """``--k``: an integer of at least :data:`MIN_K` (argparse turns the ValueError into an error line)."""
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"k must be a whole number of at least {MIN_K}, not {text!r}") from None
    if k < MIN_K:
        raise argparse.ArgumentTypeError(f"k must be at least {MIN_K} (k-anonymity can be raised, never "
                                         f"lowered below {MIN_K}), not {k}")
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


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir).resolve()


def _existing_data_dir(args: argparse.Namespace) -> Path:
    """The data directory for a command that only reads or changes what is there: it must
    exist, so a typo in ``--data-dir`` is an error rather than a fresh, empty directory."""
    data_dir = _data_dir(args)
    if not data_dir.is_dir():
        raise UserError(f"no data directory at {data_dir} (--data-dir, or $AUTOSCOPE_DATA_DIR; "
                        "`autoscope up` or `autoscope demo` makes one)")
    return data_dir


def _kafka(args: argparse.Namespace):  # -> KafkaSettings | None
    from autoscope.kafka_settings import KafkaSettings

    return KafkaSettings.from_env(getattr(args, "kafka_bootstrap", None))


def grpc_port(value: str) -> int | None:
    """``--grpc-port``: a port number, 0 for a free one, ``off`` for none."""
    if value == "off":
        return None
    try:
        return port_number(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"a port from 0 to 65535, or off, not {value!r}") from None


def cmd_up(args: argparse.Namespace) -> int:
    from rich.console import Console

    from autoscope.service import Service, ServiceError, ServiceSettings

    console = Console()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    only = getattr(args, "only", None)
    kafka = _kafka(args)
    if only == "collect":
        from autoscope.collector.pseudonymize import key_configured

        if not key_configured(_data_dir(args)):
            console.print("[red]`autoscope collect` needs the lab's pseudonym key[/]: collectors behind a load "
                          "balancer must share one, or a person gets a pseudonym per collector and is counted "
                          "several times. Set AUTOSCOPE_PSEUDONYM_KEY_FILE (or AUTOSCOPE_PSEUDONYM_KEY) on every "
                          "collector; `autoscope key rotate --data-dir D` makes one in D/keys/pseudonym.key")
            return 2
    if only and kafka is None:
        console.print(f"[red]`autoscope {args.command}` needs an external Kafka[/]: "
                      "--kafka-bootstrap or AUTOSCOPE_KAFKA_BOOTSTRAP (or run `autoscope up`)")
        return 2
    from autoscope.server_config import ConfigError, config_path, load_grpc_workers, load_otlp_settings

    try:
        config = config_path(getattr(args, "config", None))
        otlp = load_otlp_settings(config) if only != "ingest" else None
        grpc_workers = load_grpc_workers(config) if only != "ingest" else None
    except ConfigError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    settings = ServiceSettings(
        data_dir=_data_dir(args), host=getattr(args, "host", "127.0.0.1"), **({"otlp": otlp} if otlp else {}),
        port=getattr(args, "port", 0), grpc_port=getattr(args, "grpc_port", None), kafka=kafka,
        **({"grpc_workers": grpc_workers} if grpc_workers else {}),
        allow_unauthenticated=getattr(args, "allow_unauthenticated", False),
        tls_cert=Path(args.tls_cert) if getattr(args, "tls_cert", None) else None,
        tls_key=Path(args.tls_key) if getattr(args, "tls_key", None) else None,
        collect=only in (None, "collect"), ingest=only in (None, "ingest"),
    )
    try:
        service = Service(settings).start()
    except ServiceError as exc:  # one line on stderr: a taken port names the port and its flag
        print(f"autoscope {args.command}: error: {exc}", file=sys.stderr)
        return 2
    with service:
        where = "embedded broker (in memory)" if service.broker else "external cluster"
        console.print(f"[bold green]autoscope {args.command}[/] running")
        if service.collector is not None:
            console.print(f"  collector:  [cyan]{service.endpoint}[/]  (OTLP/HTTP /v1/logs|traces|metrics, "
                          "POST /v1/events, GET /healthz, /metrics, /v1/status)")
            if service.grpc_endpoint is not None:
                console.print(f"  OTLP/gRPC:  [cyan]{service.grpc_endpoint}[/]")
        console.print(f"  Kafka:      {service.kafka.bootstrap_servers} ({where}), topic {service.kafka.topic}")
        console.print(f"  data dir:   {settings.data_dir}")
        if service.ingester is not None:
            console.print(f"  warehouse:  {settings.warehouse_path}")
        console.print("  Ctrl-C to stop")
        sys.stdout.flush()
        stop.wait()
        console.print("stopping: collector, then ingester, then broker …")
    console.print("stopped cleanly")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from autoscope.demo import DemoError, run_demo
    from autoscope.pipelines.console_tables import summary_tables

    console = Console()
    try:
        result = run_demo(_data_dir(args), seed=args.seed, weeks=args.weeks, kafka=_kafka(args), console=console)
    except DemoError as exc:
        console.print(f"[bold red]demo failed:[/] {exc}")
        return 1
    console.print(summary_tables(result.indicators))
    rate = result.events_sent / result.wall_s if result.wall_s else 0.0
    console.print(
        f"\n[bold]{result.events_in_warehouse}[/] events in the warehouse "
        f"({result.events_sent} sent by the hooks this run) in {result.wall_s:.1f} s "
        f"({rate:,.0f} events/s end to end)"
    )
    console.print(f"warehouse: [cyan]{result.warehouse_path}[/]")
    console.print("indicators stored in its table [cyan]indicator_values[/]; rerun `autoscope indicators` any time")
    return 0


def cmd_indicators(args: argparse.Namespace) -> int:
    import duckdb
    import polars as pl
    from rich.console import Console

    from autoscope.pipelines.console_tables import full_tables, summary_tables
    from autoscope.pipelines.jobs import run
    from autoscope.pipelines.privacy import BudgetExceeded
    from autoscope.warehouse.schema import migrate
    from autoscope.warehouse.turns import TurnTimeout, turn

    show_all = args.all or bool(args.cut)
    # the full tables have a column per metric: they are wider than a terminal by design
    console = Console(width=max(Console().width, 120)) if show_all else Console()
    path = _data_dir(args) / "warehouse.duckdb"
    if not path.exists():
        console.print(f"[red]no warehouse at {path}[/]: run `autoscope up` or `autoscope demo` first")
        return 1
    # the headline shows weeks (as the demo does); --all shows every period type
    period_types = tuple(args.period or (("week", "month", "quarter") if show_all else ("week",)))
    try:
        # a running ingester hands the file over between batches and takes it back afterwards
        with turn(path, timeout_s=args.wait):
            conn = duckdb.connect(str(path))
            try:
                migrate(conn)
                result = run(conn, k=args.k, full=args.full,
                             epsilon=args.epsilon, budget=args.budget)
                frame = pl.from_arrow(conn.sql(  # everything stored, this run's and earlier
                    "SELECT * FROM indicator_values WHERE list_contains(?, period_type)"
                    " ORDER BY indicator, period_type, period, cut, cut_value, metric",
                    params=[list(period_types)]).to_arrow_table())
            finally:
                conn.close()
    except TurnTimeout as exc:
        console.print(f"[red]the warehouse was not handed over within {args.wait:g} s[/]: {exc}")
        return 1
    except BudgetExceeded as exc:
        console.print(f"[red]refused by the privacy budget:[/] {exc}")
        return 2
    except duckdb.IOException as exc:
        console.print(f"[red]the warehouse {path} is open in a process that does not take turns[/]: {exc}")
        return 1
    if args.cut:
        frame = frame.filter(pl.col("cut").is_in(["lab", *args.cut]))
    recomputed = ", ".join(f"{len(v)} {pt}(s)" for pt, v in result.periods.items() if v) or "nothing new"
    for period_type in period_types:
        console.print(full_tables(frame, period_type) if show_all else summary_tables(frame, period_type))
    if not show_all:
        console.print("headline metrics only; --all prints every indicator and cut (--cut picks cuts)")
    console.print(f"{'full run' if result.full else 'incremental run'}: recomputed {recomputed}; "
                  f"stored in [cyan]{path}[/] table indicator_values")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from autoscope.core.tokens import TokenError, TokenStore

    console = Console()
    # create may start a data directory (a token before the first `up`); list and revoke only read
    data_dir = _data_dir(args) if args.token_command == "create" else _existing_data_dir(args)
    store = TokenStore(data_dir / "tokens.json")
    try:
        if args.token_command == "create":
            token, record = store.create(args.name, args.scope or ["ingest"], args.team)
            console.print(f"token [bold]{record.token_id}[/] ({record.name}, scopes {', '.join(record.scopes)}"
                          + (f", team {record.team}" if record.team else "") + ")")
            console.print("store it now; it is not shown again:")
            print(token)
        elif args.token_command == "revoke":
            record = store.revoke(args.token_id)
            console.print(f"revoked {record.token_id} ({record.name}) at {record.revoked_at}")
        else:
            table = Table("id", "name", "scopes", "team", "created", "revoked")
            for record in store.records():
                table.add_row(record.token_id, record.name, ",".join(record.scopes), record.team or "",
                              record.created_at, record.revoked_at or "")
            console.print(table)
    except TokenError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    return 0


def _by_id_prefix(entries: list[dict], prefixes: list[str]) -> list[dict]:
    """The entries that ``prefixes`` name: each an id or an unambiguous start of one."""
    chosen: dict[str, dict] = {}
    for prefix in prefixes:
        matches = [e for e in entries if e["id"] == prefix] or [e for e in entries if e["id"].startswith(prefix)]
        if not matches:
            raise UserError(f"no quarantined entry has an id starting with {prefix!r} (`autoscope quarantine list`)")
        if len(matches) > 1:
            shown = ", ".join(e["id"] for e in matches[:5]) + (" …" if len(matches) > 5 else "")
            raise UserError(f"the id prefix {prefix!r} matches {len(matches)} entries ({shown}): give more of the id")
        chosen[matches[0]["id"]] = matches[0]
    return list(chosen.values())


def cmd_quarantine(args: argparse.Namespace) -> int:
    import json
    import urllib.request

    from rich.console import Console
    from rich.table import Table

    from autoscope.collector.sinks.quarantine import mark_replayed, read_quarantine

    console = Console()
    directory = _existing_data_dir(args) / "quarantine"
    entries = list(read_quarantine(directory)) if directory.exists() else []
    if args.quarantine_command == "list":
        counts: dict[str, int] = {}
        table = Table(title=f"{len(entries)} quarantined in {directory}", title_justify="left")
        table.add_column("id", no_wrap=True, min_width=16)  # ids are never cut: `show` and `replay` take them
        table.add_column("received (UTC)", no_wrap=True)
        table.add_column("sender", overflow="fold")
        table.add_column("field", overflow="fold")
        table.add_column("reason", overflow="fold", ratio=1)
        table.add_column("replayed")
        for entry in entries:
            counts[entry["field"]] = counts.get(entry["field"], 0) + 1
            if args.field is None or entry["field"] == args.field:
                table.add_row(entry["id"], entry["received_at"][:16].replace("T", " "), entry["sender"],
                              entry["field"], entry["reason"][:200], "yes" if entry["replayed"] else "")
        console.print(table)
        console.print("by field: " + (", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"))
        return 0
    if not args.all and not args.ids:
        raise UserError("give entry ids (or unambiguous prefixes of them), or --all")
    chosen = entries if args.all else _by_id_prefix(entries, args.ids)
    if args.quarantine_command == "show":
        for entry in chosen:
            console.print_json(json.dumps(entry))
        return 0
    replayable = [e for e in chosen if not e["replayed"] and "event" in e["payload"]]
    if not replayable:
        console.print("nothing to replay")
        return 0
    request = urllib.request.Request(
        args.url.rstrip("/") + "/v1/events",
        data=json.dumps([e["payload"]["event"] for e in replayable]).encode(),
        headers={"content-type": "application/json",
                 **({"authorization": f"Bearer {args.token}"} if args.token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        answer = json.load(exc)
        if "results" not in answer:
            console.print(f"[red]the collector refused the replay ({exc.code}): {answer}[/]")
            return 1
    except (urllib.error.URLError, OSError) as exc:
        console.print(f"[red]cannot reach the collector at {args.url} (--url): {exc}[/]")
        return 1
    accepted = [replayable[r["index"]]["id"] for r in answer["results"] if r["status"] == "accepted"]
    mark_replayed(directory, accepted)
    console.print(f"replayed {len(accepted)} of {len(replayable)}; the rest stay quarantined with their new reason")
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    from autoscope.collector.pseudonymize import (
        PseudonymKeyError,
        key_configured,
        key_id_of,
        load_or_create_key,
        rotate_key,
    )

    data_dir = _data_dir(args)
    if args.key_command.startswith("release-"):
        from autoscope.pipelines.report.commands import cmd_release_key

        return cmd_release_key(args, data_dir)
    try:
        if args.key_command == "rotate":
            old_id, new_id = rotate_key(data_dir)
            print(f"pseudonym key rotated: {old_id or '(none)'} -> {new_id}; restart the collector")
            if old_id:
                print(f"the old key is in {data_dir / 'keys' / 'retired'}; delete it to make the break permanent")
        else:
            # reading the id must never make a key: a fresh key in a mistyped directory would
            # look like the lab's and pseudonymize nobody the same way
            if not key_configured(data_dir):
                raise UserError(f"no pseudonym key in {data_dir / 'keys'} and none configured "
                                "(AUTOSCOPE_PSEUDONYM_KEY_FILE or AUTOSCOPE_PSEUDONYM_KEY); "
                                "`autoscope key rotate` makes one")
            print(key_id_of(load_or_create_key(data_dir)))
    except PseudonymKeyError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from autoscope.status import status_command

    return status_command(args)


def cmd_emit(args: argparse.Namespace) -> int:
    if "-h" in args.fields or "--help" in args.fields:
        return _emit_help(args)
    from autoscope.agents.shell import emit_command

    return emit_command(args.type, args.fields, json_text=args.json, collector_url=args.collector_url,
                        token=args.token, transport=args.transport, timeout_s=args.timeout)


def _emit_help(args: argparse.Namespace) -> int:
    """``emit TYPE --help``: the command's help, then the fields of TYPE (or of every type)."""
    from autoscope.agents.semconv import FIELDS

    args.emit_parser.print_help()
    types = [args.type] if args.type in FIELDS else list(FIELDS)
    if args.type and args.type not in FIELDS:
        print(f"\nunknown event type {args.type!r}; the types and their fields:")
    for type_ in types:
        fields = ", ".join(f"--{name.replace('_', '-')}{'' if required else ' (optional)'}"
                           for name, _, required in FIELDS[type_])
        print(f"\n{type_}: {fields}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from autoscope.agents.shell import run_command

    return run_command(args.cmd, designed_by=args.designed_by, accelerators=args.accelerators,
                       accelerator_type=args.accelerator_type, purpose=args.purpose,
                       experiment_id=args.experiment_id, flops=args.flops,
                       human_minutes=args.human_minutes, collector_url=args.collector_url,
                       token=args.token, transport=args.transport, timeout_s=args.timeout)


def cmd_git(args: argparse.Namespace) -> int:
    from autoscope.agents import git_hooks

    if args.git_command == "install-hook":
        return git_hooks.install_command(args.repo, args.team)
    if args.git_command == "post-commit":
        return git_hooks.post_commit_command(args.repo, args.team)
    return git_hooks.scan_command(args.path, since=args.since, rev=args.rev,
                                  include_merges=args.include_merges, dry_run=args.dry_run,
                                  explain_=args.explain, team=args.team, team_map=args.team_map,
                                  branch=args.default_branch,
                                  collector_url=args.collector_url, token=args.token,
                                  transport=args.transport, timeout_s=args.timeout)


DATA_DIR_HELP = "warehouse, keys and logs (default ./autoscope-data or $AUTOSCOPE_DATA_DIR)"


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subcommand's default must not overwrite a --data-dir given before it
    # (argparse copies a subparser's namespace over its parent's); main() fills the default.
    parser.add_argument("--data-dir", default=argparse.SUPPRESS, help=DATA_DIR_HELP)


def _subparsers_of(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [child for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for child in dict.fromkeys(action.choices.values())]


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
    parser = CliParser(
        prog="autoscope", description="Telemetry for the indicators of AI R&D automation."
    )
    parser.add_argument("--version", action="version", version=f"autoscope {__version__}")
    _add_data_dir(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_data_dir(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        _add_data_dir(sub)
        return sub

    def with_kafka(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument(
            "--kafka-bootstrap",
            help="an external Kafka (host:port,...); default: $AUTOSCOPE_KAFKA_BOOTSTRAP, "
            "else the embedded broker",
        )
        return sub

    up = with_kafka(with_data_dir(commands.add_parser("up", help="run broker, collector and ingester")))
    up.add_argument("--host", default="127.0.0.1", help="collector listen address")
    up.add_argument("--port", type=port_number, default=4318,
                    help="collector port: OTLP/HTTP and native (default 4318)")
    up.add_argument("--grpc-port", type=grpc_port, default=4317,
                    help="OTLP/gRPC port (default 4317; 0: a free one; off: none)")
    up.add_argument("--config", help="settings file with an [otlp] section (default: $AUTOSCOPE_CONFIG, "
                        "else ./autoscope.toml if it exists)")
    up.add_argument("--allow-unauthenticated", action="store_true",
                    help="listen beyond loopback although no token exists (not recommended)")
    up.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    up.add_argument("--tls-key", help="… and this private key (PEM)")
    up.set_defaults(handler=cmd_up)

    collect = with_kafka(with_data_dir(commands.add_parser(
        "collect", help="run only a collector (several behind a load balancer; needs external Kafka)")))
    collect.add_argument("--host", default="127.0.0.1")
    collect.add_argument("--port", type=port_number, default=4318)
    collect.add_argument("--grpc-port", type=grpc_port, default=4317,
                         help="OTLP/gRPC port (default 4317; 0: a free one; off: none)")
    collect.add_argument("--config", help="settings file with an [otlp] section (default: $AUTOSCOPE_CONFIG, "
                        "else ./autoscope.toml if it exists)")
    collect.add_argument("--allow-unauthenticated", action="store_true")
    collect.add_argument("--tls-cert")
    collect.add_argument("--tls-key")
    collect.set_defaults(handler=cmd_up, only="collect")

    ingest = with_kafka(with_data_dir(commands.add_parser(
        "ingest", help="run only the ingester: Kafka → the warehouse (needs external Kafka)")))
    ingest.set_defaults(handler=cmd_up, only="ingest")

    demo = with_kafka(with_data_dir(commands.add_parser("demo", help="run a simulated lab end to end")))
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--weeks", type=positive_int, default=8)
    demo.set_defaults(handler=cmd_demo)

    indicators = with_data_dir(commands.add_parser("indicators", help="compute, store and print indicators"))
    indicators.add_argument("--k", type=k_threshold, default=None, help="k-anonymity threshold (5 or more; default $AUTOSCOPE_K or 5)")
    indicators.add_argument("--period", action="append", choices=["week", "month", "quarter"],
                            help="period type to show (repeatable; default week, with --all all three). All three are always "
                            "computed and stored together: they are anonymized as one release")
    indicators.add_argument("--all", action="store_true",
                            help="print every indicator and every cut (default: the headline table)")
    indicators.add_argument("--cut", action="append", choices=["team", "rung", "category", "question"],
                            help="with --all (implied): cut to show beside the lab-wide rows (repeatable; "
                            "default all)")
    indicators.add_argument("--full", action="store_true", help="recompute every period, not only those with new events")
    indicators.add_argument("--epsilon", type=positive_float, default=None,
                            help="release under ε-differential privacy (ε per period); default: no noise")
    indicators.add_argument("--budget", type=positive_float, default=None,
                            help="ε budget for --epsilon: the most ever spent on any one instant's events "
                            "(default: the budget in force; 10 for the first DP release; it can be lowered, not raised)")
    indicators.add_argument("--wait", type=non_negative_float, default=120.0,
                            help="seconds to wait for a running ingester to hand the warehouse over (default 120)")
    indicators.set_defaults(handler=cmd_indicators)

    token = with_data_dir(commands.add_parser("token", help="create, list or revoke bearer tokens"))
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="create|list|revoke")
    create = token_commands.add_parser("create", help="make a token (shown once)")
    create.add_argument("--name", required=True, help="the tool or team it is for")
    create.add_argument("--scope", action="append", choices=["ingest", "read", "export"],
                        help="repeatable; default ingest")
    create.add_argument("--team", help="bind an ingest token to one team")
    token_commands.add_parser("list", help="list tokens (never their values)")
    revoke = token_commands.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id")
    token.set_defaults(handler=cmd_token)

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
    quarantine.set_defaults(handler=cmd_quarantine)

    key = with_data_dir(commands.add_parser(
        "key", help="the pseudonym key (id, rotate) and the release key that signs exports (release-…)"))
    key_commands = key.add_subparsers(dest="key_command", required=True,
                                      metavar="id|rotate|release-create|release-rotate|release-public")
    key_commands.add_parser("id", help="print the current key id (never the key)")
    key_commands.add_parser("rotate", help="start a new key; the old one is retired")
    from autoscope.pipelines.report.commands import add_release_key_parsers

    add_release_key_parsers(key_commands)
    key.set_defaults(handler=cmd_key)

    def with_collector(sub: argparse.ArgumentParser, timeout: float) -> argparse.ArgumentParser:
        sub.add_argument("--collector-url", help="default: $AUTOSCOPE_COLLECTOR_URL, autoscope.toml, "
                         "http://127.0.0.1:4318")
        sub.add_argument("--token", help="default: $AUTOSCOPE_TOKEN")
        sub.add_argument("--transport", choices=["otlp", "native"], help="default: otlp")
        sub.add_argument("--timeout", type=non_negative_float, default=timeout, help=f"seconds (default {timeout:g})")
        return sub

    emit = with_collector(commands.add_parser(
        "emit", help="send one event from a shell script or CI job",
        description="Send one event: autoscope emit review --task-id T1 --action approved --minutes 4. "
        "Exit 0 when accepted or spooled (collector unreachable), 1 when rejected, 2 on a bad field."), 10.0)
    emit.add_argument("type", nargs="?", help="task, review, experiment, contribution, model_deployment, "
                      "training_milestone, impression or spend (or the JSON's type)")
    emit.add_argument("--json", help="the event's fields as one JSON object ('-' reads stdin)")
    emit.add_argument("fields", nargs=argparse.REMAINDER,
                      help="--FIELD VALUE ... (e.g. --human-minutes 30; lists repeat or take commas; "
                      "also --team, --actor, --occurred-at, --event-id, --tool)")
    emit.set_defaults(handler=cmd_emit, emit_parser=emit)

    run = with_collector(commands.add_parser(
        "run", help="run an experiment command and report its accelerator time",
        description="autoscope run --designed-by ai --accelerators 8 --accelerator-type h100 -- CMD ... "
        "reports wall time x accelerators as an experiment and exits with CMD's exit code; a failed "
        "run's purpose gets ':failed' appended."), 10.0)
    run.add_argument("--designed-by", required=True, choices=["ai", "human", "mixed"])
    run.add_argument("--accelerators", required=True, type=non_negative_float, help="how many accelerators CMD holds")
    run.add_argument("--accelerator-type", required=True, help="e.g. h100")
    run.add_argument("--purpose", help="a label (default: run)")
    run.add_argument("--experiment-id", help="default: a new UUIDv7")
    run.add_argument("--flops", type=non_negative_float)
    run.add_argument("--human-minutes", type=non_negative_float,
                     help="also report the run as an experiment_run task with its outcome")
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    run.set_defaults(handler=cmd_run)

    git = commands.add_parser("git", help="report commits as contributions (hook or backfill)")
    git_commands = git.add_subparsers(dest="git_command", required=True, metavar="install-hook|post-commit|scan")
    install = git_commands.add_parser(
        "install-hook", help="add post-commit and post-rewrite hooks (existing ones are chained)")
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
    scan.add_argument("--explain", action="store_true",
                      help="per commit: each identity's class, the rule that matched, the result; then totals")
    scan.add_argument("--team", help="the team of commits the [git] team mapping does not place")
    scan.add_argument("--team-map", help="a CODEOWNERS-like file: 'pattern team' per line (last match wins)")
    scan.add_argument("--default-branch", help="the branch whose history counts as merged "
                      "(default: [git] default_branch, origin/HEAD, init.defaultBranch, main, master)")
    git.set_defaults(handler=cmd_git)

    # report, dashboard, export [verify], audit (issue 7): parsers and handlers live with their
    # work; that module imports only argparse at the top, so --help stays instant.
    from autoscope.pipelines.report.commands import add_parsers as add_report_parsers

    add_report_parsers(commands, with_data_dir, k_type=k_threshold, seconds_type=positive_float,
                       count_type=positive_int)
    add_status_parser(commands, with_data_dir)
    _share_data_dir(parser)
    return parser


def add_status_parser(commands, with_data_dir) -> None:
    status = with_data_dir(commands.add_parser(
        "status", help="what arrived, what was refused, lag, backlog, periods and their freshness",
        description="What arrived per tool, type and team in the last hour and day, what was rejected "
        "and why, spool backlog, Kafka lag, warehouse rows, periods and how fresh their indicators are. "
        "Reads the data directory (also while `autoscope up` runs) and asks its running collector; "
        "with --collector-url, asks a remote collector's GET /v1/status instead."))
    status.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    status.add_argument("--collector-url", help="a remote collector (its /v1/status; needs a token with the "
                        "read scope once tokens exist)")
    status.add_argument("--token", help="a token with the read scope (default $AUTOSCOPE_TOKEN)")
    status.add_argument("--wait", type=non_negative_float, default=30.0,
                        help="seconds to wait for a running ingester to hand the warehouse over (default 30)")
    status.set_defaults(handler=cmd_status)


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
        return int(args.handler(args))
    except UserError as exc:
        print(f"{command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("AUTOSCOPE_DEBUG"):
            raise
        print(f"{command}: failed: {type(exc).__name__}: {exc} (AUTOSCOPE_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 1


def _nested_command(args: argparse.Namespace) -> list[str]:
    return [value for name, value in vars(args).items() if name.endswith("_command") and isinstance(value, str)]


if __name__ == "__main__":
    sys.exit(main())
