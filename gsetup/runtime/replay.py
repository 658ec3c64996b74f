"""Replay recorded traffic (:mod:`gsetup.runtime.traffic`) in-process through the real
engine, on a virtual clock.

Between two events every timer that falls due (waits, target timeouts, reservations,
outbound retries) runs at its own virtual time, so a 31-day wait takes milliseconds. Outbound
requests go to a scripted DMS: each ``driver`` line answers the next request of its method
(FIFO); a request with no scripted answer succeeds with an empty answer.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gsetup.errors import BadInputError, GsetupError
from gsetup.runtime import sql
from gsetup.runtime.errors import RuntimeRequestError
from gsetup.runtime.outbox import Delivery, SendResult
from gsetup.runtime.schema import agent_loads, interactions, offers, outbox

if TYPE_CHECKING:
    from gsetup.runtime.api import Runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.config import AppConfig
    from gsetup.runtime.context import EngineContext
    from gsetup.runtime.traffic import Event

MAX_STEPS = 10_000_000  # timer steps of one replay: a routing loop cannot spin forever
# Told (virtual seconds replayed, the file's last line's time) as the clock moves.
Progress = Callable[[float, float], None]


class ScriptedSender:
    """The DMS of a replay: answers from the traffic's ``driver`` lines, per app and method."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], deque[Mapping[str, Any]]] = {}

    def script(self, app: str, answer: Mapping[str, Any]) -> None:
        """Queue ``answer`` for the next request of its method."""
        self.answers.setdefault((app, str(answer["method"])), deque()).append(answer)

    def send(self, ctx: EngineContext, app: AppConfig | None, item: Delivery) -> SendResult:
        """The next scripted answer, else success with an empty answer."""
        queued = self.answers.get((item.app, item.method))
        if not queued:
            return SendResult(True, {})
        answer = queued.popleft()
        if answer["ok"]:
            return SendResult(True, dict(answer.get("answer") or {}))
        return SendResult(False, error=str(answer.get("error") or "the driver refused it"))

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class ReplayReport:
    """What happened: each interaction, each outbound request, each agent's load, and the
    agent actions the runtime refused (with their line)."""

    tenant: str
    seconds: float
    interactions: list[dict[str, Any]] = field(default_factory=list)
    outbound: list[dict[str, Any]] = field(default_factory=list)
    agents: dict[str, dict[str, int]] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)


class Replay:
    """Applies events to a runtime whose clock is ``clock``."""

    def __init__(
        self, runtime: Runtime, clock: VirtualClock, progress: Progress | None = None
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.start = clock.now()
        self.progress = progress
        self.end = 0.0  # the virtual seconds of the last event to run
        self.sender = ScriptedSender()
        runtime.engine.sender = self.sender
        self.ids: dict[str, str] = {}  # traffic reference -> interaction id
        self.names: dict[str, str] = {}  # and back, kept as ids changes (looked up each step)
        self.refused: list[dict[str, Any]] = []

    def run(self, events: list[Event]) -> ReplayReport:
        """Apply every event at its time, running the engine in between; the report."""
        self.end = max((event.at for event in events), default=0.0)
        for event in events:
            self.advance(self.start + event.at)
            self.apply(event)
            self.runtime.run_until_idle()
        return self.report()

    def advance(self, until: float) -> None:
        """Run every timer due up to ``until``, each at its own time, then move there."""
        for _step in self.steps():
            self.runtime.run_until_idle()
            if not self.tick(until):
                break
        self.move(until)

    def steps(self) -> Iterator[int]:
        """The timer steps a run may take: past MAX_STEPS it stops with an error, where a
        report would show a run cut short as if it had ended."""
        yield from range(MAX_STEPS)
        raise GsetupError(
            f"the run stopped after {MAX_STEPS:,} steps, at virtual second "
            f"{self.clock.now() - self.start:,.0f}: does a strategy route or wait in a loop? "
            "Nothing is reported"
        )

    def tick(self, until: float) -> bool:
        """Move the clock to the next timer if it falls due by ``until`` (the caller runs
        the engine then); False when none does."""
        due = self._next_due()
        if due is None or due > until:
            return False
        self.clock.advance(max(due - self.clock.now(), 0.001))
        self._tell()
        return True

    def move(self, until: float) -> None:
        """Move the clock to ``until`` (never back)."""
        if until > self.clock.now():
            self.clock.advance(until - self.clock.now())
            self._tell()

    def _tell(self) -> None:
        if self.progress is not None:
            self.progress(self.clock.now() - self.start, self.end)

    def apply(self, event: Event) -> None:
        """One event; an agent action the runtime refuses is recorded, not fatal."""
        tenant = self.runtime.tenant
        if event.kind == "inbound":
            try:
                accepted = self.runtime.submit(tenant, event.app, event.body)
            except RuntimeRequestError as exc:
                raise BadInputError(f"line {event.line}: the runtime refused it: {exc}") from None
            ref = str(event.body["external_id"])
            if ref not in self.ids:  # a repeated submission keeps the first's name
                self.name(ref, accepted.interaction_id)
        elif event.kind == "driver":
            self.sender.script(event.app, event.body)
        elif event.kind == "compliance_delete":
            body = {"type": "compliance-delete", "external_id": event.ref}
            self._try(event, lambda: self.runtime.event(tenant, event.app, body))
        elif event.kind == "agent":
            self._try(event, lambda: self._agent(event))

    def _try(self, event: Event, action: Any) -> None:
        try:
            action()
        except RuntimeRequestError as exc:
            self.refused.append(
                {"line": event.line, "at": event.at, "status": exc.status, "reason": exc.reason}
            )

    def _agent(self, event: Event) -> None:
        runtime, tenant, agent, action = (
            self.runtime,
            self.runtime.tenant,
            event.agent,
            event.action,
        )
        simple = {
            "login": runtime.agent_login,
            "ready": runtime.agent_ready,
            "not_ready": runtime.agent_not_ready,
            "logout": runtime.agent_logout,
        }
        if action in simple:
            simple[action](tenant, agent)
            return
        target = self._interaction(event)
        if action == "accept":
            runtime.accept(tenant, agent, target)
        elif action == "reject":
            runtime.reject(tenant, agent, target)
        elif action == "done":
            runtime.done(tenant, agent, target, event.queue)
        else:
            child = runtime.reply(tenant, agent, target, event.text, draft=action == "draft")
            if event.name is not None:
                self.name(event.name, child)

    def name(self, ref: str, interaction_id: str) -> None:
        """``ref`` names ``interaction_id`` from now on; given again (a reply's ``as``), it
        no longer names the interaction it named."""
        previous = self.ids.get(ref)
        if previous is not None and self.names.get(previous) == ref:
            del self.names[previous]
        self.ids[ref] = interaction_id
        self.names[interaction_id] = ref

    def _interaction(self, event: Event) -> str:
        """The interaction an agent action names; by default the agent's oldest offer
        (accept, reject) or oldest held interaction (reply, draft, done)."""
        if event.ref is not None:
            return self.ids[event.ref]
        state = "offered" if event.action in ("accept", "reject") else "agent"
        mine = [
            o for o in self.runtime.offers(self.runtime.tenant, event.agent) if o.state == state
        ]
        if not mine:
            what = "offered to it" if state == "offered" else "that it holds"
            raise RuntimeRequestError(409, f"agent {event.agent!r} has no interaction {what}")
        return mine[0].interaction_id

    def _next_due(self) -> float | None:
        with self.runtime.store.read() as conn:
            row = sql.run(conn, _NEXT_DUE, {"b_tenant": self.runtime.tenant}).one()
        found = [t for t in row if t is not None]
        return float(min(found)) if found else None

    def report(self) -> ReplayReport:
        """The store's view of the tenant after the replay."""
        from sqlalchemy import select

        store, tenant = self.runtime.store, self.runtime.tenant
        table, names = store.table, self.names
        result = ReplayReport(tenant, self.clock.now() - self.start, refused=self.refused)
        with store.read() as conn:
            offered: dict[str, list[tuple[str, float]]] = {}
            for row in conn.execute(
                select(offers.c.interaction_id, offers.c.agent, offers.c.offered_at)
                .where(offers.c.tenant == tenant)
                .order_by(offers.c.id)
            ):
                offered.setdefault(row.interaction_id, []).append((row.agent, row.offered_at))
            rows = conn.execute(
                select(table)
                .where(table.c.tenant == tenant)
                .order_by(table.c.received_at, table.c.id)
            )
            for row in rows:
                result.interactions.append(_interaction_view(row, names, offered, self.start))
            for row in conn.execute(
                select(outbox)
                .where(outbox.c.tenant == tenant)
                .order_by(outbox.c.created_at, outbox.c.id)
            ):
                result.outbound.append(_outbound_view(row, names, self.start))
            for row in conn.execute(select(agent_loads).where(agent_loads.c.tenant == tenant)):
                result.agents.setdefault(row.agent, {})[row.media_type] = row.load
        return result


def _next_due_statement() -> Any:
    from sqlalchemy import bindparam, func, select

    i, o = interactions.c, outbox.c
    tenant: Any = bindparam("b_tenant")
    return select(
        select(func.min(i.due_at)).where(i.tenant == tenant).scalar_subquery(),
        select(func.min(o.due_at))
        .where(o.tenant == tenant, o.state == "pending")
        .scalar_subquery(),
    )


# When the next timer falls due: an interaction's or an outbound request's. Asked at every
# step of a replay: built once, as the engine's statements are (gsetup.runtime.sql).
_NEXT_DUE = _next_due_statement()


def _interaction_view(
    row: Any, names: Mapping[str, str], offered: Mapping[str, list[tuple[str, float]]], start: float
) -> dict[str, Any]:
    offers_made = offered.get(row.id, [])
    return {
        "ref": names.get(row.id) or row.external_id,
        "id": row.id,
        "type": row.type,
        "media_type": row.media_type,
        "state": row.state,
        "queue": row.queue,
        "stop_reason": row.stop_reason,
        "agent": row.assigned_to,
        "offered_to": [agent for agent, _at in offers_made],
        "received_at": round(row.received_at - start, 3),
        "first_offer_at": round(offers_made[0][1] - start, 3) if offers_made else None,
        "parent": names.get(row.parent_id or "") or row.parent_id,
        "ended_at": None if row.ended_at is None else round(row.ended_at - start, 3),
        "error": row.error,
        "attached_data": json.loads(row.attached_data),
    }


def _outbound_view(row: Any, names: Mapping[str, str], start: float) -> dict[str, Any]:
    return {
        "interaction": names.get(row.interaction_id) or row.interaction_id,
        "method": row.method,
        "state": row.state,
        "attempts": row.attempts,
        "args": json.loads(row.body),
        "answer": json.loads(row.answer) if row.answer else None,
        "created_at": round(row.created_at - start, 3),
    }
