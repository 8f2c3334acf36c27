"""Server processes the suite measures from outside: ``python -m benchmarks.servers MODE ...``.

* ``collector``: the collector app under uvicorn (``--workers N`` forks N processes sharing the
  listening socket; each has its own spool under ``<data-dir>/worker-<i>`` and all share one
  pseudonym key), forwarding to ``--bootstrap``.
* ``service``: ``autoscope up``'s Service (embedded broker, ingester, collector) plus a
  visibility recorder: every 20 ms it reads the event_ids committed since its last look and
  notes when each became visible; on SIGTERM it writes ``{event_id: unix time}`` to
  ``<data-dir>/visible.json`` and stops the service.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path


def _collector_app():  # uvicorn factory: one per worker process
    from autoscope.collector.app import CollectorSettings, create_app
    from autoscope.collector.receivers.grpc_settings import GrpcSettings
    from autoscope.core.kafka_settings import KafkaSettings

    base = Path(os.environ["BENCH_DATA_DIR"])
    workers = int(os.environ.get("BENCH_WORKERS", "1"))
    data_dir = base
    if workers > 1:  # each worker its own spool; the slot is claimed with O_EXCL
        for slot in range(workers * 4):
            try:
                os.close(os.open(base / f"slot-{slot}.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            data_dir = base / f"worker-{slot}"
            break
    kafka = KafkaSettings(bootstrap_servers=os.environ["BENCH_BOOTSTRAP"], topic=os.environ["BENCH_TOPIC"])
    # no gRPC: the workers would all ask for its one port, and the benchmarks speak HTTP
    return create_app(CollectorSettings(data_dir=data_dir, kafka=kafka, grpc=GrpcSettings(port=None)))


def serve_collector(args: argparse.Namespace) -> None:
    import uvicorn

    from autoscope.collector.pseudonymize import load_or_create_key

    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    load_or_create_key(data_dir)  # one key for every worker
    os.environ.setdefault("AUTOSCOPE_PSEUDONYM_KEY_FILE", str(data_dir / "keys" / "pseudonym.key"))
    os.environ["BENCH_DATA_DIR"] = str(data_dir)
    os.environ["BENCH_WORKERS"] = str(args.workers)
    os.environ["BENCH_BOOTSTRAP"] = args.bootstrap
    os.environ["BENCH_TOPIC"] = args.topic
    uvicorn.run(
        "benchmarks.servers:_collector_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers if args.workers > 1 else None,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


def serve_service(args: argparse.Namespace) -> None:
    from autoscope.service import Service, ServiceSettings

    data_dir = Path(args.data_dir)
    service = Service(ServiceSettings(data_dir=data_dir, port=args.port, grpc_port=None)).start()
    visible: dict[str, float] = {}
    errors: list[str] = []
    stop = threading.Event()

    def poll(watermark: object) -> list[tuple]:
        # a cursor per poll, from the ingester of the moment: the service restarts a failed
        # ingester, and a cursor of the old one would fail (or see nothing) from then on
        cursor = service.cursor()
        try:
            if watermark is None:
                return cursor.execute("SELECT event_id, ingested_at FROM event_ids").fetchall()
            return cursor.execute(
                "SELECT event_id, ingested_at FROM event_ids WHERE ingested_at >= ?", [watermark]
            ).fetchall()
        finally:
            cursor.close()

    def record() -> None:
        watermark = None
        while not stop.is_set():
            try:
                rows = poll(watermark)
            except Exception as exc:  # noted in visible.json, never a silent stop
                errors.append(f"{type(exc).__name__}: {exc}")
                stop.wait(0.1)
                continue
            now = time.time()
            for event_id, ingested_at in rows:
                if event_id not in visible:
                    visible[event_id] = now
                if watermark is None or ingested_at > watermark:
                    watermark = ingested_at
            stop.wait(0.02)

    recorder = threading.Thread(target=record, daemon=True)
    recorder.start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(json.dumps({"endpoint": service.endpoint}), flush=True)
    while not stop.is_set():
        stop.wait(0.2)
    recorder.join(5)
    (data_dir / "visible.json").write_text(
        json.dumps({"visible": visible, "errors": errors[-20:], "error_count": len(errors)})
    )
    service.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.servers")
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("collector")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--data-dir", required=True)
    c.add_argument("--bootstrap", required=True)
    c.add_argument("--topic", required=True)
    c.add_argument("--workers", type=int, default=1)
    s = sub.add_parser("service")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--data-dir", required=True)
    args = parser.parse_args(argv)
    if args.mode == "collector":
        serve_collector(args)
    else:
        serve_service(args)


if __name__ == "__main__":
    sys.exit(main())
