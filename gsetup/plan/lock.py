"""The per-tenant apply lock: a committed row that names its holder.

A second gsetup that wants the same tenant waits and says who holds it. A lock left by a
process that died on this host is taken over; a lock from another host is waited for until
``GSETUP_LOCK_TIMEOUT`` seconds, then reported (``gsetup db unlock`` removes it by hand).
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

from gsetup.errors import ConflictError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

LOCK_TIMEOUT_ENV = "GSETUP_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 120.0
POLL_SECONDS = 0.1


@contextmanager
def tenant_lock(
    conn: Connection, tenant: str, holder: str, progress: Callable[[str], None] | None = None
) -> Iterator[HeldLock]:
    """Hold the apply lock of ``tenant`` for the duration of the block.

    Taking and releasing the lock commit on ``conn`` (which has no transaction open), so
    other processes see the holder; the block then uses the same connection for its work.
    """
    from gsetup.configdb.tenants import tenant_id

    with conn.begin():
        tid = tenant_id(conn, tenant)
    timeout = float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_TIMEOUT))
    deadline = time.monotonic() + timeout
    told = False
    while not _try_acquire(conn, tid, holder):
        owner = _holder(conn, tid)
        if owner is None:
            continue
        if owner[1] == socket.gethostname() and not _alive(owner[2]):
            _release(conn, tid, pid=owner[2])
            continue
        description = (
            f"{owner[0]} (pid {owner[2]} on {owner[1]}, since {owner[3]:%Y-%m-%d %H:%M:%S})"
        )
        if time.monotonic() > deadline:
            raise ConflictError(
                f"tenant {tenant!r} is locked by {description}; wait for it to finish, or run "
                "`gsetup db unlock` if that process is gone"
            )
        if progress and not told:
            progress(f"waiting for tenant {tenant!r}, locked by {description}")
            told = True
        time.sleep(POLL_SECONDS)
    held = HeldLock(tid)
    try:
        yield held
    except BaseException:
        _release(conn, tid, pid=os.getpid())
        raise
    if not held.released:
        _release(conn, tid, pid=os.getpid())


@dataclass
class HeldLock:
    """A lock being held; :meth:`release_in` lets it go inside the apply's own transaction."""

    tenant_id: int
    released: bool = False

    def release_in(self, conn: Connection) -> None:
        """Delete the lock row in ``conn``'s transaction: it goes with the commit, saving one."""
        from sqlalchemy import delete

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
    from sqlalchemy.exc import IntegrityError

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
    return True


def _holder(conn: Connection, tid: int) -> tuple[str, str, int, datetime] | None:
    from sqlalchemy import select

    from gsetup.configdb.models import ApplyLock

    with conn.begin():
        row = conn.execute(
            select(ApplyLock.holder, ApplyLock.host, ApplyLock.pid, ApplyLock.since).where(
                ApplyLock.tenant_id == tid
            )
        ).first()
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
    from gsetup.configdb.tenants import tenant_id

    with engine.connect() as conn:
        with conn.begin():
            tid = tenant_id(conn, tenant)
        had = _holder(conn, tid) is not None
        _release(conn, tid)
    return had


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
