"""Real and virtual time. Every due time in the store is measured with the runtime's clock."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds since the epoch, as a float."""

    def now(self) -> float:
        """The current time."""


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()


class VirtualClock:
    """Time that moves only when told: tests and the simulator run 31 days in milliseconds."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start

    def now(self) -> float:
        """The virtual time."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (never back); returns the new time."""
        if seconds < 0:
            raise ValueError("a virtual clock only moves forward")
        self._now += seconds
        return self._now
