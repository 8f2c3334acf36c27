"""Handlers of the roof's commands: ``autoscope up | collect | ingest``, ``demo`` and ``token``
(parsers: autoscope/cli.py; the convention: :mod:`autoscope.core.command_line`).

They wire the rooms together (broker, collector, ingester, the simulated lab), which is why they
live in the roof rather than in one room.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autoscope.core.command_line import data_dir_of, existing_data_dir
from autoscope.stop_request import StopRequest


def _kafka(args: argparse.Namespace):  # -> KafkaSettings | None
    from autoscope.core.kafka_settings import KafkaSettings

    return KafkaSettings.from_env(getattr(args, "kafka_bootstrap", None))


def cmd_up(args: argparse.Namespace) -> int:
    from rich.console import Console

    from autoscope.service import Service, ServiceError, ServiceSettings

    console = Console()
    stop = StopRequest().install()  # a clean stop, bounded in time (autoscope/stop_request.py)
    only = getattr(args, "only", None)
    kafka = _kafka(args)
    if only == "collect":
        from autoscope.collector.pseudonymize import key_configured

        if not key_configured(data_dir_of(args)):
            console.print(
                "[red]`autoscope collect` needs the lab's pseudonym key[/]: collectors behind a load "
                "balancer must share one, or a person gets a pseudonym per collector and is counted "
                "several times. Set AUTOSCOPE_PSEUDONYM_KEY_FILE (or AUTOSCOPE_PSEUDONYM_KEY) on every "
                "collector; `autoscope key rotate --data-dir D` makes one in D/keys/pseudonym.key"
            )
            return 2
    if only and kafka is None:
        console.print(
            f"[red]`autoscope {args.command}` needs an external Kafka[/]: "
            "--kafka-bootstrap or AUTOSCOPE_KAFKA_BOOTSTRAP (or run `autoscope up`)"
        )
        return 2
    from autoscope.server_config import (
        ConfigError,
        config_path,
        load_grpc_workers,
        load_otlp_settings,
        load_warehouse,
    )

    try:
        config = config_path(getattr(args, "config", None))
        otlp = load_otlp_settings(config) if only != "ingest" else None
        grpc_workers = load_grpc_workers(config) if only != "ingest" else None
        lake = load_warehouse(config)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    settings = ServiceSettings(
        data_dir=data_dir_of(args),
        host=getattr(args, "host", "127.0.0.1"),
        **({"otlp": otlp} if otlp else {}),
        port=getattr(args, "port", 0),
        grpc_port=getattr(args, "grpc_port", None),
        kafka=kafka,
        **({"grpc_workers": grpc_workers} if grpc_workers else {}),
        allow_unauthenticated=getattr(args, "allow_unauthenticated", False),
        tls_cert=Path(args.tls_cert) if getattr(args, "tls_cert", None) else None,
        tls_key=Path(args.tls_key) if getattr(args, "tls_key", None) else None,
        collect=only in (None, "collect"),
        ingest=only in (None, "ingest"),
        lake=lake,
    )
    service = Service(settings)
    stop.on_overrun(service.kill_broker)
    try:
        service.start()
    except ServiceError as exc:  # one line on stderr: a taken port names the port and its flag
        print(f"autoscope {args.command}: error: {exc}", file=sys.stderr)
        return 2
    with service:
        where = "embedded broker (in memory)" if service.broker else "external cluster"
        console.print(f"[bold green]autoscope {args.command}[/] running")
        if service.collector is not None:
            console.print(
                f"  collector:  [cyan]{service.endpoint}[/]  (OTLP/HTTP /v1/logs|traces|metrics, "
                "POST /v1/events, GET /healthz, /metrics, /v1/status)"
            )
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
    stop.finished()
    console.print("stopped cleanly")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from rich.console import Console

    from autoscope.demo import DemoError, run_demo
    from autoscope.pipelines.console_tables import summary_tables
    from autoscope.server_config import ConfigError, config_path, load_warehouse

    console = Console()
    try:
        lake = load_warehouse(config_path(getattr(args, "config", None)))  # [warehouse]: the file or a lake
    except ConfigError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    try:
        result = run_demo(
            data_dir_of(args), seed=args.seed, weeks=args.weeks, kafka=_kafka(args), console=console, lake=lake
        )
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


def cmd_token(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from autoscope.core.tokens import TokenError, TokenStore

    console = Console()
    # create may start a data directory (a token before the first `up`); list and revoke only read
    data_dir = data_dir_of(args) if args.token_command == "create" else existing_data_dir(args)
    store = TokenStore(data_dir / "tokens.json")
    try:
        if args.token_command == "create":
            token, record = store.create(args.name, args.scope or ["ingest"], args.team)
            console.print(
                f"token [bold]{record.token_id}[/] ({record.name}, scopes {', '.join(record.scopes)}"
                + (f", team {record.team}" if record.team else "")
                + ")"
            )
            console.print("store it now; it is not shown again:")
            print(token)
        elif args.token_command == "revoke":
            record = store.revoke(args.token_id)
            console.print(f"revoked {record.token_id} ({record.name}) at {record.revoked_at}")
        else:
            table = Table("id", "name", "scopes", "team", "created", "revoked")
            for record in store.records():
                table.add_row(
                    record.token_id,
                    record.name,
                    ",".join(record.scopes),
                    record.team or "",
                    record.created_at,
                    record.revoked_at or "",
                )
            console.print(table)
    except TokenError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    return 0


def _with_lake(args: argparse.Namespace, command: str) -> bool:
    """Set ``args.lake`` from ``[warehouse]`` (the settings file is the roof's to read; pipelines never
    import it); False after saying why when the configuration is bad."""
    from autoscope.server_config import ConfigError, config_path, load_warehouse

    try:
        args.lake = load_warehouse(config_path(getattr(args, "config", None)))
    except ConfigError as exc:
        print(f"autoscope {command}: error: {exc}", file=sys.stderr)
        return False
    return True


def cmd_export(args: argparse.Namespace) -> int:
    """``autoscope export``: the pipelines' handler, on the ``[warehouse]`` lake if one is configured."""
    from autoscope.pipelines.report.commands import cmd_export as export

    return export(args) if _with_lake(args, "export") else 2


def cmd_indicators(args: argparse.Namespace) -> int:
    """``autoscope indicators``: the pipelines' handler, on the ``[warehouse]`` lake if one is configured."""
    from autoscope.pipelines.commands import cmd_indicators as indicators

    return indicators(args) if _with_lake(args, "indicators") else 2
