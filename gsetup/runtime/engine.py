"""The engine: one loop turn claims due interactions, runs each from its last committed step,
and commits everything as one transaction. An interaction's new state is acted on (offered,
sent, acknowledged) only once its turn has committed.

Claiming: due interactions (``due_at <= now``) of the tenant, oldest due first; on PostgreSQL
with ``FOR UPDATE SKIP LOCKED``, so workers sharing a store never run the same interaction at
once and a killed worker's rows are free as soon as its connection is gone. Outbox rows,
which are sent outside any transaction, are claimed with leases (:mod:`gsetup.runtime.outbox`).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gsetup.runtime import sql
from gsetup.runtime.agents import after_commit, expire_offer
from gsetup.runtime.clock import Clock, SystemClock
from gsetup.runtime.context import EngineContext, Settings
from gsetup.runtime.interpreter import Machine
from gsetup.runtime.metrics import Metrics
from gsetup.runtime.outbox import HttpSender, Sender, deliver
from gsetup.runtime.schema import workers
from gsetup.runtime.turn import Turn

if TYPE_CHECKING:
    import threading

    from gsetup.runtime.config import Deployment
    from gsetup.runtime.services.classification import Classifier


# Interactions run when the engine makes sure the store's planner statistics follow its
# growth (Store.ensure_statistics): first when ANALYZE can see that the tenant is one value
# and ids are unique, then each time four times as many; past the last, autovacuum's
# analyzes keep up.
SAMPLE_AT = (256, 1_024, 4_096, 16_384, 65_536)
_NEVER = -1e18  # the last heartbeat of a process that has not written one
# Seconds a dead worker's row is kept for ``route status``. With the default ids (host:pid)
# every restart adds a row; a supervisor restarting a crashing worker would grow them for ever.
DEAD_WORKER_KEPT = 86_400.0


@dataclass
class Engine:
    """Runs turns for one tenant."""

    ctx: EngineContext
    sender: Sender = field(default_factory=HttpSender)
    _last_heartbeat: float = _NEVER
    _unrecorded: int = 0  # interactions processed since the last heartbeat was written
    # Interactions this engine has run, and how many of SAMPLE_AT it has passed
    _ran: int = 0
    _sampled: int = 0
    # Whether the last turn may have left work due now: it claimed a full batch, or made
    # interactions due that it did not run. Otherwise the worker loop need not look again
    # at once (an empty turn to find that out costs three round trips).
    more_due: bool = False
    # Called with the agents offered to, once the turn that made the offers has committed
    # (the Runtime answers the agents waiting for offers).
    offers_made: Callable[[frozenset[str]], None] = lambda _agents: None

    def run_turn(self) -> int:
        """Claim, run and commit one batch; returns how many interactions ran."""
        ctx = self.ctx
        started = time.perf_counter()
        with ctx.store.begin() as conn:
            turn = Turn(ctx, conn, ctx.clock.now())
            claimed = turn.hold(self._claim(turn))
            for itx in claimed:
                if itx.state == "offered":
                    expire_offer(turn, itx)
                itx.refresh_props()
                Machine(turn, itx).run()
            turn.flush()
            unrecorded = self._heartbeat(turn, len(claimed))
        self._unrecorded = unrecorded
        after_commit(turn)
        self.more_due = len(claimed) >= ctx.settings.batch_size or turn.made_due
        if turn.offered_to:
            self.offers_made(frozenset(turn.offered_to))
            committed = ctx.clock.now()
            for received_at in turn.first_offered:
                ctx.metrics.offer_latency.observe(max(0.0, committed - received_at))
        if claimed:
            ctx.metrics.steps.inc(len(claimed))
            ctx.metrics.turns.observe(time.perf_counter() - started)
            if self._sampled < len(SAMPLE_AT):
                self._ran += len(claimed)
                if self._ran >= SAMPLE_AT[self._sampled]:
                    ctx.store.ensure_statistics()
                    self._sampled += 1
        return len(claimed)

    def deliver(self, stopping: threading.Event | None = None) -> int:
        """Send due outbox rows, no more once ``stopping`` is set; returns how many were
        attempted."""
        return deliver(self.ctx, self.sender, stopping)

    def run_until_idle(self, max_turns: int = 1_000_000) -> int:
        """Turns and deliveries until nothing is due now."""
        for turns in range(max_turns):
            if not self.run_turn() and not self.deliver():
                return turns
        return max_turns

    def retire(self) -> None:
        """This process stops working for the tenant: its worker row goes, so ``route status``
        no longer shows it alive until its heartbeat ages past the lease. A killed worker
        keeps its row, shown dead once the lease has run out, until a worker of the tenant
        starts after it has been dead for :data:`DEAD_WORKER_KEPT`."""
        with self.ctx.store.begin() as conn:
            conn.execute(
                workers.delete().where(
                    workers.c.tenant == self.ctx.tenant, workers.c.worker_id == self.ctx.worker_id
                )
            )
        self._last_heartbeat, self._unrecorded = _NEVER, 0

    def _claim(self, turn: Turn) -> list[object]:
        store = self.ctx.store
        params = {
            "b_tenant": self.ctx.tenant,
            "b_now": turn.now,
            "b_limit": self.ctx.settings.batch_size,
        }
        rows = sql.run(turn.conn, sql.claim(store.table, store.postgresql), params)
        # Equal due times in id (creation) order, as SQLite returns them: PostgreSQL's order
        # of ties changes with its heap, and a replay on it would not run as recorded. Sorted
        # here: ordered by id too, the claim's generic plan no longer uses ix_itx_due.
        return sorted(rows, key=lambda row: (row.due_at, row.id))

    def _heartbeat(self, turn: Turn, claimed: int) -> int:
        """Record that this worker is alive and what it processed: every ``heartbeat``
        seconds, and in the first turn that finds nothing after some that did (so a count
        is never left unwritten for long, nor written by every turn of a busy worker).
        Returns what is left to record once the turn has committed."""
        from sqlalchemy import update

        ctx = self.ctx
        processed = self._unrecorded + claimed
        due = turn.now - self._last_heartbeat >= ctx.settings.heartbeat
        if not due and (claimed or not processed):
            return processed
        w = workers.c
        values: dict[str, Any] = {"heartbeat_at": turn.now, "processed": w.processed + processed}
        mine = (w.tenant == ctx.tenant) & (w.worker_id == ctx.worker_id)
        if self._last_heartbeat == _NEVER:  # this process's first: a restarted worker's row
            values["started_at"] = turn.now
            forgotten = (w.heartbeat_at < turn.now - DEAD_WORKER_KEPT) & ~mine
            turn.conn.execute(workers.delete().where(w.tenant == ctx.tenant, forgotten))
        changed = turn.conn.execute(update(workers).where(mine).values(values)).rowcount
        if not changed:
            turn.conn.execute(
                workers.insert().values(
                    worker_id=ctx.worker_id,
                    tenant=ctx.tenant,
                    started_at=turn.now,
                    heartbeat_at=turn.now,
                    processed=processed,
                )
            )
        self._last_heartbeat = turn.now
        return 0


def default_worker_id() -> str:
    """``host:pid``: unique among the workers sharing a store."""
    return f"{socket.gethostname()}:{os.getpid()}"


def rule_classifiers(deployment: Deployment) -> dict[str, Classifier]:
    """Each Business Process's classifier: its rule files, loaded and checked (a bad file
    refuses the start, naming file, rule and line)."""
    from gsetup.runtime.classify.classifier import RulesClassifier
    from gsetup.runtime.classify.rules import load_rules, rules_directory

    books = {
        d: load_rules(d) for d in {rules_directory(bp.install_home) for bp in deployment.processes}
    }
    return {
        bp.name: RulesClassifier(books[rules_directory(bp.install_home)])
        for bp in deployment.processes
    }


def build_engine(
    tenant: str,
    *,
    config_url: str | None,
    store_url: str | None,
    clock: Clock | None = None,
    classifier: Classifier | None = None,
    worker_id: str | None = None,
    deployment: Deployment | None = None,
    settings: Settings | None = None,
    sender: Sender | None = None,
    create_store: bool = True,
    record_use: bool = True,
) -> Engine:
    """Load the tenant's program (all or nothing), open its store (``create_store``: or
    create it; see :func:`open_store`) and build the engine. ``record_use``: record a store
    other than the default one as used (:func:`record_store`) now; ``route run`` does it
    once it serves, so that a refused start records nothing."""
    from gsetup.configdb.database import resolve_url
    from gsetup.runtime.config import read_deployment
    from gsetup.runtime.endpoints import record_store
    from gsetup.runtime.errors import StoreError
    from gsetup.runtime.program import load_program
    from gsetup.runtime.services.classification import KeywordClassifier
    from gsetup.runtime.services.influence import FollowerCountInfluence
    from gsetup.runtime.store import default_store_url, open_store, refuse_config_file

    configured = deployment is None  # from a configuration database, not built in memory
    if deployment is None:
        deployment = read_deployment(config_url, tenant)
    program = load_program(deployment)
    default = default_store_url(resolve_url(config_url))
    if store_url is not None:
        refuse_config_file(store_url, resolve_url(config_url))
    # an empty --store is refused as a URL, not taken as "no --store"
    store = open_store(default if store_url is None else store_url, create=create_store)
    if configured and create_store and record_use and store_url is not None:
        try:
            record_store(default, tenant, store_url)
        except StoreError:
            store.engine.dispose()
            raise
    ctx = EngineContext(
        tenant=tenant,
        store=store,
        clock=clock or SystemClock(),
        deployment=deployment,
        program=program,
        classifier=classifier or KeywordClassifier(),
        classifiers={} if classifier is not None else rule_classifiers(deployment),
        influence=FollowerCountInfluence(),
        metrics=Metrics(),
        worker_id=worker_id or default_worker_id(),
        settings=settings or Settings(),
    )
    return Engine(ctx, sender or HttpSender())
