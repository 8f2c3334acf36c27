"""Shared pieces of the suite: the row format, realistic payloads, and server processes.

Payloads come from the simulated lab (:func:`autoscope.simulation.plan_lab`), so event sizes and
the mix of types are those of the demo; event ids are made unique per copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
ROW_KEYS = (
    "stage",
    "measure",
    "value",
    "unit",
    "baseline",
    "baseline_value",
    "ratio",
    "goal",
    "met",
    "command",
)
#: results other bench modules can reuse within one run (e.g. the sustainable collector rate)
SHARED: dict[str, Any] = {}


def row(
    stage: str,
    measure: str,
    value: float | None,
    unit: str,
    *,
    baseline: str = "—",
    baseline_value: float | None = None,
    ratio: float | None = None,
    goal: str = "—",
    met: bool | None = None,
    command: str = "python -m benchmarks",
    **extra: Any,
) -> dict[str, Any]:
    """One result row. ``ratio`` defaults to value / baseline_value when both are given."""
    if ratio is None and value is not None and baseline_value:
        ratio = value / baseline_value
    out = {
        "stage": stage,
        "measure": measure,
        "value": _round(value),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": _round(baseline_value),
        "ratio": _round(ratio, 3),
        "goal": goal,
        "met": met,
        "command": command,
    }
    out.update({k: _round(v) if isinstance(v, float) else v for k, v in extra.items()})
    return out


def _round(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return round(value, 1)
        return float(f"{value:.{digits}g}")
    return value


def command_for(module: str, quick: bool) -> str:
    return f"python -m benchmarks --only {module}" + (" --quick" if quick else "")


# -- payloads ------------------------------------------------------------------------------

_TEMPLATES: list[dict[str, Any]] | None = None


def event_templates() -> list[dict[str, Any]]:
    """The simulated lab's events (8 weeks, default teams) as contract-shaped dicts."""
    global _TEMPLATES
    if _TEMPLATES is None:
        from autoscope.simulation import plan_lab

        out = []
        for planned in plan_lab(seed=7, weeks=8).events:
            fields = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in planned.fields.items()}
            out.append(
                {"type": planned.type, "schema_version": 1, "source": {"tool": "bench", "version": "1.0"}, **fields}
            )
        _TEMPLATES = out
    return _TEMPLATES


class EventIds:
    """Unique, valid UUID-shaped event ids: a random run prefix and a counter."""

    def __init__(self) -> None:
        self.prefix = (
            f"{int.from_bytes(os.urandom(4), 'big'):08x}-{int.from_bytes(os.urandom(2), 'big'):04x}-7000-8000-"
        )
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"{self.prefix}{self.n:012x}"


def native_events(count: int, ids: EventIds | None = None) -> list[dict[str, Any]]:
    """``count`` events cycling through the lab's templates, each with a fresh event_id."""
    ids = ids or EventIds()
    templates = event_templates()
    return [{**templates[i % len(templates)], "event_id": ids.next()} for i in range(count)]


def native_bodies(batches: int, batch_size: int = 500) -> list[bytes]:
    ids = EventIds()
    return [msgspec.json.encode(native_events(batch_size, ids)) for _ in range(batches)]


def otlp_logs_request(batch_size: int, ids: EventIds) -> Any:
    """An ExportLogsServiceRequest of ``batch_size`` ``autoscope.<type>`` log records."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    def value(v: Any) -> AnyValue:
        if isinstance(v, bool):
            return AnyValue(bool_value=v)
        if isinstance(v, int):
            return AnyValue(int_value=v)
        if isinstance(v, float):
            return AnyValue(double_value=v)
        return AnyValue(string_value=str(v))

    templates = event_templates()
    records = []
    for i in range(batch_size):
        event = {**templates[i % len(templates)], "event_id": ids.next()}
        attributes = [KeyValue(key="event.name", value=AnyValue(string_value=f"autoscope.{event['type']}"))]
        for key, v in event.items():
            if key in ("type", "schema_version", "source") or v is None or isinstance(v, list):
                continue
            attributes.append(KeyValue(key=f"autoscope.{key}", value=value(v)))
        attributes.append(KeyValue(key="autoscope.source.tool", value=AnyValue(string_value="bench")))
        attributes.append(KeyValue(key="autoscope.source.version", value=AnyValue(string_value="1.0")))
        records.append(
            LogRecord(time_unix_nano=time.time_ns(), attributes=attributes, event_name=f"autoscope.{event['type']}")
        )
    resource = Resource(attributes=[KeyValue(key="service.name", value=AnyValue(string_value="bench"))])
    return ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=records)])]
    )


def otlp_bodies(batches: int, batch_size: int, kind: str) -> list[bytes]:
    from google.protobuf import json_format

    ids = EventIds()
    out = []
    for _ in range(batches):
        message = otlp_logs_request(batch_size, ids)
        if kind == "protobuf":
            out.append(message.SerializeToString())
        else:  # OTLP/JSON: ids as hex (none here), int64 as strings, as the SDK's exporter does
            out.append(json_format.MessageToJson(message, indent=None).encode())
    return out


def bodies_for(payload: str, batches: int, batch_size: int) -> tuple[list[bytes], str, str]:
    """(bodies, path, content type) for a payload kind: native, otlp-protobuf, otlp-json."""
    if payload == "native":
        return native_bodies(batches, batch_size), "/v1/events", "application/json"
    if payload == "otlp-protobuf":
        return otlp_bodies(batches, batch_size, "protobuf"), "/v1/logs", "application/x-protobuf"
    if payload == "otlp-json":
        return otlp_bodies(batches, batch_size, "json"), "/v1/logs", "application/json"
    raise ValueError(payload)


# -- processes -----------------------------------------------------------------------------


def measure_in_child(module: str, call: str, timeout_s: float) -> tuple[dict[str, Any] | None, str]:
    """Run ``benchmarks.<module>.<call>`` in a fresh interpreter (its memory and caches its own)
    and return the JSON it prints last, or None and the end of its stderr when it failed."""
    child = subprocess.run(
        [sys.executable, "-c", f"import json, benchmarks.{module} as b; print(json.dumps(b.{call}))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if child.returncode != 0:
        return None, child.stderr[-500:]
    return json.loads(child.stdout.strip().splitlines()[-1]), ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout_s: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


@contextlib.contextmanager
def embedded_broker() -> Iterator[Any]:
    """The embedded Tansu broker (the default deployment's Kafka) on a free port."""
    from autoscope.broker import EmbeddedBroker

    with EmbeddedBroker() as broker:
        yield broker


@contextlib.contextmanager
def collector_process(
    bootstrap: str, topic: str, workers: int = 1, data_dir: Path | None = None
) -> Iterator[tuple[subprocess.Popen, int, Path]]:
    """A collector (uvicorn, ``workers`` processes) in its own process; yields (proc, port, data dir)."""
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="autoscope-bench-")))
        port = free_port()
        log = open(data_dir / "collector.log", "ab")
        stack.callback(log.close)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.servers",
                "collector",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--bootstrap",
                bootstrap,
                "--topic",
                topic,
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", process=process)
            yield process, port, data_dir
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen, timeout_s: float = 20.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _process_tree_sum(pid: int, measure: Callable[[Any], float]) -> float:
    """``measure`` summed over ``pid`` and its children (uvicorn workers); 0 once it is gone."""
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            total += measure(proc)
        except psutil.NoSuchProcess:  # a worker that exited meanwhile
            pass
    return total


def process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children."""
    return _process_tree_sum(pid, lambda proc: sum(proc.cpu_times()[:2]))


def process_tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its children."""
    return int(_process_tree_sum(pid, lambda proc: proc.memory_info().rss))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def drive(
    port: int,
    server_pid: int,
    *,
    payload: str = "native",
    batch: int = 500,
    connections: int = 16,
    duration: float = 10.0,
    rate: float | None = None,
    distinct: int = 32,
    sample_rss_every_s: float | None = None,
) -> dict[str, Any]:
    """Run the load generator (a second process) against ``port``; adds the server's CPU
    seconds (``server_cpu_s``, process tree) over the load window and, if asked, RSS samples."""
    import threading

    cmd = [
        sys.executable,
        "-m",
        "benchmarks.loadgen",
        "--port",
        str(port),
        "--payload",
        payload,
        "--batch",
        str(batch),
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--distinct",
        str(distinct),
    ]
    if rate:
        cmd += ["--rate", str(rate)]
    gen = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert gen.stdin is not None and gen.stdout is not None
        line = gen.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError(f"load generator failed to start: {line!r}")
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            t0 = time.monotonic()
            while not stop.is_set():
                samples.append((time.monotonic() - t0, process_tree_rss(server_pid)))
                stop.wait(sample_rss_every_s)

        sampler = threading.Thread(target=sample, daemon=True)
        cpu0, wall0 = process_tree_cpu(server_pid), time.monotonic()
        if sample_rss_every_s:
            sampler.start()
        gen.stdin.write("GO\n")
        gen.stdin.flush()
        out = gen.stdout.readline()
        cpu1, wall1 = process_tree_cpu(server_pid), time.monotonic()
        stop.set()
        if sample_rss_every_s:
            sampler.join()
        gen.wait(30)
        result = json.loads(out)
    finally:
        if gen.poll() is None:
            gen.kill()
    result["server_cpu_s"] = cpu1 - cpu0
    result["window_s"] = wall1 - wall0
    result["rss_samples"] = samples
    return result
