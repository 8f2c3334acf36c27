"""The durable spool: append-only segment files that make a 2xx mean "on disk".

Every accepted request becomes one or more *records* (each the value of one future Kafka
message) appended to the active segment and fsync'd before the collector answers. The
:class:`~autoscope.collector.sinks.forwarder.Forwarder` drains segments to Kafka and deletes
a segment only when it is sealed and every record in it was acknowledged.

Record framing: ``length (u32 BE) | crc32 (u32 BE) | payload``. A torn record at the tail of
a segment (a crash mid-write, before the fsync, so never acknowledged to a client) fails its
length or CRC check and is cut off on open.

Group commit: concurrent appends (the collector runs them on worker threads, one per request)
each write their bytes under the lock, then share fsyncs: one thread fsyncs for every append
written before it started, the others wait for it rather than issue their own. An append
returns only once an fsync that began after its write has finished, so a 2xx still means
"on disk"; the forwarder only sees records once they are durable (``size_of`` counts synced
bytes only).

Segments are named ``segment-<sequence>.log`` with a zero-padded, ever-growing sequence, so
their order on disk is the order of acceptance.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

_HEADER = struct.Struct(">II")
log = logging.getLogger(__name__)
_PREFIX, _SUFFIX = "segment-", ".log"


class SpoolFull(RuntimeError):
    """The spool reached its cap; the sender should retry after a short wait."""


def _segment_name(sequence: int) -> str:
    return f"{_PREFIX}{sequence:016d}{_SUFFIX}"


def _sequence(path: Path) -> int:
    return int(path.name[len(_PREFIX) : -len(_SUFFIX)])


def read_records(path: Path, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """Yield ``(end_position, payload)`` for each whole, intact record from ``start`` on."""
    with open(path, "rb") as handle:
        handle.seek(start)
        position = start
        while True:
            header = handle.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            length, crc = _HEADER.unpack(header)
            payload = handle.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                return
            position += _HEADER.size + length
            yield position, payload


def _intact_length(path: Path) -> int:
    end = 0
    for end, _ in read_records(path):  # noqa: B007  the last record's end is the intact length
        pass
    return end


class Spool:
    """Segment files under ``directory``, appended to by the collector's request handlers.

    Parameters:
        directory: where segments live (created if missing).
        max_bytes: the cap on all segments together; appends beyond it raise SpoolFull.
        segment_bytes: the active segment is sealed once it grows past this.
        fsync: fsync each append before returning (turn off only in throwaway benchmarks).
    """

    def __init__(
        self,
        directory: Path,
        max_bytes: int = 1024**3,
        segment_bytes: int = 16 * 1024**2,
        fsync: bool = True,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()  # the forwarder reads sizes while holding `appended`
        self.appended = threading.Condition(self._lock)
        # Held by the one thread fsyncing (and by whoever seals or closes the active handle,
        # so the handle being fsync'd is never closed under it). Order: _sync_lock, then _lock.
        self._sync_lock = threading.Lock()
        self._sizes: dict[int, int] = {}  # durable bytes per segment (what readers may see)
        self._written: dict[int, int] = {}  # bytes written per segment, synced or not
        self._write_seq = 0  # appends written so far
        self._synced_seq = 0  # appends known durable
        self.fsyncs = 0  # fsync calls made for appends (fewer than appends under concurrency)
        self.cut_bytes = 0  # bytes moved aside on open (a torn tail, or damage)
        for path in sorted(directory.glob(f"{_PREFIX}*{_SUFFIX}")):
            # cut a torn tail left by a crash, so appends continue after the last good record
            intact = _intact_length(path)
            if intact != path.stat().st_size:
                self._set_aside(path, intact)
            self._sizes[_sequence(path)] = intact
            self._written[_sequence(path)] = intact
        # replayed segments are sealed: new records always go to a new segment
        self._active = max(self._sizes, default=0) + 1
        self._handle = self._open_active()

    def _set_aside(self, path: Path, intact: int) -> None:
        """Keep what follows the last intact record in ``<segment>.cut`` before truncating.

        After a crash that is a torn append, never acknowledged. A bad record in the middle of a
        segment (a damaged disk) would hide the acknowledged records after it, so the bytes are
        kept for an operator rather than thrown away, and the cut is logged."""
        with open(path, "r+b") as handle:
            handle.seek(intact)
            tail = handle.read()
            aside = path.with_name(path.name + ".cut")
            with open(aside, "ab") as kept:
                kept.write(tail)
                kept.flush()
                if self.fsync:
                    os.fsync(kept.fileno())
            handle.truncate(intact)
        self.cut_bytes += len(tail)
        log.warning(
            "spool %s: %d bytes after the last intact record (offset %d) moved to %s",
            path.name,
            len(tail),
            intact,
            aside.name,
        )

    def _open_active(self):  # type: ignore[no-untyped-def]
        self._sizes[self._active] = 0
        self._written[self._active] = 0
        handle = open(self.directory / _segment_name(self._active), "ab")
        if self.fsync:  # make the new file's directory entry durable too
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return handle

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(self._written.values())

    @property
    def active_sequence(self) -> int:
        with self._lock:
            return self._active

    def path_of(self, sequence: int) -> Path:
        return self.directory / _segment_name(sequence)

    def segments(self) -> list[int]:
        """Sequences of the segments on disk, oldest first (the active one last)."""
        with self._lock:
            return sorted(self._sizes)

    def size_of(self, sequence: int) -> int:
        with self._lock:
            return self._sizes.get(sequence, 0)

    def append(self, payloads: list[bytes]) -> None:
        """Write ``payloads`` as records and fsync them; raises SpoolFull at the cap.

        Returns once the records are durable. Concurrent callers share fsyncs (group commit).
        """
        data = b"".join([_HEADER.pack(len(p), zlib.crc32(p)) + p for p in payloads])
        with self._lock:
            if sum(self._written.values()) + len(data) > self.max_bytes:
                raise SpoolFull(f"the spool holds its cap of {self.max_bytes} bytes")
            self._handle.write(data)
            self._written[self._active] += len(data)
            self._write_seq += 1
            ticket = self._write_seq
            if not self.fsync:
                self._handle.flush()
                self._synced_seq = ticket
                self._publish_locked(self._active, self._written[self._active])
                if self._written[self._active] >= self.segment_bytes:
                    self._seal_locked()
                return
        self._sync_through(ticket)

    def _sync_through(self, ticket: int) -> None:
        """Make every append up to ``ticket`` durable, with one fsync for all waiting appends."""
        with self._sync_lock:
            with self._lock:
                if self._synced_seq >= ticket:  # an fsync that started after our write covered it
                    return
                self._handle.flush()
                covered = self._write_seq  # everything written so far is in the OS's buffers
                sequence, size, handle = self._active, self._written[self._active], self._handle
            # outside `_lock`: other requests keep writing while the disk works. The handle
            # cannot be closed meanwhile: sealing and closing need `_sync_lock`.
            os.fsync(handle.fileno())
            with self._lock:
                self.fsyncs += 1
                self._synced_seq = max(self._synced_seq, covered)
                self._publish_locked(sequence, size)
                if self._written[self._active] >= self.segment_bytes:
                    self._seal_locked()

    def _publish_locked(self, sequence: int, size: int) -> None:
        """``size`` bytes of segment ``sequence`` are durable (a record boundary): show them."""
        if size > self._sizes.get(sequence, 0):
            self._sizes[sequence] = size
        self.appended.notify_all()

    def seal_active(self) -> int | None:
        """Seal the active segment if it holds anything; returns the sealed sequence."""
        with self._sync_lock, self._lock:
            if self._written[self._active] == 0:
                return None
            return self._seal_locked()

    def _seal_locked(self) -> int:
        """Close the active segment (durably) and open the next; needs both locks when fsyncing."""
        sealed = self._active
        self._handle.flush()
        if self.fsync and self._sizes[sealed] != self._written[sealed]:
            os.fsync(self._handle.fileno())
            self.fsyncs += 1
        self._synced_seq = self._write_seq
        self._sizes[sealed] = self._written[sealed]
        self._handle.close()
        self._active += 1
        self._handle = self._open_active()
        self.appended.notify_all()
        return sealed

    def delete(self, sequence: int) -> None:
        """Remove a sealed segment whose every record Kafka acknowledged."""
        with self._lock:
            if sequence == self._active:
                raise ValueError("the active segment cannot be deleted")
            self._sizes.pop(sequence, None)
            self._written.pop(sequence, None)
            self.path_of(sequence).unlink(missing_ok=True)

    def close(self) -> None:
        with self._sync_lock, self._lock:
            self._handle.close()
            if self._written.get(self._active) == 0:  # leave no empty segment behind
                self._sizes.pop(self._active)
                self._written.pop(self._active)
                self.path_of(self._active).unlink(missing_ok=True)
