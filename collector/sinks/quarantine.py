"""Where rejected events go: kept with their reason and sender, scrubbed of identities.

Nothing is dropped silently: every event the collector rejects is answered to its sender and
appended here (JSON lines, one file per UTC day, fsync'd). Before anything is written the
payload is scrubbed: ``actor`` and ``reviewer`` become pseudonyms, any other string (or key)
that is not a plain label (free text, anything with a space or an ``@``) is replaced by a
marker, and a payload that is not JSON at all is kept only as its size and SHA-256. The field
and reason are kept in the same spirit: a reason quotes the sender's value only when it is a
plain label (:attr:`ContractError.kept_reason`), so ``"outcome": "ada@lab.example"`` is told
back to its sender but never written here. An operator can list the quarantine, fix a mapping
and replay (``autoscope quarantine``). The count per reason is ``/metrics``'
``autoscope_events_rejected{field}``: every rejected event is kept here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from autoscope.collector.pipeline import Batch

_LABEL = re.compile(r"^[A-Za-z0-9_.:/+\-]{0,128}$")
_IDENTITY_KEYS = {"actor", "reviewer"}


def scrub(value: Any, pseudonym_of: Callable[[str], str], key: str | None = None) -> Any:
    """A copy of a decoded payload with identities pseudonymized and free text removed."""
    if isinstance(value, dict):
        return {
            (k if _LABEL.match(k) else f"[redacted key {i}: {len(k)} characters]"): scrub(v, pseudonym_of, k)
            for i, (k, v) in enumerate(value.items())
        }
    if isinstance(value, list):
        return [scrub(v, pseudonym_of) for v in value]
    if isinstance(value, str):
        if key in _IDENTITY_KEYS:
            return pseudonym_of(value)
        if not _LABEL.match(value):
            return f"[redacted: {len(value)} characters of free text]"
    return value


def scrubbed_payload(raw: Any, pseudonym_of: Callable[[str], str]) -> dict[str, Any]:
    """The stored form of a rejected item's raw payload (bytes or an already-mapped dict).

    A payload nested too deeply to walk (or to decode) is kept as its size and SHA-256, like
    one that is not JSON: its structure is why it was rejected."""
    if isinstance(raw, (bytes, bytearray, memoryview, msgspec.Raw)):
        data = bytes(raw)
        try:
            return {"event": scrub(msgspec.json.decode(data), pseudonym_of)}
        except (msgspec.DecodeError, UnicodeDecodeError):
            return {"not_json": True, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        except RecursionError:
            return {"too_deep": True, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    try:
        return {"event": scrub(raw, pseudonym_of)}
    except RecursionError:
        return {"too_deep": True}


class Quarantine:
    """Rejected events of one collector.

    Parameters:
        directory: where the daily ``quarantine-YYYY-MM-DD.jsonl`` files go.
        pseudonym_of: the collector's pseudonymizer.
    """

    def __init__(self, directory: Path, pseudonym_of: Callable[[str], str]) -> None:
        self.directory = directory
        self.pseudonym_of = pseudonym_of
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def keep(self, batch: Batch, source: str = "native") -> int:
        """Append every rejected item of ``batch``; returns how many were kept."""
        rejected = batch.rejected_items()
        if not rejected:
            return 0
        lines = []
        for item in rejected:
            assert item.error is not None
            entry_id = hashlib.sha256(f"{batch.received_at.isoformat()}|{id(batch)}|{item.index}".encode()).hexdigest()[
                :16
            ]
            lines.append(
                json.dumps(
                    {
                        "id": entry_id,
                        "received_at": batch.received_at.isoformat(),
                        "sender": batch.sender.name,
                        "source": source,
                        "field": item.error.kept_field,
                        "reason": item.error.kept_reason,
                        "payload": scrubbed_payload(item.raw, self.pseudonym_of),
                    },
                    separators=(",", ":"),
                )
            )
        day = batch.received_at.astimezone(dt.UTC).date().isoformat()
        path = self.directory / f"quarantine-{day}.jsonl"
        with self._lock:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("\n".join(lines) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        return len(rejected)


def read_quarantine(directory: Path) -> Iterator[dict[str, Any]]:
    """Every quarantined entry, oldest first, with ``replayed`` set from the replay log."""
    replayed = set()
    log = directory / "replayed.txt"
    if log.exists():
        replayed = set(log.read_text(encoding="utf-8").split())
    for path in sorted(directory.glob("quarantine-*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    entry = json.loads(line)
                    entry["replayed"] = entry["id"] in replayed
                    yield entry


def mark_replayed(directory: Path, entry_ids: list[str]) -> None:
    """Record that these entries were accepted on replay (the files stay append-only)."""
    with open(directory / "replayed.txt", "a", encoding="utf-8") as handle:
        handle.write("".join(f"{entry_id}\n" for entry_id in entry_ids))
        handle.flush()
        os.fsync(handle.fileno())


def quarantine_summary(directory: Path, top: int = 5) -> dict[str, Any]:
    """What the quarantine holds: how many entries, how many not yet replayed, the newest
    one's time, and the ``top`` most frequent (field, reason) pairs (for ``autoscope status``)."""
    total = waiting = 0
    last: str | None = None
    reasons: dict[tuple[str, str], int] = {}
    if directory.exists():
        for entry in read_quarantine(directory):
            total += 1
            waiting += not entry["replayed"]
            last = max(last or entry["received_at"], entry["received_at"])
            pair = (entry["field"], entry["reason"])
            reasons[pair] = reasons.get(pair, 0) + 1
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {
        "entries": total,
        "not_replayed": waiting,
        "last_received_at": last,
        "top_reasons": [{"field": f, "reason": r, "count": n} for (f, r), n in ranked],
    }
