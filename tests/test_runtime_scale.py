"""Scale-out: four worker processes share one PostgreSQL store; agents with capacity 1-3
never hold more than their rule allows, sampled continuously while 2,000 interactions run."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.runtime.api import open_runtime
from tests.runtime_support import CHANNEL, DMS, TENANT, WorkerProcess, auto_agents

STRATEGIES = Path(__file__).resolve().parent / "runtime_capacity"
QUEUE = "Capacity Inbound Queue"
MEDIA = ("facebook", "twitter")
AGENTS = {f"agent{n}": 1 + n % 3 for n in range(8)}
DEADLINE = 600.0


def configure(config_url: str) -> None:
    """A Business Process serving one queue with the capacity strategy, a DMS routing to it,
    and agents whose capacity rules allow 1, 2 or 3 interactions per media type."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.state import DesiredObject, DesiredState, object_path, options

    bp = object_path("business_process", "Capacity BP")
    queue = object_path("queue", QUEUE)
    state = DesiredState(TENANT)
    state.add(
        DesiredObject(
            "business_process",
            bp,
            {"package": "capacity-test", "version": "1", "strategy_dir": str(STRATEGIES)},
        )
    )
    state.add(DesiredObject("queue", queue, {"business_process": bp}))
    state.add(
        DesiredObject(
            "strategy",
            object_path("strategy", "Capacity Deliver"),
            {"file": "deliver.yaml", "active": True, "business_process": bp, "queue": queue},
        )
    )
    state.add(
        DesiredObject(
            "application",
            object_path("application", DMS),
            {"app_type": "DigitalMessagingServer", "host": "127.0.0.1", "port": 9},
            options({CHANNEL: {"inbound-route": "1:in"}, "endpoints:1": {"in": QUEUE}}),
        )
    )
    for capacity in (1, 2, 3):
        state.add(
            DesiredObject(
                "capacity_rule",
                object_path("capacity_rule", f"rule-{capacity}"),
                {"limits": dict.fromkeys(MEDIA, capacity)},
            )
        )
    for name, capacity in AGENTS.items():
        state.add(
            DesiredObject(
                "person",
                object_path("person", name),
                {"capacity_rule": object_path("capacity_rule", f"rule-{capacity}")},
            )
        )
    db = open_database(config_url)
    try:
        apply_state(db.engine, state, Operation("capacity test set-up", "tests"))
    finally:
        db.engine.dispose()


def _sample(store_url: str, stop: threading.Event, samples: list[int], excess: list[Any]) -> None:
    """Read what every agent holds, again and again, until told to stop."""
    engine = create_engine(store_url, poolclass=NullPool)
    held = text(
        "SELECT assigned_to, media_type, count(*) FROM interactions "
        "WHERE state IN ('offered', 'agent') GROUP BY assigned_to, media_type"
    )
    loads = text("SELECT agent, media_type, load FROM runtime_agent_loads")
    try:
        while not stop.is_set():
            with engine.connect() as conn:
                rows = [*conn.execute(held), *conn.execute(loads)]
            samples.append(len(rows))
            excess.extend(r for r in rows if r[2] > AGENTS[r[0]])
            time.sleep(0.01)
    finally:
        engine.dispose()


def _desks() -> list[list[str]]:
    names = list(AGENTS)
    return [names[n::4] for n in range(4)]


def _desk(config: str, store_url: str, names: list[str], count: int, handled: list[int]) -> None:
    """Automatic agents accepting and finishing whatever they are offered, until every
    interaction of the run was handled by some desk."""
    runtime = open_runtime(TENANT, config_url=config, store_url=store_url)
    started = time.monotonic()
    try:
        while sum(handled) < count and time.monotonic() - started < DEADLINE:
            done = auto_agents(runtime, names, reply=False)
            handled.append(done)
            if not done:
                time.sleep(0.02)
    finally:
        runtime.close()


def _run(tmp_path: Path, store_url: str, count: int) -> None:
    config = f"sqlite:///{tmp_path / 'config.db'}"
    configure(config)
    runtime = open_runtime(TENANT, config_url=config, store_url=store_url)
    for agent in AGENTS:
        runtime.agent_login(TENANT, agent)
        runtime.agent_ready(TENANT, agent)
    workers = [
        WorkerProcess(
            [
                "--config",
                config,
                "--store",
                store_url,
                "--worker-id",
                f"w{n}",
                "--batch-size",
                "20",
            ],
            tmp_path / f"w{n}.log",
        )
        for n in range(4)
    ]
    for worker in workers:
        worker.spawn()
    for worker in workers:
        worker.wait_ready()
    stop = threading.Event()
    samples: list[int] = []
    excess: list[Any] = []
    sampler = threading.Thread(target=_sample, args=(store_url, stop, samples, excess))
    sampler.start()
    for start in range(0, count, 500):
        bodies = [
            {"media_type": MEDIA[n % 2], "channel": CHANNEL, "external_id": f"e{n}", "text": "hi"}
            for n in range(start, min(count, start + 500))
        ]
        runtime.submit_many(TENANT, DMS, bodies)
    # Agents work in parallel, as people would: four desks of two agents each.
    handled: list[int] = []
    desks = [
        threading.Thread(target=_desk, args=(config, store_url, names, count, handled))
        for names in _desks()
    ]
    try:
        for desk in desks:
            desk.start()
        for desk in desks:
            desk.join(timeout=DEADLINE)
    finally:
        stop.set()
        sampler.join(timeout=60)
        for worker in workers:
            worker.kill()
        status = runtime.status(TENANT)
        runtime.close()
    assert excess == []
    assert len(samples) > 20  # sampled throughout, not once
    assert sum(handled) == count
    busy = [w for w in status.workers if w.processed > 0]
    assert len(busy) == 4  # all four workers took part
    engine = create_engine(store_url, poolclass=NullPool)
    with engine.connect() as conn:
        twice = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT interaction_id FROM runtime_offers "
                "GROUP BY interaction_id HAVING count(*) > 1) AS t"
            )
        ).scalar_one()
        done = conn.execute(
            text("SELECT count(*) FROM interactions WHERE queue = :q AND state = 'queued'"),
            {"q": QUEUE},
        ).scalar_one()
    engine.dispose()
    assert twice == 0  # no interaction offered twice (nothing was rejected or expired)
    assert done == 0


@pytest.mark.pg
def test_capacity_never_exceeded_with_four_workers(tmp_path: Path, pg_url: str) -> None:
    """2,000 interactions (about 45 s); GSETUP_TEST_CAPACITY_COUNT=N runs N."""
    _run(tmp_path, pg_url, int(os.environ.get("GSETUP_TEST_CAPACITY_COUNT", "2000")))
