"""``gsetup agent remove`` in an interaction store: the agent made unable to take interactions
before it is checked to hold none, so that no accept lands between the check and the removal.

The mark is the agent's state ``removing`` in ``runtime_agents``, written with the check in
one transaction under the agent's row lock (PostgreSQL: ``FOR UPDATE``; SQLite: the store's
write lock), the lock every accept, login and presence change takes: an accept committed
before the mark is seen by the check, one after it finds the mark and is refused (as are a
login and ``ready``; the engine offers only to ready agents). A removal refused or failed
puts the agent's state back; one done leaves it logged out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gsetup.runtime import sql
from gsetup.runtime.schema import agents, interactions

if TYPE_CHECKING:
    from sqlalchemy import Connection

REMOVING = "removing"


@dataclass(frozen=True)
class Mark:
    """Agent ``agent`` marked as being removed in the store at ``store_url``; ``before``:
    its state there before (None: it had no row, the mark made one)."""

    store_url: str
    tenant: str
    agent: str
    before: str | None


def held_by(store_url: str, tenant: str, agent: str, must_exist: bool) -> list[str]:
    """The interactions ``agent`` has accepted and not finished in the store at
    ``store_url``, oldest first (none when there is no store yet, unless ``must_exist``:
    see :func:`~gsetup.runtime.store.peek`). Nothing is written."""
    from gsetup.runtime.store import peek

    with peek(store_url, interactions.name, must_exist=must_exist) as conn:
        return [] if conn is None else _held(conn, tenant, agent)


def mark_removing(
    store_url: str, tenant: str, agent: str, must_exist: bool
) -> Mark | list[str] | None:
    """Mark ``agent`` as being removed, if it holds no interaction there: its mark; else
    the interactions it holds (nothing written). None when there is no store there yet
    (StoreError if ``must_exist``: never created by the look)."""
    from sqlalchemy.exc import IntegrityError

    try:
        return _mark(store_url, tenant, agent, must_exist)
    except IntegrityError:  # a login made the agent's row meanwhile: lock that one
        return _mark(store_url, tenant, agent, must_exist)


def _mark(store_url: str, tenant: str, agent: str, must_exist: bool) -> Mark | list[str] | None:
    with _agent_locked(store_url, tenant, agent, must_exist) as locked:
        if locked is None:
            return None
        conn, before = locked
        held = _held(conn, tenant, agent)
        if held:
            return held
        if before is None:  # never logged in there: a row that a login finds marked
            values = {"state": REMOVING, "skills": "{}", "capacity": "{}"}
            conn.execute(
                agents.insert().values(tenant=tenant, name=agent, updated_at=time.time(), **values)
            )
        else:
            _set_state(conn, tenant, agent, REMOVING)
        return Mark(store_url, tenant, agent, before)


def unmark(mark: Mark) -> None:
    """The removal was refused or failed: the agent as it was before the mark."""
    with _agent_locked(mark.store_url, mark.tenant, mark.agent) as locked:
        if locked is None or locked[1] != REMOVING:
            return
        conn, _ = locked
        if mark.before is None:
            _delete(conn, mark)
        else:
            _set_state(conn, mark.tenant, mark.agent, mark.before)


def finish(mark: Mark) -> None:
    """The agent was removed: logged out in the store (its row deleted if the mark made it).
    With offers not accepted it keeps the mark: the runtime's workers log it out, which
    sends them back to routing (``log_out_removed``)."""
    with _agent_locked(mark.store_url, mark.tenant, mark.agent) as locked:
        if locked is None or locked[1] != REMOVING:
            return
        conn, _ = locked
        key = {"b_tenant": mark.tenant, "b_agent": mark.agent}
        if conn.execute(sql.offered_to(interactions), key).first() is not None:
            return
        if mark.before is None:
            _delete(conn, mark)
        else:
            _set_state(conn, mark.tenant, mark.agent, "logged_out")


@contextmanager
def _agent_locked(
    store_url: str, tenant: str, agent: str, must_exist: bool = False
) -> Iterator[tuple[Connection, str | None] | None]:
    """A write transaction on the store holding ``agent``'s row lock, and its state (None:
    no row); None when there is no store there yet (looking does not create it; StoreError
    if ``must_exist``)."""
    from gsetup.runtime.store import peek, store_engine

    with peek(store_url, agents.name, must_exist=must_exist) as conn:
        if conn is None:
            yield None
            return
    engine = store_engine(store_url, create=False)
    try:
        with engine.begin() as conn:
            statement = sql.agent_row(engine.dialect.name == "postgresql", False)
            row = conn.execute(statement, {"b_tenant": tenant, "b_agent": agent}).first()
            yield conn, None if row is None else row.state
    finally:
        engine.dispose()


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
