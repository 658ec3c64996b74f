"""The per-tenant apply lock: a committed row that names its holder.

A second gsetup that wants the same tenant waits and says who holds it. A lock left by a
process that died on this host is taken over; a lock from another host is waited for until
``GSETUP_LOCK_TIMEOUT`` seconds, then reported (``gsetup db unlock`` removes it by hand).
The wait is told at once (holder and since when), then every few seconds.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gsetup.configdb.database import lock_timeout, set_busy_timeout
from gsetup.errors import ConflictError
from gsetup.interrupts import deferred_interrupt

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

POLL_SECONDS = 0.1
REPEAT_SECONDS = 10.0  # how often a long wait says it is still waiting

Reporter = Callable[[str], None]
# Where waits are told when the caller gave no progress callback: the CLI sets it (stderr).
wait_reporter: Reporter | None = None


@contextmanager
def tenant_lock(
    conn: Connection, tenant: str, holder: str, progress: Reporter | None = None
) -> Iterator[HeldLock]:
    """Hold the apply lock of ``tenant`` for the duration of the block.

    Taking and releasing the lock commit on ``conn`` (which has no transaction open), so
    other processes see the holder; the block then uses the same connection for its work.
    A process that holds the lock already (an install planning under it before applying)
    takes it again at no cost. Once taken, the files an interrupted run left pending are
    finished or undone (:mod:`gsetup.plan.pending`).
    """
    from gsetup.plan.pending import resolve

    tid = _tenant_id(conn, tenant)
    owner = _holder(conn, tid)
    if owner is not None and owner[1:3] == (socket.gethostname(), os.getpid()):
        yield HeldLock(tid, nested=True)
        return
    _acquire(conn, tid, tenant, holder, progress or wait_reporter)
    held = HeldLock(tid)
    try:
        resolve(conn, tid)
        yield held
    except BaseException:
        with deferred_interrupt():
            if conn.in_transaction():
                conn.rollback()
            _release(conn, tid, pid=os.getpid())
        raise
    if not held.released:
        with deferred_interrupt():
            _release(conn, tid, pid=os.getpid())


def _tenant_id(conn: Connection, tenant: str) -> int:
    from gsetup.configdb.tenants import tenant_id

    try:
        return tenant_id(conn, tenant)
    finally:
        conn.rollback()


def _acquire(
    conn: Connection, tid: int, tenant: str, holder: str, progress: Reporter | None
) -> None:
    """Insert the lock row, waiting (and saying for whom) while another process holds it.

    On SQLite a process inside its apply transaction holds the whole database: the attempt
    then fails at once (a short busy timeout) and counts as waiting, so the holder is named
    and ``GSETUP_LOCK_TIMEOUT`` is honoured instead of SQLite's own silent wait.
    """
    timeout = lock_timeout()
    start = time.monotonic()
    told: tuple[str, float] | None = None
    set_busy_timeout(conn, POLL_SECONDS)
    try:
        while not _try_acquire(conn, tid, holder):
            owner = _holder(conn, tid)
            here = owner is not None and owner[1] == socket.gethostname()
            if owner is not None and here and not process_alive(owner[2]):
                _release(conn, tid, pid=owner[2])
                continue
            description = _describe(owner) if owner else "another gsetup writing to the database"
            waited = time.monotonic() - start
            if waited > timeout:
                raise ConflictError(
                    f"tenant {tenant!r} is locked by {description}; wait for it to finish, or "
                    "run `gsetup db unlock` if that process is gone"
                )
            if progress and (told is None or told[0] != description):
                progress(f"waiting for tenant {tenant!r}, locked by {description}")
                told = (description, waited)
            elif progress and told is not None and waited - told[1] >= REPEAT_SECONDS:
                progress(f"still waiting for tenant {tenant!r} ({waited:.0f} s of {timeout:.0f})")
                told = (description, waited)
            time.sleep(POLL_SECONDS)
    finally:
        set_busy_timeout(conn, timeout)


def _describe(owner: tuple[str, str, int, datetime]) -> str:
    return f"{owner[0]} (pid {owner[2]} on {owner[1]}, since {owner[3]:%Y-%m-%d %H:%M:%S})"


@dataclass
class HeldLock:
    """A lock being held; :meth:`release_in` lets it go inside the apply's own transaction."""

    tenant_id: int
    released: bool = False
    nested: bool = False  # taken again by its holder, who releases it

    def release_in(self, conn: Connection) -> None:
        """Delete the lock row in ``conn``'s transaction: it goes with the commit, saving one."""
        from sqlalchemy import delete

        if self.nested:
            return

        from gsetup.configdb.models import ApplyLock

        conn.execute(
            delete(ApplyLock).where(
                ApplyLock.tenant_id == self.tenant_id,
                ApplyLock.pid == os.getpid(),
                ApplyLock.host == socket.gethostname(),
            )
        )
        self.released = True


def _try_acquire(conn: Connection, tid: int, holder: str) -> bool:
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError, OperationalError

    from gsetup.configdb.models import ApplyLock

    try:
        with conn.begin():
            conn.execute(
                insert(ApplyLock).values(
                    tenant_id=tid,
                    holder=holder,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    since=datetime.now(UTC),
                )
            )
    except IntegrityError:
        return False
    except OperationalError as exc:
        if conn.dialect.name == "sqlite" and "locked" in str(exc.orig):
            return False  # another process is inside its write transaction
        raise
    return True


def _holder(conn: Connection, tid: int) -> tuple[str, str, int, datetime] | None:
    from sqlalchemy import select

    from gsetup.configdb.models import ApplyLock

    row = conn.execute(
        select(ApplyLock.holder, ApplyLock.host, ApplyLock.pid, ApplyLock.since).where(
            ApplyLock.tenant_id == tid
        )
    ).first()
    conn.rollback()  # a read: never waits for a writer
    return (row[0], row[1], row[2], row[3]) if row else None


def _release(conn: Connection, tid: int, *, pid: int | None = None) -> None:
    from sqlalchemy import delete

    from gsetup.configdb.models import ApplyLock

    stmt = delete(ApplyLock).where(ApplyLock.tenant_id == tid)
    if pid is not None:
        stmt = stmt.where(ApplyLock.pid == pid, ApplyLock.host == socket.gethostname())
    with conn.begin():
        conn.execute(stmt)


def force_unlock(engine: Engine, tenant: str) -> bool:
    """Remove the tenant's lock whoever holds it; returns whether there was one."""
    with engine.connect() as conn:
        tid = _tenant_id(conn, tenant)
        had = _holder(conn, tid) is not None
        _release(conn, tid)
    return had


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def holding_lock(
    engine: Engine, tenant: str, holder: str, progress: Reporter | None = None
) -> Iterator[None]:
    """Hold ``tenant``'s lock around the reads a plan depends on and its apply.

    The apply takes the lock again at no cost; nothing can change the tenant between what
    was read and what is written, and files are put in place before another run starts.
    """
    with engine.connect() as conn, tenant_lock(conn, tenant, holder, progress):
        yield
