"""A running member's control tokens and its peer: its own token, which its role-changing
routes want, and its peer's address and token, where and with what it asks the peer to
``/promote``.

They are read from the configuration database again for each role-changing request, so a
token created, rotated or revoked while the stand-in runs (``gsetup dms token``), and a peer
moved to another host or port (``gsetup app update``, then restarted there), count at once,
without a restart. Which application is the peer stays the one the member started with. A
request that arrives while a read is under way waits for the next one: a flood of requests
makes one read at a time. While the database is out of reach (or the peer's address is
unset), what was last read stays.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from gsetup.dms.settings import Peer

# The member's control token ("": none) and its peer as configured now; None when they
# cannot be read.
ControlReader = Callable[[], tuple[str, Peer | None] | None]


class ControlTokens:
    """The token and peer the member started with, read again through ``reread`` when
    asked."""

    def __init__(self, own: str, peer: Peer | None, reread: ControlReader | None = None) -> None:
        self.own = own
        self.peer = peer
        self._reread = reread
        self._lock = asyncio.Lock()
        self._read_at = float("-inf")

    async def current(self) -> tuple[str, Peer | None]:
        """(own token, peer) as configured when the request arrived, or as last read."""
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
