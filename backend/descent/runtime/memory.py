"""A worker process's memory (resident set, from /proc): what it gives back when its last
session ends, and when it should be replaced (processes.py restores its sessions)."""

from __future__ import annotations

import ctypes
import gc
import time
from pathlib import Path

from descent.settings import Settings

RECYCLE_SPACING = 300.0  # seconds: a process is not replaced for its memory with sessions sooner after its start


class Memory:
    """A worker process's memory (resident set, from /proc): it releases what the allocator
    keeps when its last session ends, and says when it should be replaced: far above its
    size at start with no sessions left, or over the limit with sessions."""

    def __init__(self, settings: Settings) -> None:
        self.limit = settings.worker_memory_mb
        self.slack = settings.worker_idle_memory_mb
        self.baseline = resident_mb()
        self.had_sessions = False
        self.started = time.monotonic()

    def check(self, sessions: int) -> str | None:
        """Each second: why this process should be replaced now, or None."""
        if sessions:
            self.had_sessions = True
            if resident_mb() <= self.limit:
                return None
            release_memory()
            size = resident_mb()
            if size <= self.limit or time.monotonic() - self.started < RECYCLE_SPACING:  # (sessions this big: no loop)
                return None
            self.started = time.monotonic()  # (asked once)
            return f"{size:.0f} MB with {sessions} sessions, over the limit of {self.limit} MB"
        if not self.had_sessions:
            return None
        self.had_sessions = False  # its last session ended: give back what it held
        release_memory()
        size = resident_mb()
        if size > self.baseline + self.slack:
            return f"{size:.0f} MB without sessions, {size - self.baseline:.0f} MB over its {self.baseline:.0f} MB at start"
        return None


def resident_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MB (VmRSS; 0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def release_memory() -> None:
    """Give back what freed objects left: cycles to the allocator, then glibc's free pages
    (its arenas keep them otherwise) to the system."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # (not glibc)
        pass
