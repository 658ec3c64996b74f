"""A running member's control tokens: its own, which its role-changing routes want, and its
peer's, which it sends to the peer's ``/promote``.

Both are read from the configuration database again for each role-changing request, so a
token created, rotated or revoked while the stand-in runs (``gsetup dms token``) counts at
once, without a restart. A request that arrives while a read is under way waits for the next
one: a flood of requests makes one read at a time. While the database is out of reach, the
tokens last read stay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# The member's control token and its peer's as configured now ("": none); None when they
# cannot be read.
ControlReader = Callable[[], tuple[str, str] | None]


class ControlTokens:
    """The tokens the member started with, read again through ``reread`` when asked."""

    def __init__(self, own: str, peer: str, reread: ControlReader | None = None) -> None:
        self.own = own
        self.peer = peer
        self._reread = reread
        self._lock = asyncio.Lock()
        self._read_at = float("-inf")

    async def current(self) -> tuple[str, str]:
        """(own, peer's) as configured when the request arrived, or as last read."""
        from starlette.concurrency import run_in_threadpool

        asked = time.monotonic()
        async with self._lock:
            # A read begun after this request arrived has seen what was configured then.
            if self._reread is not None and self._read_at <= asked:
                self._read_at = time.monotonic()
                found = await run_in_threadpool(self._reread)
                if found is not None:
                    self.own, self.peer = found
        return self.own, self.peer
