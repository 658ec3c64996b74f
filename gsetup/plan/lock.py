"""The per-tenant apply lock and the install-homes lock: committed rows that name a holder.

A second gsetup that wants the same tenant waits and says who holds it. A lock left by a
process that died on this host is taken over; a lock from another host is waited for until
``GSETUP_LOCK_TIMEOUT`` seconds, then reported (``gsetup db unlock`` removes it by hand).
The wait is told at once (holder and since when), then every few seconds.

Package installs and uninstalls also hold the install-homes lock, one for every tenant: the
files they check and change (a shared install home, a strategy directory beside another
package's) may belong to another tenant's packages. It is always taken after the tenant's
lock, and a process holding it never waits for a tenant's, so the two cannot deadlock.
"""

from __future__ import annotations

import os
import shlex
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gsetup.configdb.database import busy_error, lock_timeout, set_busy_timeout, undoing_after
from gsetup.errors import ConflictError, GsetupError
from gsetup.interrupts import deferred_interrupt

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Delete, Table
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
    slot = _tenant_slot(tid, tenant)
    if _mine(_holder(conn, slot)):
        yield HeldLock(tid, slot, nested=True)
        return
    _acquire(conn, slot, holder, progress or wait_reporter)
    held = HeldLock(tid, slot)
    try:
        resolve(conn, tid)
        yield held
    except BaseException as exc:
        _let_go(conn, slot, exc)
        raise
    if not held.released:
        with deferred_interrupt():
            _release(conn, slot, _me())


@contextmanager
def install_homes_lock(
    conn: Connection, tenant: str, holder: str, progress: Reporter | None = None
) -> Iterator[None]:
    """Hold the install-homes lock for the block, for an install or uninstall in ``tenant``
    (whose lock is held already); taken again by its holder at no cost."""
    slot = _homes_slot(tenant)
    if _mine(_holder(conn, slot)):
        yield
        return
    _acquire(conn, slot, holder, progress or wait_reporter)
    try:
        yield
    except BaseException as exc:
        _let_go(conn, slot, exc)
        raise
    _let_go(conn, slot)


def _let_go(conn: Connection, slot: _Slot, failure: BaseException | None = None) -> None:
    """Roll back what the block (failed by ``failure``) left open and release the lock."""
    with deferred_interrupt(), undoing_after(conn, failure):
        if conn.in_transaction():
            conn.rollback()
        _release(conn, slot, _me())


@dataclass(frozen=True)
class _Slot:
    """One lock row: its table, the values of its key, and how messages name the lock."""

    table: Table
    key: dict[str, object]
    subject: str  # "tenant 'Acme'", "the install homes"
    verb: str  # "is" / "are"
    tenant: str  # whose it is (the tenant's), or the one it is wanted for (the install homes)
    values: dict[str, object] = field(default_factory=dict)  # the row's other columns

    def where(self) -> list[ColumnElement[bool]]:
        return [self.table.c[column] == value for column, value in self.key.items()]


@dataclass(frozen=True)
class _Owner:
    holder: str
    host: str
    pid: int
    since: datetime
    tenant: str  # the tenant it was taken for

    def describe(self) -> str:
        return (
            f"{self.holder} (pid {self.pid} on {self.host}, since {self.since:%Y-%m-%d %H:%M:%S})"
        )


def _tenant_slot(tid: int, tenant: str) -> _Slot:
    from gsetup.configdb.tables import apply_lock

    return _Slot(apply_lock, {"tenant_id": tid}, f"tenant {tenant!r}", "is", tenant)


HOMES_KEY = "install-homes"


def _homes_slot(tenant: str) -> _Slot:
    from gsetup.configdb.tables import install_homes_lock

    return _Slot(
        install_homes_lock, {"name": HOMES_KEY}, "the install homes", "are", tenant,
        {"tenant": tenant},
    )  # fmt: skip


def _me() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def _mine(owner: _Owner | None) -> bool:
    return owner is not None and (owner.host, owner.pid) == _me()


def _tenant_id(conn: Connection, tenant: str) -> int:
    from gsetup.configdb.tenants import tenant_id

    try:
        return tenant_id(conn, tenant)
    finally:
        conn.rollback()


def _acquire(conn: Connection, slot: _Slot, holder: str, progress: Reporter | None) -> None:
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
        while not _try_acquire(conn, slot, holder):
            owner = _holder(conn, slot)
            if owner is None and conn.dialect.name == "postgresql":
                continue  # released since the insert failed: the database itself never is busy
            here = owner is not None and owner.host == socket.gethostname()
            if owner is not None and here and not process_alive(owner.pid):
                _release(conn, slot, (owner.host, owner.pid))
                continue
            waited = time.monotonic() - start
            if waited > timeout:
                raise _refusal(slot, owner)
            waiting = _waiting(slot, owner)
            if progress and (told is None or told[0] != waiting):
                progress(waiting)
                told = (waiting, waited)
            elif progress and told is not None and waited - told[1] >= REPEAT_SECONDS:
                progress(f"still waiting for {slot.subject} ({waited:.0f} s of {timeout:g})")
                told = (waiting, waited)
            time.sleep(POLL_SECONDS)
    finally:
        set_busy_timeout(conn, timeout)


def _waiting(slot: _Slot, owner: _Owner | None) -> str:
    if owner is None:  # SQLite held by a write transaction, and no lock row names its holder
        return f"waiting for {slot.subject}: the configuration database is busy"
    return f"waiting for {slot.subject}, locked by {owner.describe()}"


def _refusal(slot: _Slot, owner: _Owner | None) -> GsetupError:
    if owner is None:  # no lock row was written: nothing to unlock
        return busy_error()
    return ConflictError(
        f"{slot.subject} {slot.verb} locked by {owner.describe()}; wait for it to finish, or "
        f"run `gsetup db unlock --tenant {shlex.quote(owner.tenant)}` if that process is gone"
    )


@dataclass
class HeldLock:
    """A tenant's lock being held; :meth:`release_in` lets it go inside the apply's own
    transaction."""

    tenant_id: int
    slot: _Slot
    released: bool = False
    nested: bool = False  # taken again by its holder, who releases it

    def release_in(self, conn: Connection) -> None:
        """Delete the lock row in ``conn``'s transaction: it goes with the commit, saving one."""
        if self.nested:
            return
        conn.execute(_delete(self.slot, _me()))
        self.released = True


def _try_acquire(conn: Connection, slot: _Slot, holder: str) -> bool:
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError, OperationalError

    host, pid = _me()
    try:
        with conn.begin():
            conn.execute(
                insert(slot.table).values(
                    **slot.key,
                    **slot.values,
                    holder=holder,
                    host=host,
                    pid=pid,
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


def _holder(conn: Connection, slot: _Slot) -> _Owner | None:
    from sqlalchemy import select

    row = conn.execute(select(slot.table).where(*slot.where())).first()
    conn.rollback()  # a read: never waits for a writer
    if row is None:
        return None
    found = row._mapping
    tenant = found.get("tenant", slot.tenant)
    return _Owner(found["holder"], found["host"], found["pid"], found["since"], tenant)


def _delete(slot: _Slot, owner: tuple[str, int] | None) -> Delete:
    """Delete ``slot``'s row; only if held by ``owner`` (host, pid) when given."""
    from sqlalchemy import delete

    columns = slot.table.c
    stmt = delete(slot.table).where(*slot.where())
    if owner is not None:
        stmt = stmt.where(columns.host == owner[0], columns.pid == owner[1])
    return stmt


def _release(conn: Connection, slot: _Slot, owner: tuple[str, int] | None = None) -> None:
    with conn.begin():
        conn.execute(_delete(slot, owner))


def force_unlock(engine: Engine, tenant: str) -> bool:
    """Remove the tenant's lock, and the install-homes lock when it was taken for the tenant
    (by the same gone process); returns whether there was one. A holder still running on
    this host is applying: it is refused (another host's processes cannot be seen)."""
    with engine.connect() as conn:
        slot, homes = _tenant_slot(_tenant_id(conn, tenant), tenant), _homes_slot(tenant)
        held, owner = _holder(conn, slot), _holder(conn, homes)
        taken = owner if owner is not None and owner.tenant == tenant else None
        for lock, by in ((slot, held), (homes, taken)):
            if by is not None and by.host == socket.gethostname() and process_alive(by.pid):
                raise ConflictError(
                    f"{lock.subject} {lock.verb} locked by {by.describe()}, which is still "
                    "running: wait for it to finish or stop it; `gsetup db unlock` removes a "
                    "lock whose process is gone"
                )
        _release(conn, slot)
        if taken is not None:
            _release(conn, homes, (taken.host, taken.pid))
    return held is not None or taken is not None


def holder_alive(host: str, pid: int, until: float | None) -> bool:
    """Whether the holder of something a process recorded (host, pid) is still there: on
    this host while its pid is; on another, whose processes cannot be seen, until the
    wall-clock time ``until`` (its lease; None: none)."""
    if host == socket.gethostname():
        return process_alive(pid)
    return until is not None and time.time() < until


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
    engine: Engine,
    tenant: str,
    holder: str,
    progress: Reporter | None = None,
    *,
    homes: bool = True,
) -> Iterator[None]:
    """Hold ``tenant``'s lock, then the install-homes lock (``homes``), around the reads an
    install or uninstall plan depends on and its apply.

    The apply takes the tenant's lock again at no cost; nothing can change the tenant, nor
    another tenant's packages sharing its directories, between what was read and what is
    written, and files are put in place before another run starts. A driver's files are in
    its DMS's working directory, the tenant's own: ``homes=False``.
    """
    with engine.connect() as conn, tenant_lock(conn, tenant, holder, progress):
        if not homes:
            yield
            return
        with install_homes_lock(conn, tenant, holder, progress):
            yield
