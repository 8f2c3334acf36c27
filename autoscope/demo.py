"""``autoscope demo``: a simulated lab sends its work through the real stack, end to end.

Broker, collector and ingester start as in ``autoscope up``; every simulated researcher's
work goes through the real hooks over HTTP; the demo waits until each planned event is in
the warehouse, computes the indicators and prints them. The plan is deterministic (event ids
included), so a second run on the same data directory adds nothing: the warehouse already
holds each event once.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autoscope import __version__
from autoscope.core.kafka_settings import KafkaSettings
from autoscope.service import Service, ServiceSettings
from autoscope.simulation import LabPlan, PlannedEvent, plan_lab
from autoscope.warehouse.lake import LakeLocation


@dataclasses.dataclass
class DemoResult:
    plan: LabPlan
    events_sent: int
    events_in_warehouse: int
    wall_s: float
    warehouse_path: Path  # the DuckDB file, or the lake's data folder
    indicators: object  # a polars DataFrame
    lake: LakeLocation | None = None  # the lake the demo wrote into, if not the file


class DemoError(RuntimeError):
    """The demo could not deliver every planned event to the warehouse."""


def emit(event: PlannedEvent) -> None:
    """Make the hook call a researcher's tool would make for this planned event."""
    from autoscope import agents

    fields = dict(event.fields)
    if event.type == "task":
        outcome = fields.pop("outcome")
        with agents.task(**fields) as handle:
            handle.outcome = outcome
    else:
        hook = getattr(agents, event.type)
        hook(**fields)


def _planned_in_warehouse(service: Service, event_ids: list[str]) -> int:
    import pyarrow as pa

    cursor = service.cursor()
    try:
        cursor.register("planned_ids", pa.table({"event_id": event_ids}))
        rows = cursor.execute("SELECT count(*) FROM event_ids JOIN planned_ids USING (event_id)").fetchall()
        return int(rows[0][0])
    finally:
        cursor.close()


def run_demo(
    data_dir: Path,
    *,
    seed: int = 7,
    weeks: int = 8,
    kafka: KafkaSettings | None = None,
    console: Console | None = None,
    timeout_s: float = 300.0,
    lake: LakeLocation | None = None,
) -> DemoResult:
    """Run the simulated lab through broker → collector → Kafka → warehouse → indicators.

    ``lake``: write into that DuckLake warehouse instead of ``<data_dir>/warehouse.duckdb``."""
    from autoscope import agents
    from autoscope.pipelines.jobs import run_indicators

    console = console or Console()
    started = time.monotonic()
    plan = plan_lab(seed=seed, weeks=weeks)
    event_ids = [e.fields["event_id"] for e in plan.events]
    console.print(
        f"[bold]Simulated lab[/]: {len(plan.researchers)} researchers in "
        f"{len({r.team for r in plan.researchers})} teams over {weeks} weeks, "
        f"{len(plan.events)} events"
    )
    # free ports, no gRPC: the demo's hooks use HTTP, and `autoscope up` may be running beside it
    settings = ServiceSettings(data_dir=data_dir, port=0, grpc_port=None, kafka=kafka, lake=lake)
    with Service(settings) as service:
        console.print(f"collector at [cyan]{service.endpoint}[/], Kafka at {service.kafka.bootstrap_servers}")
        agents.configure(
            collector_url=service.endpoint,
            tool="autoscope-demo",
            tool_version=__version__,
            max_queue_size=len(plan.events) + 1024,
            spool_dir=data_dir / "agent-spool",
        )
        before = agents.stats()
        with Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            emitting = progress.add_task("researchers using hooks", total=len(plan.events))
            for index, event in enumerate(plan.events):
                emit(event)
                if index % 200 == 0:
                    progress.update(emitting, completed=index)
            progress.update(emitting, completed=len(plan.events))
            landing = progress.add_task("events in the warehouse", total=len(event_ids))
            deadline = time.monotonic() + timeout_s
            agents.flush(timeout_s=timeout_s)
            while True:
                landed = _planned_in_warehouse(service, event_ids)
                progress.update(landing, completed=landed)
                if landed >= len(event_ids):
                    break
                if time.monotonic() > deadline:
                    raise DemoError(
                        f"only {landed} of {len(event_ids)} events reached the warehouse "
                        f"within {timeout_s:.0f} s; hook stats: {agents.stats()}"
                    )
                time.sleep(0.2)
        after = agents.stats()
        sent = int(after["sent"]) - int(before["sent"])
        cursor = service.cursor()
        try:
            indicators = run_indicators(cursor)
        finally:
            cursor.close()
    where = Path(lake.data_path) if lake is not None else settings.warehouse_path
    return DemoResult(plan, sent, landed, time.monotonic() - started, where, indicators, lake)
