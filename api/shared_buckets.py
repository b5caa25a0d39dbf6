"""Token buckets shared by the worker processes of one server: a table in a memory-mapped file.

With `WORKERS=N`, per-process buckets would let a client (or a partner key, or someone
trilaterating a home) have N times its limits, depending on which worker accepted each
connection. `python -m api serve` creates one table file before starting uvicorn and hands its
path to the workers (`RATE_LIMIT_TABLE`); each worker maps it and takes an exclusive `fcntl`
lock around each operation's few slot reads and writes (microseconds; no database round trip,
no broker).

The table is open-addressed: a key's 64-bit BLAKE2b digest picks a slot, and up to PROBES slots
after it are searched. When all of them hold other keys, the one updated longest ago is
reused: that bucket had refilled the most, so forgetting it is the smallest error (the
in-process buckets forget their least recently used keys the same way).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

SLOT = struct.Struct("=Qdd")
"""Key digest (0 = free), tokens, last update (seconds of CLOCK_MONOTONIC, shared by processes)."""
SLOTS = 1 << 16
"""65,536 buckets over 1.5 MiB: more than the clients a 2-core server serves in a minute."""
PROBES = 16


def server_table(data_dir: Path) -> Path:
    """The table of this server process, after deleting those of servers no longer running
    (a server killed outright cannot remove its own)."""
    for stale in data_dir.glob("rate-limits-*.bin"):
        pid = stale.stem.removeprefix("rate-limits-")
        if pid.isdigit() and not is_running(int(pid)):
            stale.unlink(missing_ok=True)
    return data_dir / f"rate-limits-{os.getpid()}.bin"


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def create_table(path: Path, *, slots: int = SLOTS) -> None:
    """A zeroed table (every slot free), created or emptied by the process that owns the server."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(SLOT.size * slots)


class SharedTokenBuckets:
    """The `acquire` of `api.ratelimit.TokenBuckets`, over the table at `path`.

    `family` separates the limits that share the table (operations, proximity searches): the
    same client has one bucket in each.
    """

    def __init__(
        self,
        path: Path,
        per_minute: int,
        *,
        family: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate_per_s = per_minute / 60
        self.family = family
        self.clock = clock
        self.fd = os.open(path, os.O_RDWR)
        size = os.fstat(self.fd).st_size
        if size == 0 or size % SLOT.size:
            raise ValueError(f"{path} is not a rate-limit table (size {size})")
        self.slots = size // SLOT.size
        self.table = mmap.mmap(self.fd, size)

    def close(self) -> None:
        self.table.close()
        os.close(self.fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fcntl.lockf(self.fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN)

    def _digest(self, key: str) -> int:
        raw = hashlib.blake2b(f"{self.family}\0{key}".encode(), digest_size=8).digest()
        return int.from_bytes(raw, "little") or 1  # 0 marks a free slot

    def _offset(self, digest: int, now: float) -> int:
        """The slot of `digest`, claimed (full bucket) when it has none."""
        free: int | None = None
        stalest: tuple[float, int] | None = None
        for probe in range(PROBES):
            offset = ((digest + probe) % self.slots) * SLOT.size
            held, _, updated = SLOT.unpack_from(self.table, offset)
            if held == digest:
                return offset
            if held == 0:
                free = offset if free is None else free
            elif stalest is None or updated < stalest[0]:
                stalest = (updated, offset)
        if free is not None:
            offset = free
        else:
            assert stalest is not None
            offset = stalest[1]
        SLOT.pack_into(self.table, offset, digest, self.capacity, now)
        return offset

    def acquire(self, keys: Sequence[str], amount: int) -> float:
        """Take `amount` tokens from every key's bucket, or from none; 0, or seconds to wait."""
        with self._locked():
            now = self.clock()
            buckets = []
            for key in keys:
                digest = self._digest(key)
                offset = self._offset(digest, now)
                _, tokens, updated = SLOT.unpack_from(self.table, offset)
                elapsed = max(now - updated, 0.0)
                tokens = min(self.capacity, tokens + elapsed * self.rate_per_s)
                buckets.append((offset, digest, tokens))
            wait_s = max(
                ((amount - tokens) / self.rate_per_s for *_, tokens in buckets), default=0.0
            )
            granted = wait_s <= 0
            for offset, digest, tokens in buckets:
                SLOT.pack_into(
                    self.table, offset, digest, tokens - amount if granted else tokens, now
                )
        if granted:
            return 0.0
        return min(wait_s, self.capacity / self.rate_per_s)
