"""Agents at run time: presence, offers and reservations, capacity per media type.

An agent's capacity for a media type comes from its resolved capacity rule (its own, its
group's, or the tenant's default; 1 when the rule does not name the media type). An offer
reserves capacity until it is accepted or its reservation times out. Capacity is checked and
changed only while this transaction holds the agent's row lock (PostgreSQL: ``FOR UPDATE``,
with ``SKIP LOCKED`` when the engine looks for an agent; SQLite: the store's write lock), so
no agent ever holds more than its rule allows, whatever the number of workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gsetup.fileio import quote_prefix
from gsetup.runtime import sql
from gsetup.runtime.api import AgentStatus, Offer
from gsetup.runtime.context import log
from gsetup.runtime.errors import AgentActionError
from gsetup.runtime.ids import new_id
from gsetup.runtime.interpreter import Suspended
from gsetup.runtime.itx import Itx, dumps
from gsetup.runtime.removal import REMOVING, forget, left_behind
from gsetup.runtime.schema import agent_loads, agents
from gsetup.runtime.turn import Turn

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from gsetup.runtime.config import AgentConfig
    from gsetup.runtime.context import EngineContext
    from gsetup.runtime.interpreter import Machine
    from gsetup.strategy.model import Target


@dataclass
class AgentSlot:
    """An agent as this turn sees it; ``locked`` once its row lock is held."""

    name: str
    state: str
    skills: dict[str, int]
    capacity: dict[str, int]
    loads: dict[str, int] = field(default_factory=dict)
    stored: set[str] = field(default_factory=set)  # media types with a load row
    locked: bool = False
    dirty: bool = False

    def free(self, media_type: str) -> int:
        """Interactions of ``media_type`` the agent can still take."""
        limit = int(self.capacity.get(media_type, 1))
        return limit - self.loads.get(media_type, 0)


# --- the engine side: target -----------------------------------------------------------------


def target(run: Machine, block: Target) -> None:
    """Offer the interaction to an agent the skill expression accepts, with free capacity;
    else wait (woken when capacity frees) until the block's timeout, then ``on_timeout``."""
    turn, itx, position = run.turn, run.itx, run.position
    deadline = position.setdefault("t", turn.now + block.timeout)
    excluded = set(position.get("x", []))
    scope = run.scope
    evaluate = run.program.evaluate

    def accepts(agent: dict[str, Any]) -> bool:
        return bool(evaluate(block.skill, {**scope, "agent": agent}))

    chosen = reserve(turn, itx.media_type, accepts, excluded)
    woken = turn.now < position.pop("r", turn.now)  # before the recheck it waited for
    if chosen is not None:
        run.suspend_at_block()  # a reject or an expired reservation runs this target again
        offer(turn, itx, chosen)
        raise Suspended
    if turn.now >= deadline:
        position.pop("t", None)
        position.pop("x", None)
        if block.on_timeout:
            run.push(block, "on_timeout")
        return
    if woken:
        pass_wake_on(turn, itx)
    if turn.ctx.store.postgresql:
        turn.starved.append(Starved(itx.id, itx.media_type, accepts, frozenset(excluded)))
    recheck = min(deadline, turn.now + turn.ctx.settings.target_recheck)
    position["r"] = recheck
    run.suspend("target", recheck, again=True)


def pass_wake_on(turn: Turn, itx: Itx) -> None:
    """``itx`` was woken for capacity it cannot use (its agents rejected it or lack the
    skills): wake the next interaction waiting for the media type while a ready agent has
    room for it. A wake-up takes the oldest waiting, so without this, old interactions no
    agent with room will take would absorb every wake-up, and the others would wait for
    their recheck with agents idle. A turn's wake-ups pass on after the last of those it
    woke, so a chain moves on through the waiting ones and ends."""
    media_type = itx.media_type
    if itx.placed_in_queue_at is None or not any(
        slot.state == "ready" and slot.free(media_type) > 0 and name not in turn.busy_agents
        for name, slot in _ready(turn).items()
    ):
        return
    count, last = turn.passed_on.get(media_type, (0, (itx.placed_in_queue_at, itx.id)))
    turn.passed_on[media_type] = (count + 1, max(last, (itx.placed_in_queue_at, itx.id)))


def offer(turn: Turn, itx: Itx, agent: str) -> None:
    """Reserve ``itx`` for ``agent`` until the reservation timeout."""
    itx.state, itx.assigned_to, itx.waiting = "offered", agent, "offer"
    itx.due_at = turn.now + turn.ctx.settings.reservation_timeout
    itx.offers += 1
    if itx.offers == 1:
        turn.first_offered.append(itx.received_at)
    turn.touch(itx, ())
    turn.new_offers.append(
        {"tenant": itx.tenant, "interaction_id": itx.id, "agent": agent, "offered_at": turn.now}
    )
    turn.ctx.metrics.offers.inc()
    turn.log(itx, "offered", agent=agent)


def reserve(
    turn: Turn, media_type: str, accepts: Callable[[dict[str, Any]], bool], excluded: set[str]
) -> str | None:
    """Take one unit of ``media_type`` capacity of the least loaded ready agent that
    ``accepts``; None when there is none."""
    slots = _ready(turn)
    ordered = sorted(
        slots.values(),
        key=lambda s: (
            s.loads.get(media_type, 0) / max(1, int(s.capacity.get(media_type, 1))),
            s.name,
        ),
    )
    busy = turn.busy_agents
    for slot in ordered:
        if slot.name in excluded or slot.state != "ready" or slot.free(media_type) <= 0:
            continue
        if slot.name in busy or not accepts({"id": slot.name, "skills": slot.skills}):
            continue
        if not slot.locked and not _lock(turn, slot, wait=False):
            busy.add(slot.name)  # another worker is offering to this agent right now
            continue
        if slot.state != "ready" or slot.free(media_type) <= 0:
            continue
        slot.loads[media_type] = slot.loads.get(media_type, 0) + 1
        slot.dirty = True
        return slot.name
    return None


@dataclass(frozen=True)
class Starved:
    """An interaction a turn suspended at a target for want of an agent."""

    interaction_id: str
    media_type: str
    accepts: Callable[[dict[str, Any]], bool]
    excluded: frozenset[str]


def after_commit(turn: Turn) -> None:
    """PostgreSQL, once ``turn`` has committed: make sure no capacity was freed unseen.

    A turn reads the agents' loads, finds no agent for an interaction and suspends it. A
    transaction freeing capacity meanwhile (a done, a reject, a ready, another turn leaving
    room on an agent it locked) can commit after that read while its wake-up skips the
    interaction, which the turn still holds. So a transaction that leaves a locked agent
    ready with free capacity bumps the capacity epoch after its commit and then wakes the
    oldest waiting interactions again; and a turn that starved interactions compares the
    epoch after its commit with the one before its read, and if it moved, looks again.
    Whichever of the two goes second sees the other's commit, with no lock waits. SQLite
    runs one writer at a time: there is no such window.

    The turn has committed, so a failure here is logged, not raised: it only delays a
    wake-up until the target's periodic recheck."""
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.configdb.database import first_line

    if not turn.ctx.store.postgresql:
        return
    try:
        _wake_after_commit(turn)
    except SQLAlchemyError as exc:
        log.warning(
            "event=wake-after-commit-failed tenant=%r reason=%r", turn.ctx.tenant, first_line(exc)
        )


def _wake_after_commit(turn: Turn) -> None:
    store = turn.ctx.store
    if turn.starved:
        _look_again(turn)
    room: dict[str, int] = {}
    for slot in turn.agents.values():
        if slot.locked and slot.state == "ready":
            for media_type in {*slot.capacity, *slot.loads}:
                free = slot.free(media_type)
                if free > 0:
                    room[media_type] = room.get(media_type, 0) + free
    if not room:
        return
    with store.autocommit() as conn:
        for media_type, count in room.items():
            # One round trip each (a bump per media type only makes a turn look again). One
            # more than the room: the oldest may not match the agents' skills.
            key = {"b_tenant": turn.ctx.tenant, "b_media": media_type, "b_now": turn.now}
            if sql.run(conn, sql.BUMP_AND_WAKE, {**key, "b_count": count + 1}).scalar():
                turn.made_due = True


def _look_again(turn: Turn) -> None:
    """Wake the turn's starved interactions that an agent freed since can take (each free
    unit woken for once), if the capacity epoch moved since the turn read the agents."""
    store = turn.ctx.store
    with store.autocommit() as conn:
        epoch = sql.run(conn, sql.EPOCH, {}).scalar()
        if epoch == turn.epoch:
            return
        slots = _ready(Turn(turn.ctx, conn, turn.now, epoch=epoch))
        woken = []
        for starved in turn.starved:
            media_type = starved.media_type
            for slot in slots.values():
                if slot.name in starved.excluded or slot.free(media_type) <= 0:
                    continue
                if _may_accept(starved, slot):
                    slot.loads[media_type] = slot.loads.get(media_type, 0) + 1
                    woken.append({"b_id": starved.interaction_id, "b_now": turn.now})
                    break
        if woken:
            sql.run(conn, sql.wake_one(store.table), woken)
            turn.made_due = True
            log.debug("event=woken-after-commit tenant=%r count=%d", turn.ctx.tenant, len(woken))


def _may_accept(starved: Starved, slot: AgentSlot) -> bool:
    try:
        return starved.accepts({"id": slot.name, "skills": slot.skills})
    except Exception:  # its own turn evaluates it again and parks the interaction
        return True


def release(turn: Turn, agent: str, media_type: str) -> None:
    """Give back one unit of the agent's capacity and wake an interaction waiting for it."""
    slot = _slot(turn, agent)
    if slot is None:
        return
    slot.loads[media_type] = max(0, slot.loads.get(media_type, 0) - 1)
    slot.dirty = True
    # One more than freed: the oldest waiting one may not match this agent's skills.
    turn.wake[media_type] = turn.wake.get(media_type, 0) + 2


def expire_offer(turn: Turn, itx: Itx) -> None:
    """A reservation that timed out: capacity back, the target runs again for another agent."""
    _end_offer(turn, itx, "expired")


def _end_offer(turn: Turn, itx: Itx, outcome: str) -> None:
    agent = itx.assigned_to or ""
    release(turn, agent, itx.media_type)
    _record_outcome(turn, itx, agent, outcome)
    position = itx.position or {}
    # A refusal (rejected, expired) moves the target on to another agent; a logout is none:
    # an agent ready again may be offered the interaction before the target's timeout.
    if outcome != "logged-out":
        position["x"] = sorted({*position.get("x", []), agent})
    itx.position = position
    itx.state, itx.assigned_to, itx.waiting, itx.due_at = "routing", None, "target", turn.now
    turn.touch(itx, ())
    turn.log(itx, f"offer-{outcome}", agent=agent)


def _record_outcome(turn: Turn, itx: Itx, agent: str, outcome: str) -> None:
    _record_outcomes(turn, [itx], agent, outcome)


def _record_outcomes(turn: Turn, itxs: list[Itx], agent: str, outcome: str) -> None:
    rows = [
        {"b_tenant": itx.tenant, "b_id": itx.id, "b_agent": agent, "b_outcome": outcome}
        for itx in itxs
    ]
    turn.flush_offers()
    if rows:
        sql.write(turn.conn, sql.OFFER_OUTCOME, rows)


def _ready(turn: Turn) -> dict[str, AgentSlot]:
    """Every ready agent of the tenant with its loads, read once per turn."""
    if turn.all_agents_read:
        return turn.agents
    tenant = {"b_tenant": turn.ctx.tenant}
    locked = not turn.ctx.store.postgresql  # SQLite: this transaction holds the write lock
    if not locked and turn.epoch is None:
        turn.epoch = sql.run(turn.conn, sql.EPOCH, {}).scalar()  # before the read: after_commit
    for row in sql.run(turn.conn, sql.READY_AGENTS, tenant):
        if row.name not in turn.agents:
            skills, capacity = json.loads(row.skills), json.loads(row.capacity)
            turn.agents[row.name] = AgentSlot(row.name, row.state, skills, capacity, locked=locked)
    fresh = {name for name in turn.agents if name not in turn.loaded_agents}
    for row in sql.run(turn.conn, sql.TENANT_LOADS, tenant):
        if row.agent in fresh:
            slot = turn.agents[row.agent]
            slot.loads[row.media_type] = row.load
            slot.stored.add(row.media_type)
    turn.loaded_agents.update(turn.agents)
    turn.all_agents_read = True
    return turn.agents


def _slot(turn: Turn, agent: str) -> AgentSlot | None:
    """The agent, locked (waiting for the lock) and with fresh loads."""
    slot = turn.agents.get(agent)
    if slot is not None and slot.locked:
        return slot
    if slot is None:
        slot = AgentSlot(agent, "", {}, {})
        turn.agents[agent] = slot
    return slot if _lock(turn, slot, wait=True) else None


def _lock(turn: Turn, slot: AgentSlot, *, wait: bool) -> bool:
    """Lock the agent's row and re-read its state and loads; False when it does not exist
    or (``wait`` False) another transaction holds it."""
    key = {"b_tenant": turn.ctx.tenant, "b_agent": slot.name}
    statement = sql.agent_row(turn.ctx.store.postgresql, not wait)
    row = sql.run(turn.conn, statement, key).first()
    if row is None:
        return False
    slot.state = row.state
    slot.skills, slot.capacity = json.loads(row.skills), json.loads(row.capacity)
    slot.loads = {r.media_type: r.load for r in sql.run(turn.conn, sql.AGENT_LOADS, key)}
    slot.stored = set(slot.loads)
    slot.locked = True
    turn.loaded_agents.add(slot.name)
    return True


def flush_loads(turn: Turn) -> None:
    """Write changed loads and wake interactions waiting for freed capacity."""
    tenant = turn.ctx.tenant
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for slot in turn.agents.values():
        if not slot.dirty:
            continue
        for media_type, load in slot.loads.items():
            if media_type in slot.stored:
                updates.append(
                    {
                        "b_tenant": tenant,
                        "b_agent": slot.name,
                        "b_media": media_type,
                        "b_load": load,
                    }
                )
            else:
                inserts.append(
                    {"tenant": tenant, "agent": slot.name, "media_type": media_type, "load": load}
                )
                slot.stored.add(media_type)
        slot.dirty = False
    if updates:
        sql.run(turn.conn, sql.SET_LOAD, updates)
    if inserts:
        turn.conn.execute(agent_loads.insert(), inserts)
    for media_type, count in turn.wake.items():
        _wake(turn, turn.conn, media_type, count)
    turn.wake.clear()
    if turn.passed_on:
        store = turn.ctx.store
        statement = sql.wake_next(store.table, store.postgresql)
        for media_type, (count, (placed, last)) in turn.passed_on.items():
            key = {"b_tenant": turn.ctx.tenant, "b_media": media_type, "b_now": turn.now}
            after = {"b_placed": placed, "b_id": last, "b_count": count}
            if sql.run(turn.conn, statement, {**key, **after}).rowcount:
                turn.made_due = True
        turn.passed_on.clear()


def _wake(turn: Turn, conn: Connection, media_type: str, count: int) -> None:
    """Make the ``count`` oldest interactions waiting at a target for ``media_type`` due."""
    store = turn.ctx.store
    woken = sql.run(
        conn,
        sql.wake(store.table, store.postgresql),
        {"b_tenant": turn.ctx.tenant, "b_media": media_type, "b_count": count, "b_now": turn.now},
    ).rowcount
    if woken:
        turn.made_due = True


# --- the agent side ------------------------------------------------------------------------------


@contextmanager
def _agent_turn(ctx: EngineContext, agent: str) -> Iterator[Turn]:
    """A transaction holding ``agent``'s row lock. The row, written at login, is what makes
    an agent known: one that logged in through another process (or was added to the
    configuration after this one started) acts here too."""
    with ctx.store.begin() as conn:
        turn = Turn(ctx, conn, ctx.clock.now())
        slot = _slot(turn, agent)
        if slot is None:
            raise _not_logged_in(ctx, agent)
        yield turn
        turn.flush()
    after_commit(turn)


def _held(turn: Turn, agent: str, interaction_id: str, states: tuple[str, ...]) -> Itx:
    """The interaction, locked, if it is ``agent``'s in one of ``states``."""
    return _held_many(turn, agent, [interaction_id], states)[0]


def _held_many(
    turn: Turn, agent: str, interaction_ids: list[str], states: tuple[str, ...]
) -> list[Itx]:
    """The interactions, locked with one statement per 128, if each is ``agent``'s in one of
    ``states``; else the first one that is not raises."""
    if len(set(interaction_ids)) != len(interaction_ids):
        raise AgentActionError(400, "an interaction id is given twice")
    if not interaction_ids:
        return []
    store, tenant = turn.ctx.store, turn.ctx.tenant
    found: dict[str, Itx] = {}
    # An id holding U+0000 is no interaction's (ids are the runtime's): not looked up, as
    # PostgreSQL would refuse the statement
    wanted = [i for i in interaction_ids if "\x00" not in i]
    if len(wanted) == 1:
        statement = sql.lock_one(store.table, store.postgresql, False)
        rows = sql.run(turn.conn, statement, {"b_tenant": tenant, "b_id": wanted[0]})
        found.update((itx.id, itx) for itx in turn.hold(rows))
    elif wanted:
        ordered, most = sorted(wanted), sql.LOCK_MANY_SIZES[-1]
        for start in range(0, len(ordered), most):  # in id order: no deadlock between batches
            size, params = sql.lock_many_params(tenant, ordered[start : start + most])
            rows = sql.run(turn.conn, sql.lock_many(store.table, store.postgresql, size), params)
            found.update((itx.id, itx) for itx in turn.hold(rows))
    return [_check_held(found.get(i), i, agent, states) for i in interaction_ids]


def _check_held(itx: Itx | None, interaction_id: str, agent: str, states: tuple[str, ...]) -> Itx:
    if itx is None:
        raise AgentActionError(404, f"no interaction {quote_prefix(interaction_id)}")
    if itx.state in ("stopped", "error"):
        raise AgentActionError(409, f"interaction {interaction_id} has ended ({itx.state})")
    if itx.assigned_to not in (agent, None):  # another agent's: not this one's business
        raise AgentActionError(
            403, f"interaction {interaction_id} is not offered to or held by {agent!r}"
        )
    if itx.assigned_to is None or itx.state not in states:
        where = _not_yet(itx, agent, states)
        raise AgentActionError(409, f"interaction {interaction_id} is {where}")
    return itx


def _not_yet(itx: Itx, agent: str, states: tuple[str, ...]) -> str:
    """Where ``itx``, ``agent``'s or nobody's, is instead of ``states``, in an agent's words
    (the state column's ``agent`` or ``routing`` tell it little)."""
    if itx.state == "agent":
        return f"already accepted by {agent!r}"
    if itx.state == "offered":
        return f"offered to {agent!r}, not accepted yet: accept it first"
    where = f" (queue {itx.queue!r})" if itx.queue else ""
    what = {"offered": "offered to", "agent": "held by"}
    return f"still being routed{where}, not {' or '.join(what[s] for s in states)} {agent!r}"


def _marked(turn: Turn, slot: AgentSlot) -> bool:
    """Whether a removal that is running holds the agent marked ``removing`` (under its row
    lock); a mark whose remover is gone is taken off first, the agent as it was before."""
    if slot.state != REMOVING:
        return False
    before = left_behind(turn.conn, turn.ctx.tenant, slot.name)
    if before is None:
        return True
    _change_presence(turn, slot, before)
    return False


def _being_removed(agent: str) -> AgentActionError:
    return AgentActionError(
        409,
        f"agent {agent!r} is being removed (gsetup agent remove): it can neither log in nor "
        "take interactions",
    )


def _not_logged_in(ctx: EngineContext, agent: str) -> AgentActionError:
    if agent not in ctx.deployment.agents:
        return AgentActionError(404, f"no agent {quote_prefix(agent)} in tenant {ctx.tenant!r}")
    return AgentActionError(409, f"agent {agent!r} is not logged in")


def login(ctx: EngineContext, agent: str, config: AgentConfig | None = None) -> AgentStatus:
    """Log in (not ready), taking skills and capacity from ``config`` (the configuration
    database's as of now), else from the configuration the runtime started with. An agent
    logged in already starts again as a logout and a login would: its offers not accepted go
    back to routing; what it accepted it keeps."""
    from sqlalchemy import update

    config = config or ctx.deployment.agents.get(agent)
    if config is None:
        raise AgentActionError(404, f"no agent {quote_prefix(agent)} in tenant {ctx.tenant!r}")
    values = {
        "state": "not_ready",
        "skills": dumps(dict(config.skills)),
        "capacity": dumps(dict(config.capacity)),
        "updated_at": ctx.clock.now(),
    }
    with ctx.store.begin() as conn:
        turn = Turn(ctx, conn, ctx.clock.now())
        slot = _slot(turn, agent)
        if slot is None:
            conn.execute(agents.insert().values(tenant=ctx.tenant, name=agent, **values))
        elif _marked(turn, slot):
            raise _being_removed(agent)
        else:
            _end_offers_of(turn, agent)
            key = (agents.c.tenant == ctx.tenant) & (agents.c.name == agent)
            conn.execute(update(agents).where(key).values(**values))
            slot.state = "not_ready"
        turn.flush()
    after_commit(turn)
    return agent_status(ctx, agent)


def set_presence(ctx: EngineContext, agent: str, state: str) -> AgentStatus:
    """ready, not_ready or logged_out; logging out sends unaccepted offers back to routing.
    An agent being removed only logs out, and keeps its mark (no login until the removal
    is refused)."""
    with _agent_turn(ctx, agent) as turn:
        slot = turn.agents[agent]
        if _marked(turn, slot):
            if state != "logged_out":
                raise _being_removed(agent)
            _end_offers_of(turn, agent)
        elif slot.state == "logged_out" and state != "logged_out":
            raise AgentActionError(409, f"agent {agent!r} is logged out: log in first")
        else:
            _change_presence(turn, slot, state)
    return agent_status(ctx, agent)


def _change_presence(turn: Turn, slot: AgentSlot, state: str) -> None:
    """Under the agent's row lock: its new presence, its offers back to routing when it logs
    out, the interactions waiting for its capacity woken when it gets ready."""
    from sqlalchemy import update

    ctx = turn.ctx
    if state == "logged_out":
        _end_offers_of(turn, slot.name)
    turn.conn.execute(
        update(agents)
        .where(agents.c.tenant == ctx.tenant, agents.c.name == slot.name)
        .values(state=state, updated_at=turn.now)
    )
    slot.state = state
    if state == "ready":
        for media_type in {*slot.capacity, *slot.loads}:
            turn.wake[media_type] = turn.wake.get(media_type, 0) + max(1, slot.free(media_type))


def _end_offers_of(turn: Turn, agent: str) -> None:
    """Under the agent's row lock: its offers not accepted back to routing (outcome
    ``logged-out``), for another agent."""
    key = {"b_tenant": turn.ctx.tenant, "b_agent": agent}
    for itx in turn.hold(sql.run(turn.conn, sql.offered_to(turn.ctx.store.table), key)):
        _end_offer(turn, itx, "logged-out")


def log_out_removed(
    ctx: EngineContext, agents_now: Callable[[list[str]], Collection[str]]
) -> list[str]:
    """Log out the agents logged in to the store that are no longer agents (``agents_now``
    tells which of the names it is given still are, in the configuration database): their
    offers not accepted go back to routing, as at a logout. Returns them.

    The worker loop's housekeeping, not the turn's: a removed agent is read once per pass,
    never per offer. Each one found is looked up again under its row lock, so an agent added
    again and logged in meanwhile stays (its login's write waits for the lock), and workers
    doing this at once log it out once."""
    with ctx.store.read() as conn:
        present = [r.name for r in sql.run(conn, sql.LOGGED_IN_AGENTS, {"b_tenant": ctx.tenant})]
    known = set(agents_now(present)) if present else set()
    gone = []
    for agent in present:
        if agent in known:
            continue
        with _agent_turn(ctx, agent) as turn:
            slot = turn.agents[agent]
            if slot.state != "logged_out" and not agents_now([agent]):
                if slot.state == REMOVING:  # its removal is done: the mark goes
                    forget(turn.conn, ctx.tenant, agent)
                _change_presence(turn, slot, "logged_out")
                gone.append(agent)
    for agent in gone:
        log.warning("event=removed-agent-logged-out tenant=%r agent=%r", ctx.tenant, agent)
    return gone


def accept(ctx: EngineContext, agent: str, interaction_id: str) -> Offer:
    """The agent takes an interaction offered to it."""
    return accept_many(ctx, agent, [interaction_id])[0]


def accept_many(ctx: EngineContext, agent: str, interaction_ids: list[str]) -> list[Offer]:
    """The agent takes several interactions offered to it, in one transaction: all or none
    (the first one not offered to it raises and nothing changes)."""
    with _agent_turn(ctx, agent) as turn:
        if _marked(turn, turn.agents[agent]):
            raise _being_removed(agent)
        taken = _held_many(turn, agent, interaction_ids, ("offered",))
        for itx in taken:
            itx.state, itx.position, itx.waiting, itx.due_at = "agent", None, None, None
            turn.touch(itx, ())
            turn.log(itx, "accepted", agent=agent)
        _record_outcomes(turn, taken, agent, "accepted")
    return [_offer(itx) for itx in taken]


def reject(ctx: EngineContext, agent: str, interaction_id: str) -> None:
    """The agent refuses an offer: another agent is targeted."""
    with _agent_turn(ctx, agent) as turn:
        itx = _held(turn, agent, interaction_id, ("offered",))
        _end_offer(turn, itx, "rejected")


def reply(
    ctx: EngineContext, agent: str, interaction_id: str, text: str, *, draft: bool = False
) -> str:
    """An outbound reply to a held interaction, placed in its Business Process's outbound
    queue (a ``draft``: its outbound init queue, where the Social Media plug-in keeps it while
    the agent writes); returns the new interaction's id."""
    if not isinstance(text, str) or not text.strip():
        raise AgentActionError(400, "a reply needs a non-empty text")
    with _agent_turn(ctx, agent) as turn:
        itx = _held(turn, agent, interaction_id, ("agent",))
        kind = "outbound init" if draft else "outbound"
        queue = _queue_named(ctx, itx, f" {kind.title()} Queue")
        if queue is None:
            raise AgentActionError(
                409, f"the Business Process of queue {itx.queue!r} has no {kind} queue"
            )
        child = new_id(turn.now)
        udata = {k: v for k, v in itx.udata.items() if k != "_mergedItems"}
        values = {
            "id": child,
            "tenant": ctx.tenant,
            "type": "Outbound",
            "media_type": itx.media_type,
            "state": "queued",
            "queue": queue,
            "submitted_by": itx.submitted_by,
            "channel": itx.channel,
            "parent_id": itx.id,
            "text": text,
            "attached_data": dumps(udata),
            "received_at": turn.now,
            "placed_in_queue_at": turn.now,
            "due_at": turn.now,
            "offers": 0,
        }
        from gsetup.runtime.itx import custom_values

        values.update(custom_values(udata, ctx.store.custom))
        turn.conn.execute(ctx.store.table.insert().values(values))
        turn.log(itx, "replied", agent=agent, reply=child)
    return child


def done(ctx: EngineContext, agent: str, interaction_id: str, queue: str | None) -> None:
    """The agent is finished: capacity freed; the interaction goes to ``queue``, else its
    Business Process's stop queue, else it is stopped."""
    done_many(ctx, agent, [interaction_id], queue)


def done_many(
    ctx: EngineContext, agent: str, interaction_ids: list[str], queue: str | None
) -> None:
    """:func:`done` for several interactions held by the agent, in one transaction: all or
    none."""
    from gsetup.runtime.interpreter import place, stop

    if queue is not None and queue not in ctx.program.queues:
        raise AgentActionError(404, f"no queue {quote_prefix(queue)}")
    with _agent_turn(ctx, agent) as turn:
        held = _held_many(turn, agent, interaction_ids, ("agent",))
        for itx in held:
            release(turn, agent, itx.media_type)
            itx.assigned_to = None
            destination = queue or _queue_named(ctx, itx, " Stop Queue")
            if destination is None:
                stop(turn, itx, "done")
            else:
                place(turn, itx, destination)
            turn.log(itx, "done", agent=agent)


def _queue_named(ctx: EngineContext, itx: Itx, suffix: str) -> str | None:
    process = ctx.program.process_of_queue(itx.queue or "")
    if process is None:
        return None
    return next((q for q in process.bp.queues if q.endswith(suffix)), None)


def offers_of(ctx: EngineContext, agent: str) -> list[Offer]:
    """What ``agent`` has been offered or holds, oldest first."""
    from gsetup.runtime.itx import from_row

    key = {"b_tenant": ctx.tenant, "b_agent": agent}
    with ctx.store.read() as conn:
        if agent not in ctx.deployment.agents and not sql.run(conn, sql.AGENT_KNOWN, key).first():
            raise AgentActionError(404, f"no agent {quote_prefix(agent)} in tenant {ctx.tenant!r}")
        rows = sql.run(conn, sql.offers_of(ctx.store.table), key).all()
    return [_offer(from_row(dict(row._mapping))) for row in rows]


def _offer(itx: Itx) -> Offer:
    return Offer(
        itx.id,
        itx.state,
        itx.media_type,
        itx.channel,
        itx.queue,
        itx.text,
        itx.udata_copy(),
        itx.due_at if itx.state == "offered" else None,
    )


def agent_status(ctx: EngineContext, agent: str) -> AgentStatus:
    """An agent's presence, loads and capacity."""
    from sqlalchemy import select

    a, ld = agents.c, agent_loads.c
    with ctx.store.read() as conn:
        row = conn.execute(
            select(a.state, a.capacity).where(a.tenant == ctx.tenant, a.name == agent)
        ).first()
        loads = dict(
            conn.execute(
                select(ld.media_type, ld.load).where(ld.tenant == ctx.tenant, ld.agent == agent)
            ).all()
        )
    if row is None:
        config = ctx.deployment.agents.get(agent)
        capacity = dict(config.capacity) if config else {}
        return AgentStatus(agent, "logged_out", {}, capacity)
    return AgentStatus(agent, row.state, loads, json.loads(row.capacity))
