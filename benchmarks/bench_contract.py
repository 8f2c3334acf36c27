"""The contract's decoding cost per event, with Structs built from the table in core/contract.py.

Measures ``collector.contract.decode_event`` (one event, validated and normalized: what a
native request pays per event) and ``decode_events`` (a Kafka message of 1,000 validated
events: what the ingester pays), over the sample events of every type in ``tests/event_samples``.
Baseline: msgspec decoding the same JSON into plain dicts, with no contract at all.

``python -m benchmarks.bench_contract --against REV`` also times the ``collector/contract.py``
of git revision REV (e.g. the hand-written Structs before issue 15) and checks that both
encode the decoded events to the same bytes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec

from benchmarks.common import command_for, row
from tests.event_samples import FIELDS, event

STAGE = "contract"
ROOT = Path(__file__).resolve().parents[1]


def _samples() -> tuple[list[bytes], bytes]:
    singles = [json.dumps(event(type_)).encode() for type_ in FIELDS]
    batch = json.dumps([event(type_) for type_ in FIELDS] * 125).encode()  # 1,000 events
    return singles, batch


def _per_event(contract: Any, number: int) -> tuple[float, float]:
    """Best-of-5 µs per event of decode_event and of decode_events."""
    singles, batch = _samples()
    one = min(timeit.repeat(lambda: [contract.decode_event(raw) for raw in singles], number=number, repeat=5))
    many = min(timeit.repeat(lambda: contract.decode_events(batch), number=max(1, number // 40), repeat=5))
    return one / (number * len(singles)) * 1e6, many / (max(1, number // 40) * 1000) * 1e6


def run(quick: bool = False) -> list[dict[str, Any]]:
    from autoscope.collector import contract

    number = 200 if quick else 2000
    singles, batch = _samples()
    plain = msgspec.json.Decoder()
    base = min(timeit.repeat(lambda: [plain.decode(raw) for raw in singles], number=number, repeat=5))
    base_us = base / (number * len(singles)) * 1e6
    one, many = _per_event(contract, number)
    command = command_for(STAGE, quick)
    return [
        row(
            STAGE,
            "decode_event: one event validated and normalized",
            one,
            "µs/event",
            baseline="msgspec JSON → dict, no contract",
            baseline_value=base_us,
            command=command,
        ),
        row(
            STAGE,
            "decode_events: a Kafka message of 1,000 validated events",
            many,
            "µs/event",
            baseline="msgspec JSON → dict, no contract",
            baseline_value=base_us,
            command=command,
        ),
    ]


def _contract_at(revision: str) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{revision}:collector/contract.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "contract_at_revision.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("contract_at_revision", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also time collector/contract.py at this git revision")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from autoscope.collector import contract

    number = 200 if args.quick else 2000
    candidates = {"this tree": contract}
    if args.against:
        candidates[args.against] = _contract_at(args.against)
    for name, module in candidates.items():
        one, many = _per_event(module, number)
        print(f"{name}: decode_event {one:.2f} µs/event, decode_events {many:.2f} µs/event")
    if args.against:
        _, batch = _samples()
        old = candidates[args.against]
        same = contract.encode_events(contract.decode_events(batch)) == old.encode_events(old.decode_events(batch))
        print(f"the same bytes for 1,000 decoded and re-encoded events: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
