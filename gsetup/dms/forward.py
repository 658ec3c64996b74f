"""Forward the spool to the routing runtime's intake, in order, retrying until it answers.

The intake is idempotent on (channel, external id), so a forward that is retried after an
answer was lost is not duplicated. An interaction is dropped from the spool only once the
intake took it (2xx) or already had it (409); one it refuses for good (another 4xx) is set
aside in ``rejected/``; anything else (unreachable, 5xx, a refused token) is retried, and
makes it read the intake's URL and token again (a rotated token, a moved runtime, an
intake set only after the stand-in started are followed without a restart).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gsetup.dms.spool import Spool
from gsetup.httpclient import tls

if TYPE_CHECKING:
    import httpx

_RETRY_SECONDS = 0.2
_IDLE_SECONDS = 1.0
_KEEP_AND_RETRY = {401, 403, 408, 425, 429}
_REREAD_SECONDS = 5.0

# The intake's URL and token as configured now; None when they cannot be read.
IntakeReader = Callable[[], tuple[str, str] | None]


class Forwarder(threading.Thread):
    """The thread that empties the spool into the intake."""

    def __init__(
        self, spool: Spool, url: str, token: str, reread: IntakeReader | None = None
    ) -> None:
        super().__init__(name="dms-forwarder", daemon=True)
        self.spool = spool
        self.url = url
        self.token = token
        self._reread = reread
        self._reread_at = time.monotonic()
        self.wake = threading.Event()
        self.halt = threading.Event()
        self.last_error = ""
        self.forwarded = 0

    def run(self) -> None:
        """Forward until halted; wait for :attr:`wake` when the spool is empty."""
        import httpx

        with httpx.Client(timeout=5.0, verify=tls()) as client:
            while not self.halt.is_set():
                self.wake.clear()
                pending = self.spool.pending()
                if not pending:
                    self.wake.wait(_IDLE_SECONDS)
                    continue
                for path in pending:
                    if self.halt.is_set() or not self._forward(client, path):
                        self._follow_configuration()
                        self.halt.wait(_RETRY_SECONDS)
                        break

    def _follow_configuration(self) -> None:
        """After a failed forward: the URL and token the configuration holds now, read at
        most every few seconds."""
        now = time.monotonic()
        if self._reread is None or now - self._reread_at < _REREAD_SECONDS:
            return
        self._reread_at = now
        current = self._reread()
        if current is not None and all(current):
            self.url, self.token = current

    def _forward(self, client: httpx.Client, path: Path) -> bool:
        import httpx

        if not self.url:
            self.last_error = "no intake: [gsetup-runtime] intake-url is not set"
            return False

        try:
            headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            answer = client.post(self.url, content=path.read_bytes(), headers=headers)
        except FileNotFoundError:
            return True  # already forwarded
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # InvalidURL (an intake-url set by hand, not parsable) is no HTTPError: uncaught,
            # it ended the thread and the stand-in forwarded nothing more, without a word.
            self.last_error = f"{self.url}: {type(exc).__name__}"
            return False
        if answer.status_code < 300 or answer.status_code == 409:
            self.spool.done(path)
            self.forwarded += 1
            self.last_error = ""
            return True
        self.last_error = f"{self.url}: HTTP {answer.status_code}"
        if 400 <= answer.status_code < 500 and answer.status_code not in _KEEP_AND_RETRY:
            self.spool.reject(path, f"{self.last_error}: {_reason(answer)}")
            return True
        return False


def _reason(answer: httpx.Response) -> str:
    """The intake's ``{"error": reason}``, else the start of what it answered."""
    try:
        data = answer.json()
    except ValueError:
        data = None
    reason = data.get("error") if isinstance(data, dict) else None
    return str(reason)[:500] if reason else answer.text[:200]
