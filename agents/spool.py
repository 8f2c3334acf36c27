"""A bounded local spool for events the collector could not take while it was unreachable.

The spool is a directory of immutable segment files, one JSON event per line. A segment is
written under a temporary name, fsync'd and renamed, so a reader never sees half of one. To
re-send a segment, a process *claims* it by renaming it (atomic: two processes sharing the
directory never both claim one); a claim whose process died is taken over. Re-sending a
line twice is harmless because event_id is the idempotency key end to end.

Events the collector refused one by one for a reason no re-send can fix (a single event
over its size limit, or one it could not read) are *set aside* under ``refused/``, one JSON
line each with the answer, so that nothing the hooks were given is lost without a trace.

Only the exporter's background thread uses a Spool (and ``autoscope emit``, in its own
process); it is not thread-safe.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import os
from pathlib import Path

from autoscope.agents.config import Settings

_SEGMENT_PREFIX = "seg-"
_SEGMENT_SUFFIX = ".jsonl"
_CLAIM_MARK = ".claimed-"
REFUSED_DIR = "refused"


@dataclasses.dataclass
class Claim:
    """A segment this process took to re-send; ``lines`` are its events."""

    path: Path
    lines: list[bytes]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists but belongs to someone else
        return True
    return True


class Spool:
    """Segments under ``directory``, holding at most ``max_bytes`` in all."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._counter = itertools.count()

    def _entries(self) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(self.directory) as it:
                return sorted((e for e in it if e.name.startswith(_SEGMENT_PREFIX)), key=lambda e: e.name)
        except FileNotFoundError:
            return []

    def size_bytes(self) -> int:
        total = 0
        for entry in self._entries():
            try:
                total += entry.stat().st_size
            except FileNotFoundError:
                pass
        return total

    def has_pending(self) -> bool:
        """Whether a segment waits to be re-sent (claimed ones of live processes excepted)."""
        return any(self._claimable(e.name) for e in self._entries())

    def write(self, lines: list[bytes], *, bounded: bool = True) -> int:
        """Write ``lines`` as a new segment; returns how many fit (the rest are not written)."""
        if bounded:
            room = self.max_bytes - self.size_bytes()
            kept: list[bytes] = []
            for line in lines:
                room -= len(line) + 1
                if room < 0:
                    break
                kept.append(line)
            lines = kept
        if not lines:
            return 0
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{_SEGMENT_PREFIX}{os.getpid()}-{next(self._counter):08d}"
        final = self.directory / f"{name}-{os.urandom(4).hex()}{_SEGMENT_SUFFIX}"
        temporary = self.directory / f".{final.name}.tmp"
        with temporary.open("wb") as handle:
            handle.write(b"\n".join(lines) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        return len(lines)

    @property
    def refused_directory(self) -> Path:
        return self.directory / REFUSED_DIR

    def set_aside(self, lines: list[bytes], answer: str) -> int:
        """Keep events refused for good under ``refused/`` with the collector's ``answer``;
        how many were kept (within ``max_bytes`` of their own)."""
        refused = Spool(self.refused_directory, self.max_bytes)
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        records = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                event = line.decode("utf-8", "replace")
            records.append(json.dumps({"refused_at": at, "answer": answer, "event": event}).encode())
        return refused.write(records)

    def _claimable(self, name: str) -> bool:
        if name.endswith(_SEGMENT_SUFFIX):
            return True
        _, mark, pid = name.rpartition(_CLAIM_MARK)
        return bool(mark) and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))

    def claim(self) -> Claim | None:
        """Take the oldest segment waiting to be re-sent, or None when there is none."""
        for entry in self._entries():
            if not self._claimable(entry.name):
                continue
            base = entry.name.split(_CLAIM_MARK)[0]
            target = self.directory / f"{base}{_CLAIM_MARK}{os.getpid()}"
            try:
                os.rename(entry.path, target)
                data = target.read_bytes()
            except FileNotFoundError:  # another process claimed it first
                continue
            return Claim(target, [line for line in data.split(b"\n") if line.strip()])
        return None

    def release(self, claim: Claim, remaining: list[bytes]) -> None:
        """Give back the part of a claim that could not be sent; it is re-sent later."""
        self.write(remaining, bounded=False)
        self.done(claim)

    def done(self, claim: Claim) -> None:
        """Forget a claim whose events were all answered by the collector."""
        try:
            claim.path.unlink()
        except FileNotFoundError:
            pass


def spool_for(settings: Settings) -> Spool:
    """The spool of ``settings``' collector: one subdirectory per collector URL."""
    url_key = hashlib.sha256(settings.collector_url.encode()).hexdigest()[:12]
    return Spool(settings.spool_dir / url_key, settings.spool_max_bytes)
