"""Wake-ups between the processes sharing a PostgreSQL store.

A commit that leaves work due now (a submission, a driver event, an agent's action) is followed
by a NOTIFY of kind ``work`` naming the tenant and the runtime that sends it (which ignores
its own: it has told itself already); a turn that made offers sends one of kind ``offers``
naming the agents too. Each runtime that listens does so on a connection of its own, in a
thread: ``work`` wakes its worker loop, so no worker waits out its poll for another's commit;
``offers`` answers the agents waiting through it (``GET /agents/offers?wait=``). The polls
stay, for due times and as the fallback: a lost notification (a dropped listening
connection, a failed NOTIFY) only delays work until the next poll.

SQLite has no such thing and needs none: one process writes the embedded store, and it wakes
itself (``Runtime.work``, ``Runtime.watch_offers``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from gsetup.runtime.store import Store

log = logging.getLogger("gsetup.runtime.wakeups")

Kind = Literal["work", "offers"]
# What a notification is about: the kind, and for offers the agents offered to (None: any).
Noticed = Callable[[Kind, "frozenset[str] | None"], None]

CHANNEL = "gsetup_runtime"
# PostgreSQL refuses payloads of 8,000 bytes or more; a longer list of agents is sent as
# "any agent".
MAX_PAYLOAD = 7900
# Seconds the listening thread waits for a notification before it looks at its stop flag;
# also the first pause before it connects again after losing its connection.
LISTEN_TIMEOUT = 0.5
# The longest pause between attempts while the server stays down: each failure doubles it,
# so a store down for an hour logs a few hundred lines, not one every half second. What is
# missed meanwhile only waits for the polls.
MAX_RECONNECT_PAUSE = 8.0


def notify(
    store: Store, sender: str, tenant: str, kind: Kind, agents: Collection[str] = ()
) -> None:
    """PostgreSQL: tell the runtimes listening on ``store``, but the one that is ``sender``,
    that ``tenant`` has new work or new offers (to ``agents``). What they are about is
    committed already, so a failure is logged, not raised: the polls find it."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.configdb.database import first_line

    if not store.postgresql:
        return
    head = f"{kind} {sender} {tenant}"
    payload = "\n".join((head, *sorted(agents)))
    if len(payload.encode()) > MAX_PAYLOAD:
        payload = head
    try:
        with store.autocommit() as conn:
            conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": payload},
            )
    except SQLAlchemyError as exc:
        log.warning("event=notify-failed tenant=%r reason=%r", tenant, first_line(exc))


def parse(payload: str, me: str, tenant: str) -> tuple[Kind, frozenset[str] | None] | None:
    """What a notification says about ``tenant``; None when it is about another, or was
    sent by ``me`` (a runtime tells itself directly)."""
    head, *agents = payload.split("\n")
    kind, sender, about = [*head.split(" ", 2), "", ""][:3]
    if about != tenant or sender == me:
        return None
    if kind == "work":
        return "work", None
    if kind == "offers":
        return "offers", frozenset(agents) if agents else None
    return None


class Listener:
    """A thread that calls ``noticed`` for each notification about ``tenant`` from another
    runtime than ``me``."""

    def __init__(self, store: Store, me: str, tenant: str, noticed: Noticed) -> None:
        self.store, self.me, self.tenant, self.noticed = store, me, tenant, noticed
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"gsetup-listen-{tenant}", daemon=True
        )
        self.listening = threading.Event()  # set while the connection listens

    def start(self) -> None:
        """Start listening (in the background)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and close the connection; returns within about a second."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10 * LISTEN_TIMEOUT)

    def _run(self) -> None:
        import psycopg
        from sqlalchemy.exc import SQLAlchemyError

        from gsetup.configdb.database import first_line

        pause = LISTEN_TIMEOUT
        while not self._stopping.is_set():
            try:
                self._listen()
            except (SQLAlchemyError, psycopg.Error) as exc:
                if self.listening.is_set():  # it had listened: the server is back, or was
                    self.listening.clear()
                    pause = LISTEN_TIMEOUT
                log.warning(
                    "event=listen-failed tenant=%r reason=%r retry_in=%.1f",
                    self.tenant,
                    first_line(exc),
                    pause,
                )
                self._stopping.wait(pause)
                pause = min(2 * pause, MAX_RECONNECT_PAUSE)

    def _listen(self) -> None:
        pooled = self.store.engine.raw_connection()
        conn: Any = pooled.driver_connection
        pooled.detach()  # closed, never pooled again: it is left in autocommit and LISTENing
        try:
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            # What was sent while this thread was not listening is lost: look once.
            self.noticed("work", None)
            self.noticed("offers", None)
            while not self._stopping.is_set():
                for note in conn.notifies(timeout=LISTEN_TIMEOUT):
                    said = parse(note.payload, self.me, self.tenant)
                    if said is not None:
                        self.noticed(*said)
        finally:
            # The driver's own close: the pool's would first roll back (a reset this
            # autocommit connection does not need) and log a lost connection's failed
            # rollback as an error, with its traceback.
            conn.close()
