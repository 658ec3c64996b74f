"""``route status``: queues, agents, throughput and workers, read from the store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from gsetup.runtime.api import (
    AgentStatus,
    OutboxStatus,
    QueueStatus,
    RuntimeStatus,
    WorkerStatus,
)
from gsetup.runtime.schema import agent_loads, agents, interactions, outbox, workers

if TYPE_CHECKING:
    from gsetup.runtime.context import EngineContext

WAITING_STATES = ("queued", "routing", "offered")
WINDOW = 60.0


def read_status(ctx: EngineContext) -> RuntimeStatus:
    """The tenant's runtime as stored: one snapshot on SQLite; on PostgreSQL each figure is
    as of its own statement (no transaction: a status never holds up the workers)."""
    from sqlalchemy import func, select

    i, a, ld, w, o = interactions.c, agents.c, agent_loads.c, workers.c, outbox.c
    tenant, now = ctx.tenant, ctx.clock.now()
    with ctx.store.read() as conn:
        queue_rows = conn.execute(
            select(i.queue, func.count(), func.min(i.placed_in_queue_at))
            .where(i.tenant == tenant, i.state.in_(WAITING_STATES))
            .group_by(i.queue)
            .order_by(i.queue)
        ).all()
        states: dict[str, int] = dict(
            conn.execute(
                select(i.state, func.count()).where(i.tenant == tenant).group_by(i.state)
            ).all()
        )
        finished = conn.execute(
            select(func.count()).where(i.tenant == tenant, i.ended_at >= now - WINDOW)
        ).scalar_one()
        agent_rows = conn.execute(
            select(a.name, a.state, a.capacity).where(a.tenant == tenant).order_by(a.name)
        ).all()
        loads: dict[str, dict[str, int]] = {}
        for agent, media_type, load in conn.execute(
            select(ld.agent, ld.media_type, ld.load).where(ld.tenant == tenant)
        ).all():
            loads.setdefault(agent, {})[media_type] = load
        worker_rows = conn.execute(
            select(w.worker_id, w.started_at, w.heartbeat_at, w.processed)
            .where(w.tenant == tenant)
            .order_by(w.worker_id)
        ).all()
        requests = conn.execute(
            select(o.state, func.count(), func.min(o.created_at))
            .where(o.tenant == tenant)
            .group_by(o.state)
            .order_by(o.state)
        ).all()
    lease = ctx.settings.lease
    return RuntimeStatus(
        tenant=tenant,
        queues=tuple(
            QueueStatus(q or "", n, (now - oldest) if oldest is not None else None)
            for q, n, oldest in queue_rows
        ),
        agents=tuple(
            AgentStatus(r.name, r.state, loads.get(r.name, {}), json.loads(r.capacity))
            for r in agent_rows
        ),
        finished_last_minute=finished,
        throughput=finished / WINDOW,
        workers=tuple(
            WorkerStatus(
                r.worker_id, r.started_at, r.heartbeat_at, r.processed, now - r.heartbeat_at < lease
            )
            for r in worker_rows
        ),
        states=states,
        outbox=OutboxStatus(
            {state: n for state, n, _ in requests},
            next((now - first for state, _, first in requests if state == "pending"), None),
        ),
    )
