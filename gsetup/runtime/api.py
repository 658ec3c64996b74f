"""The routing runtime's in-process contract: what the HTTP layer, the CLI, tests and the
bench call. Every method commits before it returns, so a result is an acknowledgement.

    runtime = open_runtime("Environment", config_url=..., store_url=None)
    accepted = runtime.submit("Environment", "DMS_1", {"media_type": "facebook", ...})
    runtime.run_until_idle()          # or a Worker loop (gsetup.runtime.worker)
    runtime.agent_ready("Environment", "agent1")
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gsetup.fileio import quote_prefix
from gsetup.runtime.errors import AgentActionError, IntakeError

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine

    from gsetup.runtime.clock import Clock
    from gsetup.runtime.config import AgentConfig, Deployment
    from gsetup.runtime.context import Settings
    from gsetup.runtime.engine import Engine
    from gsetup.runtime.outbox import Sender
    from gsetup.runtime.services.classification import Classifier
    from gsetup.runtime.store import Store
    from gsetup.runtime.wakeups import Kind, Listener

# Seconds between two notifications of committed work to the other processes (wakeups).
NOTIFY_EVERY = 0.01
# Called with the agents that may have new offers; None: any agent.
OfferWatcher = Callable[[frozenset[str] | None], None]

__all__ = [
    "Accepted",
    "AgentActionError",
    "AgentStatus",
    "IntakeError",
    "Offer",
    "QueueStatus",
    "Runtime",
    "RuntimeStatus",
    "WorkerStatus",
    "open_runtime",
]


@dataclass(frozen=True)
class Accepted:
    """A committed submission: its interaction id, whether it repeated an earlier one (same
    tenant, channel and external id: nothing new was stored) and the queue it was placed in."""

    interaction_id: str
    duplicate: bool
    queue: str


@dataclass(frozen=True)
class Offer:
    """An interaction reserved for (state ``offered``) or held by (``agent``) an agent."""

    interaction_id: str
    state: str
    media_type: str
    channel: str | None  # the DMS channel section it came through (channel-facebook)
    queue: str | None
    text: str | None
    attached_data: Mapping[str, Any]
    expires_at: float | None  # when an unaccepted offer goes back to routing


@dataclass(frozen=True)
class QueueStatus:
    """Interactions waiting in a queue (not yet with an agent) and the oldest one's wait."""

    name: str
    depth: int
    oldest_wait: float | None  # seconds


@dataclass(frozen=True)
class AgentStatus:
    """An agent's presence and its load and capacity per media type."""

    name: str
    state: str  # logged_out, not_ready, ready, removing (gsetup agent remove)
    load: Mapping[str, int]
    capacity: Mapping[str, int]


@dataclass(frozen=True)
class WorkerStatus:
    """A worker process sharing the store."""

    worker_id: str
    started_at: float
    heartbeat_at: float
    processed: int
    alive: bool  # heartbeat within its lease


@dataclass(frozen=True)
class OutboxStatus:
    """The requests to DMS applications: per state (pending, sent, failed, cached), and how
    long the oldest pending one has waited since it was made (None: none pending)."""

    states: Mapping[str, int]
    oldest_pending: float | None


@dataclass(frozen=True)
class RuntimeStatus:
    """What ``gsetup route status`` shows."""

    tenant: str
    queues: tuple[QueueStatus, ...]
    agents: tuple[AgentStatus, ...]
    finished_last_minute: int
    throughput: float  # interactions finished per second over the last minute
    workers: tuple[WorkerStatus, ...]
    states: Mapping[str, int]  # interactions per state
    outbox: OutboxStatus


class Runtime:
    """The engine of one tenant on one store; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Set when work due now was committed (a submission, a driver event, an agent action
        # that routes an interaction or frees capacity), by this process or, once it
        # listens (:meth:`listen`), by another on the same PostgreSQL store: the worker loop
        # of ``gsetup route run`` wakes on it instead of waiting out its poll.
        self.work = threading.Event()
        self._listener: Listener | None = None
        self._offer_watchers: list[OfferWatcher] = []
        self._work_notified = -NOTIFY_EVERY
        # Names this runtime in its notifications, so that it ignores its own.
        self._sender = secrets.token_hex(8)
        engine.offers_made = self._offers_made

    @property
    def tenant(self) -> str:
        """The tenant this runtime serves."""
        return self.engine.ctx.tenant

    @property
    def store(self) -> Store:
        """The interaction store."""
        return self.engine.ctx.store

    @property
    def clock(self) -> Clock:
        """The clock every due time is measured with."""
        return self.engine.ctx.clock

    # --- intake ----------------------------------------------------------------------------

    def submit(self, tenant: str, app: str, body: Any) -> Accepted:
        """Store one inbound interaction submitted by DMS application ``app``, or find the
        one it repeats; :class:`IntakeError` (400/404/413/422) stores nothing."""
        return self.submit_many(tenant, app, [body])[0]

    def submit_many(self, tenant: str, app: str, bodies: Iterable[Any]) -> list[Accepted]:
        """Store several submissions in one transaction; all or none (the first bad body
        raises :class:`IntakeError` naming its position)."""
        from gsetup.runtime.intake import submit_many

        self._check_tenant(tenant, IntakeError)
        accepted = submit_many(self.engine.ctx, app, list(bodies))
        if any(not a.duplicate for a in accepted):
            self._committed()
        return accepted

    def event(self, tenant: str, app: str, body: Any) -> str:
        """Apply a driver event (``outbound-result``, ``compliance-delete``); returns what it
        matched (an outbox row or a stored message id)."""
        from gsetup.runtime.intake import apply_event

        self._check_tenant(tenant, IntakeError)
        matched = apply_event(self.engine.ctx, app, body)
        self._committed()
        return matched

    # --- agents ----------------------------------------------------------------------------

    def agent_login(
        self, tenant: str, agent: str, config: AgentConfig | None = None
    ) -> AgentStatus:
        """Log an agent in, not ready, with the skills and capacity of ``config`` (read from
        the configuration database now), else of the configuration read at start. Logged in
        already, its offers not yet accepted go back to routing, as at a logout."""
        from gsetup.runtime.agents import login

        self._check_tenant(tenant, AgentActionError)
        status = login(self.engine.ctx, agent, config)
        self._committed()  # offers it had are routed again
        return status

    def agent_ready(self, tenant: str, agent: str) -> AgentStatus:
        """The agent can take interactions."""
        return self._presence(tenant, agent, "ready")

    def agent_not_ready(self, tenant: str, agent: str) -> AgentStatus:
        """The agent takes no new interactions; what it holds stays with it."""
        return self._presence(tenant, agent, "not_ready")

    def agent_logout(self, tenant: str, agent: str) -> AgentStatus:
        """Log out; offers not yet accepted go back to routing."""
        return self._presence(tenant, agent, "logged_out")

    def offers(self, tenant: str, agent: str) -> list[Offer]:
        """The interactions offered to or held by ``agent``."""
        from gsetup.runtime.agents import offers_of

        self._check_tenant(tenant, AgentActionError)
        return offers_of(self.engine.ctx, agent)

    def accept(self, tenant: str, agent: str, interaction_id: str) -> Offer:
        """Accept an interaction offered to ``agent``."""
        from gsetup.runtime.agents import accept

        self._check_tenant(tenant, AgentActionError)
        return accept(self.engine.ctx, agent, interaction_id)

    def accept_many(self, tenant: str, agent: str, interaction_ids: list[str]) -> list[Offer]:
        """Accept several offers of ``agent`` in one transaction: all or none."""
        from gsetup.runtime.agents import accept_many

        self._check_tenant(tenant, AgentActionError)
        return accept_many(self.engine.ctx, agent, interaction_ids)

    def reject(self, tenant: str, agent: str, interaction_id: str) -> None:
        """Refuse an offer: the reservation is released and the interaction is routed again."""
        from gsetup.runtime.agents import reject

        self._check_tenant(tenant, AgentActionError)
        reject(self.engine.ctx, agent, interaction_id)
        self._committed()

    def reply(
        self, tenant: str, agent: str, interaction_id: str, text: str, *, draft: bool = False
    ) -> str:
        """Answer a held interaction: an outbound interaction (child of it) is placed in the
        Business Process's outbound queue, whose strategy sends it (a ``draft``: in its
        outbound init queue); returns its id."""
        from gsetup.runtime.agents import reply

        self._check_tenant(tenant, AgentActionError)
        child = reply(self.engine.ctx, agent, interaction_id, text, draft=draft)
        self._committed()
        return child

    def done(self, tenant: str, agent: str, interaction_id: str, queue: str | None = None) -> None:
        """The agent is finished: its capacity is freed and the interaction goes to
        ``queue`` (default: its Business Process's stop queue, else it is stopped)."""
        from gsetup.runtime.agents import done

        self._check_tenant(tenant, AgentActionError)
        done(self.engine.ctx, agent, interaction_id, queue)
        self._committed()

    def done_many(
        self, tenant: str, agent: str, interaction_ids: list[str], queue: str | None = None
    ) -> None:
        """:meth:`done` for several interactions of ``agent`` in one transaction: all or none."""
        from gsetup.runtime.agents import done_many

        self._check_tenant(tenant, AgentActionError)
        done_many(self.engine.ctx, agent, interaction_ids, queue)
        self._committed()

    # --- running ---------------------------------------------------------------------------

    def run_turn(self) -> int:
        """One loop turn: claim due interactions, run them, commit. Returns how many ran."""
        return self.engine.run_turn()

    def run_until_idle(self, max_turns: int = 1_000_000) -> int:
        """Run turns (and outbox deliveries) until nothing is due now; returns turns run."""
        return self.engine.run_until_idle(max_turns)

    def status(self, tenant: str) -> RuntimeStatus:
        """Queues, agents, throughput and workers of ``tenant``."""
        from gsetup.runtime.status import read_status

        self._check_tenant(tenant, IntakeError)
        return read_status(self.engine.ctx)

    def check_store(self) -> None:
        """Read a row of the store, raising as any call does when the store does not answer
        (``/healthz``)."""
        from sqlalchemy import select

        from gsetup.runtime.schema import runtime_meta

        with self.store.read() as conn:
            conn.execute(select(runtime_meta.c.value).limit(1)).all()

    def refresh(self, config: SqlEngine) -> None:
        """The worker loop's housekeeping: read what may change while the runtime runs from
        the configuration database ``config`` (:meth:`refresh_applications`), and log out
        the agents removed from it (:meth:`log_out_removed_agents`)."""
        self.refresh_applications(config)
        self.log_out_removed_agents(config)

    def log_out_removed_agents(self, config: SqlEngine) -> list[str]:
        """Log out the agents logged in to the store that the configuration database
        ``config`` no longer has (``gsetup agent remove``): their offers not accepted are
        routed again, to agents that are still there. Returns them."""
        from gsetup.runtime.agents import log_out_removed
        from gsetup.runtime.config import read_agents

        gone = log_out_removed(
            self.engine.ctx, lambda names: read_agents(config, self.tenant, names)
        )
        if gone:
            self._committed()  # their offers are due to be targeted again
        return gone

    def refresh_applications(self, config: SqlEngine) -> None:
        """Read the tenant's applications and their options again from the configuration
        database ``config`` (a DMS added, a channel's route changed): submissions, sends and
        channel options use them from now on. Strategies and queues are read only at start."""
        from dataclasses import replace

        from gsetup.runtime.config import read_apps

        ctx = self.engine.ctx
        ctx.deployment = replace(ctx.deployment, apps=read_apps(config, ctx.tenant))

    def listen(self) -> None:
        """PostgreSQL: hear what the other processes on the store commit too (see
        :mod:`gsetup.runtime.wakeups`): their work sets :attr:`work`, their offers call the
        offer watchers; until :meth:`close`."""
        from gsetup.runtime.wakeups import Listener

        if self._listener is None and self.store.postgresql:
            self._listener = Listener(self.store, self._sender, self.tenant, self._noticed)
            self._listener.start()

    def watch_offers(self, callback: OfferWatcher) -> Callable[[], None]:
        """Call ``callback`` (from any thread) with the agents that may have new offers
        (None: any agent): after each turn of this process that made offers and, once it
        listens, another process's. Returns what stops the calls."""
        self._offer_watchers.append(callback)
        return lambda: self._offer_watchers.remove(callback)

    def close(self) -> None:
        """Stop listening and release the store's and the DMS sender's connections."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self.engine.sender.close()
        self.engine.ctx.store.dispose()

    def _committed(self) -> None:
        """Work due now was committed: wake this process's worker, and tell the others so
        that an idle one takes it while this one is busy, or at all if this process runs
        no worker. A process that runs one (it listens) tells them at most once per
        ``NOTIFY_EVERY`` seconds: its own worker takes what they leave."""
        from gsetup.runtime.wakeups import notify

        self.work.set()
        now = time.monotonic()
        if self._listener is None or now - self._work_notified >= NOTIFY_EVERY:
            self._work_notified = now
            notify(self.store, self._sender, self.tenant, "work")

    def _offers_made(self, agents: frozenset[str]) -> None:
        from gsetup.runtime.wakeups import notify

        self._noticed("offers", agents)
        notify(self.store, self._sender, self.tenant, "offers", agents)

    def _noticed(self, kind: Kind, agents: frozenset[str] | None) -> None:
        if kind == "work":
            self.work.set()
            return
        for callback in tuple(self._offer_watchers):
            callback(agents)

    def _presence(self, tenant: str, agent: str, state: str) -> AgentStatus:
        from gsetup.runtime.agents import set_presence

        self._check_tenant(tenant, AgentActionError)
        status = set_presence(self.engine.ctx, agent, state)
        self._committed()  # ready: waiting targets woken; logged out: offers routed again
        return status

    def _check_tenant(self, tenant: str, error: type[IntakeError | AgentActionError]) -> None:
        if tenant != self.tenant:
            shown = quote_prefix(tenant)
            raise error(404, f"this runtime serves tenant {self.tenant!r}, not {shown}")


def open_runtime(
    tenant: str,
    *,
    config_url: str | None = None,
    store_url: str | None = None,
    clock: Clock | None = None,
    classifier: Classifier | None = None,
    worker_id: str | None = None,
    deployment: Deployment | None = None,
    settings: Settings | None = None,
    sender: Sender | None = None,
    create_store: bool = True,
    record_use: bool = True,
) -> Runtime:
    """Load the tenant's installed strategies (refusing any malformed file) and open its store.

    ``store_url`` defaults to an embedded SQLite file beside the configuration database
    (:func:`gsetup.runtime.store.default_store_url`). ``deployment`` replaces reading the
    configuration database (tests and the bench build one in memory); ``sender`` replaces
    the HTTP delivery of DMS requests. Without ``create_store`` the store must exist already
    and is not written (a read such as ``route status``). ``record_use``: see
    :func:`gsetup.runtime.engine.build_engine`.
    """
    from gsetup.runtime.engine import build_engine

    return Runtime(
        build_engine(
            tenant,
            config_url=config_url,
            store_url=store_url,
            clock=clock,
            classifier=classifier,
            worker_id=worker_id,
            deployment=deployment,
            settings=settings,
            sender=sender,
            create_store=create_store,
            record_use=record_use,
        )
    )
