"""What every part of the engine shares: the tenant, its program and deployment, the store,
the clock, the services and the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gsetup.runtime.clock import Clock
    from gsetup.runtime.config import Deployment
    from gsetup.runtime.metrics import Metrics
    from gsetup.runtime.program import Program
    from gsetup.runtime.services.classification import Classifier
    from gsetup.runtime.services.influence import InfluenceProvider
    from gsetup.runtime.store import Store

log = logging.getLogger("gsetup.runtime")


@dataclass(frozen=True)
class Settings:
    """Tunables of the engine; the defaults are what ``gsetup route run`` uses."""

    batch_size: int = 200  # interactions claimed per loop turn (one transaction)
    max_hops: int = 32  # routes followed within one turn before yielding the interaction
    reservation_timeout: float = 30.0  # seconds an offer waits for the agent to accept
    # A waiting target is woken when capacity frees or an agent becomes ready; this periodic
    # look is only a safety net, kept long so that thousands of waiting interactions do not
    # poll (each look is a resume and a write).
    target_recheck: float = 300.0
    order_recheck: float = 1.0  # keep_order looks again after this long
    lease: float = 30.0  # seconds an outbox claim is held by its worker
    heartbeat: float = 5.0  # how often a worker records that it is alive
    max_body: int = 1_048_576  # bytes of a submission's JSON
    outbox_batch: int = 50
    retry_backoff: float = 2.0  # seconds before the first retry of a failed send, doubled after


@dataclass
class EngineContext:
    """The shared state of one engine."""

    tenant: str
    store: Store
    clock: Clock
    deployment: Deployment
    program: Program
    classifier: Classifier
    influence: InfluenceProvider
    metrics: Metrics
    worker_id: str
    settings: Settings = field(default_factory=Settings)
    # A Business Process's own classifier (its rule files), by its name; else ``classifier``.
    classifiers: dict[str, Classifier] = field(default_factory=dict)
