"""Prometheus metrics of one engine, in a registry of its own (``/metrics`` renders it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class Metrics:
    """The counters and histograms the engine updates."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.submitted = Counter(
            "gsetup_interactions_submitted", "Interactions accepted by the intake", registry=r
        )
        self.duplicates = Counter(
            "gsetup_submissions_duplicate", "Submissions that repeated a stored one", registry=r
        )
        self.steps = Counter(
            "gsetup_strategy_runs", "Interactions run by the engine (one per claim)", registry=r
        )
        self.stopped = Counter(
            "gsetup_interactions_stopped", "Interactions terminated", ["reason"], registry=r
        )
        self.errors = Counter(
            "gsetup_interactions_parked", "Interactions parked by a strategy error", registry=r
        )
        self.offers = Counter("gsetup_offers", "Offers made to agents", registry=r)
        self.outbox = Counter(
            "gsetup_outbox_deliveries", "DMS requests by outcome", ["outcome"], registry=r
        )
        self.offer_latency = Histogram(
            "gsetup_submission_to_offer_seconds",
            "From an interaction's submission to the commit of its first offer to an agent",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
        )
        self.turns = Histogram(
            "gsetup_turn_seconds",
            "Duration of one engine loop turn (one transaction)",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )
