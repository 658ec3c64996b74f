"""``gsetup agent remove`` in an interaction store: the agent made unable to take interactions
before it is checked to hold none, so that no accept lands between the check and the removal.

The mark is the agent's state ``removing`` in ``runtime_agents``, written with the check in
one transaction under the agent's row lock (PostgreSQL: ``FOR UPDATE``; SQLite: the store's
write lock), the lock every accept, login and presence change takes: an accept committed
before the mark is seen by the check, one after it finds the mark and is refused (as are a
login and ``ready``; the engine offers only to ready agents). A removal refused or failed
puts the agent's state back; one done leaves it logged out, its offers back to routing.

A mark never outlives the removal that made it: ``runtime_removals`` names its remover (host,
pid, and a lease for another host, as the apply lock does, :mod:`gsetup.plan.lock`, renewed
while the removal runs: :func:`renewing`) and the agent's state before it. One whose remover
is gone (killed, or its store lost as it took the mark off) is no mark: the agent's next
login, presence change or accept takes it off (:func:`left_behind`), and the workers log out
one whose agent was removed. A live remover's mark is its own: another removal is refused
(:class:`Remover`), and a removal that took over a mark left behind owns it from then on.
Each mark carries its remover's token, and a removal takes off or finishes only the mark
that still carries its own, never one taken over or finished by another since.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)

from gsetup.plan.lock import holder_alive
from gsetup.runtime import sql
from gsetup.runtime.schema import agents, interactions

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

REMOVING = "removing"
# How long a removal on another host may hold its marks past its wait for the tenant's lock
# (GSETUP_LOCK_TIMEOUT): marking the other stores, applying the plan.
MARK_MARGIN = 300.0
RENEWALS_PER_LEASE = 3  # a renewal that fails (the store busy) leaves two more to go
RENEWAL_JOIN_SECONDS = 5.0

# Made by the first mark in a store, as the endpoints' tables are (not a schema version's).
_metadata = MetaData()
removers = Table(
    "runtime_removals",
    _metadata,
    Column("tenant", String(255), nullable=False),
    Column("agent", String(255), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("until", Float, nullable=False),  # the lease seen from another host
    Column("before", String(16)),  # the agent's state before the mark; NULL: no row then
    Column("token", String(32)),  # whose mark it is: the removal's own (NULL: an older gsetup's)
    PrimaryKeyConstraint("tenant", "agent"),
)


@dataclass(frozen=True)
class Mark:
    """Agent ``agent`` marked by this process as being removed in the store at
    ``store_url``."""

    store_url: str
    tenant: str
    agent: str
    token: str


@dataclass(frozen=True)
class Remover:
    """The live removal (another ``gsetup agent remove``) that holds ``agent``'s mark."""

    host: str
    pid: int


def held_by(store_url: str, tenant: str, agent: str, must_exist: bool) -> list[str]:
    """The interactions ``agent`` has accepted and not finished in the store at
    ``store_url``, oldest first (none when there is no store yet, unless ``must_exist``:
    see :func:`~gsetup.runtime.store.peek`). Nothing is written."""
    from gsetup.runtime.store import peek

    with peek(store_url, interactions.name, must_exist=must_exist) as conn:
        return [] if conn is None else _held(conn, tenant, agent)


def mark_removing(
    store_url: str, tenant: str, agent: str, must_exist: bool
) -> Mark | list[str] | Remover | None:
    """Mark ``agent`` as being removed, if it holds no interaction there: its mark; else
    the interactions it holds, or the live removal that marked it already (nothing
    written). None when there is no store there yet (StoreError if ``must_exist``: never
    created by the look)."""
    from sqlalchemy.exc import IntegrityError

    try:
        return _mark(store_url, tenant, agent, must_exist)
    except IntegrityError:  # a login made the agent's row meanwhile: lock that one
        return _mark(store_url, tenant, agent, must_exist)


def _mark(
    store_url: str, tenant: str, agent: str, must_exist: bool
) -> Mark | list[str] | Remover | None:
    with _agent_locked(store_url, tenant, agent, must_exist) as locked:
        if locked is None:
            return None
        conn, state = locked
        held = _held(conn, tenant, agent)
        if held:
            return held
        before = state
        if state == REMOVING:  # another removal's mark: this one takes it over if left behind
            row = _holder(conn, tenant, agent)
            if _alive(row):
                return Remover(row.host, row.pid)
            before = "logged_out" if row is None else row.before
            forget(conn, tenant, agent)
        elif state is None:  # never logged in there: a row that a login finds marked
            values = {"state": REMOVING, "skills": "{}", "capacity": "{}"}
            conn.execute(
                agents.insert().values(tenant=tenant, name=agent, updated_at=time.time(), **values)
            )
        else:
            _set_state(conn, tenant, agent, REMOVING)
        token = secrets.token_hex(16)
        conn.execute(
            removers.insert().values(
                tenant=tenant,
                agent=agent,
                host=socket.gethostname(),
                pid=os.getpid(),
                until=time.time() + lease(),
                before=before,
                token=token,
            )
        )
        return Mark(store_url, tenant, agent, token)


def lease() -> float:
    """How long a mark holds, seen from another host, unless renewed: the removal's wait for
    the tenant's lock (GSETUP_LOCK_TIMEOUT) and a margin."""
    from gsetup.configdb.database import lock_timeout

    return lock_timeout() + MARK_MARGIN


@contextmanager
def renewing(marks: Sequence[Mark]) -> Iterator[None]:
    """While the block runs, the lease of each of ``marks`` (a list the block may add to)
    renewed every third of a lease: a removal that runs longer than one (a long wait for
    the tenant's lock, a slow store) keeps its marks for as long as it runs, as one on this
    host does while its pid lives. Bounded by the block: the renewals end with it (one
    still running then is not waited for long: it can only touch a record that still
    carries its mark's token, gone once the mark is taken off or finished)."""
    from sqlalchemy import update
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.runtime.errors import StoreError
    from gsetup.runtime.store import peek

    span = lease()
    done = threading.Event()

    def renew() -> None:
        r = removers.c
        while not done.wait(span / RENEWALS_PER_LEASE):
            for mark in list(marks):
                key = (r.tenant == mark.tenant, r.agent == mark.agent, r.token == mark.token)
                try:
                    with peek(mark.store_url, removers.name) as conn:
                        if conn is not None:
                            conn.execute(
                                update(removers).where(*key).values(until=time.time() + span)
                            )
                            conn.commit()
                except (SQLAlchemyError, StoreError):
                    continue  # the store unreachable for now: the next renewal tries again

    renewer = threading.Thread(target=renew, name="gsetup-removal-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join(RENEWAL_JOIN_SECONDS)


def unmark(mark: Mark) -> None:
    """The removal was refused or failed: the agent as it was before the mark."""
    with _own_mark(mark) as marked:
        if marked is not None:
            conn, before = marked
            if before is None:
                _delete(conn, mark)
            else:
                _set_state(conn, mark.tenant, mark.agent, before)


def finish(mark: Mark, config: Engine) -> None:
    """The agent was removed (from the configuration database ``config``): logged out in
    the store, its row deleted if the mark made it. Offers it has not accepted go back to
    routing as the workers' housekeeping sends those of a removed agent
    (``log_out_removed``), through a runtime opened on the store; should that fail, the mark
    it leaves is no longer held (see the module's docstring), and the workers do it."""
    from gsetup.runtime.api import open_runtime

    with _own_mark(mark) as marked:
        if marked is None:
            return
        conn, before = marked
        key = {"b_tenant": mark.tenant, "b_agent": mark.agent}
        offered = conn.execute(sql.offered_to(interactions), key).first() is not None
        if not offered:
            if before is None:
                _delete(conn, mark)
            else:
                _set_state(conn, mark.tenant, mark.agent, "logged_out")
    if offered:  # still ``removing``, a mark let go of: what the housekeeping logs out
        runtime = open_runtime(
            mark.tenant,
            config_url=config.url.render_as_string(hide_password=False),
            store_url=mark.store_url,
            create_store=False,
        )
        try:
            runtime.log_out_removed_agents(config)
        finally:
            runtime.close()


def left_behind(conn: Connection, tenant: str, agent: str) -> str | None:
    """Under the row lock of ``agent``, marked ``removing``: None while the removal that
    marked it runs; else the mark is taken off, and the state the agent goes back to is
    returned (as before the mark; logged out if the mark made its row, or if the removal
    was done and let go of it)."""
    row = _holder(conn, tenant, agent)
    if _alive(row):
        return None
    forget(conn, tenant, agent)
    return "logged_out" if row is None or row.before is None else str(row.before)


def forget(conn: Connection, tenant: str, agent: str) -> None:
    """The record of ``agent``'s mark goes: the agent leaves ``removing`` in the same
    transaction."""
    r = removers.c
    conn.execute(removers.delete().where(r.tenant == tenant, r.agent == agent))


@contextmanager
def _own_mark(mark: Mark) -> Iterator[tuple[Connection, str | None] | None]:
    """Under the agent's row lock: the mark's record let go of, and the agent's state before
    it (None: no row), for the block to write the agent's state; None when it no longer
    carries the mark's token (taken off, or over by another removal that may have finished
    it since) or the store is gone."""
    with _agent_locked(mark.store_url, mark.tenant, mark.agent) as locked:
        if locked is None or locked[1] != REMOVING:
            yield None
            return
        conn = locked[0]
        row = _holder(conn, mark.tenant, mark.agent)
        if row is None or row.token != mark.token:
            yield None
            return
        forget(conn, mark.tenant, mark.agent)
        yield conn, row.before


def _alive(row: Any) -> bool:
    """Whether the remover of a mark's record (None: none) is still there."""
    return row is not None and holder_alive(row.host, row.pid, row.until)


def _holder(conn: Connection, tenant: str, agent: str) -> Any:
    from sqlalchemy import select

    r = removers.c
    return conn.execute(select(removers).where(r.tenant == tenant, r.agent == agent)).first()


@contextmanager
def _agent_locked(
    store_url: str, tenant: str, agent: str, must_exist: bool = False
) -> Iterator[tuple[Connection, str | None] | None]:
    """A write transaction on the store holding ``agent``'s row lock, and its state (None:
    no row); None when there is no store there yet (looking does not create it; StoreError
    if ``must_exist``)."""
    from gsetup.runtime.store import create_tables, peek, store_engine

    with peek(store_url, agents.name, must_exist=must_exist) as conn:
        if conn is None:
            yield None
            return
    engine = store_engine(store_url, create=False)
    try:
        create_tables(engine, _metadata, _add_token)
        with engine.begin() as conn:
            statement = sql.agent_row(engine.dialect.name == "postgresql", False)
            row = conn.execute(statement, {"b_tenant": tenant, "b_agent": agent}).first()
            yield conn, None if row is None else row.state
    finally:
        engine.dispose()


def _add_token(conn: Connection) -> None:
    """The token column on the table of an older gsetup (its marks have none: no removal
    owns them, and they are left behind once their remover is gone)."""
    if "token" not in {c["name"] for c in inspect(conn).get_columns(removers.name)}:
        conn.execute(text(f"ALTER TABLE {removers.name} ADD COLUMN token VARCHAR(32)"))


def _held(conn: Connection, tenant: str, agent: str) -> list[str]:
    from sqlalchemy import select

    i = interactions.c
    query = select(i.id).where(i.tenant == tenant, i.assigned_to == agent, i.state == "agent")
    return list(conn.execute(query.order_by(i.id)).scalars())


def _set_state(conn: Connection, tenant: str, agent: str, state: str) -> None:
    from sqlalchemy import update

    key = (agents.c.tenant == tenant) & (agents.c.name == agent)
    conn.execute(update(agents).where(key).values(state=state, updated_at=time.time()))


def _delete(conn: Connection, mark: Mark) -> None:
    a = agents.c
    conn.execute(agents.delete().where(a.tenant == mark.tenant, a.name == mark.agent))
