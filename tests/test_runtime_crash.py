"""Crash safety: a real worker process killed with SIGKILL at several points of a run, then
restarted, finishes every interaction exactly once, offers none twice, and the DMS receives
each outbound message once (repeats dropped by idempotency key)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.runtime.api import open_runtime
from tests.runtime_support import (
    DMS,
    TENANT,
    WorkerProcess,
    auto_agents,
    configure_tenant,
    post,
    receiver,
)

AGENTS = {f"agent{n}": 1 + n % 3 for n in range(6)}
TWICE = (
    "SELECT count(*) FROM (SELECT interaction_id FROM runtime_offers "
    "GROUP BY interaction_id HAVING count(*) > 1) AS twice"
)


def _deadline(count: int) -> float:
    """Seconds the run may take: a bound against hanging, not a speed goal."""
    return 600.0 + 0.5 * count


_ENGINES: dict[str, Any] = {}


def _count(url: str, sql: str) -> int:
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _rows(url: str, sql: str) -> list[Any]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        found = list(conn.execute(text(sql)))
    engine.dispose()
    return found


def _run(tmp_path: Path, store_url: str, count: int) -> None:
    config = f"sqlite:///{tmp_path / 'config.db'}"
    with receiver(tmp_path) as dms:
        configure_tenant(config, tmp_path, agents=AGENTS, outbound_url=dms.url)
        runtime = open_runtime(TENANT, config_url=config, store_url=store_url)
        for start in range(0, count, 500):
            runtime.submit_many(
                TENANT, DMS, [post(n) for n in range(start, min(count, start + 500))]
            )
        for agent in AGENTS:
            runtime.agent_login(TENANT, agent)
            runtime.agent_ready(TENANT, agent)
        worker = WorkerProcess(
            ["--config", config, "--store", store_url, "--lease", "2", "--batch-size", "50"],
            tmp_path / "worker.log",
        )
        worker.start()
        kill_at = [count // 5, count // 2, (4 * count) // 5]  # interactions stopped
        kills = 0
        finished = "SELECT count(*) FROM interactions WHERE state = 'stopped'"
        started, deadline = time.monotonic(), _deadline(count)
        try:
            while _count(store_url, finished) < 2 * count:  # each post and its reply
                assert time.monotonic() - started < deadline, "the run did not finish in time"
                auto_agents(runtime, list(AGENTS), reply=True)
                if kill_at and _count(store_url, finished) >= kill_at[0]:
                    kill_at.pop(0)
                    worker.kill()
                    kills += 1
                    worker.start()
                time.sleep(0.05)
            assert worker.terminate() == 0
        finally:
            worker.kill()
            runtime.close()
        assert kills == 3
        states = _rows(
            store_url,
            "SELECT type, state, stop_reason, count(*) FROM interactions "
            "GROUP BY type, state, stop_reason ORDER BY type",
        )
        assert [tuple(r) for r in states] == [
            ("Inbound", "stopped", "done", count),
            ("Outbound", "stopped", "sent", count),
        ]
        assert (
            _count(
                store_url,
                TWICE,
            )
            == 0
        )
        assert (
            _count(store_url, "SELECT count(DISTINCT interaction_id) FROM runtime_offers") == count
        )
        delivered = dms.delivered()
        assert len(delivered) == count  # once each, although some were posted again
        assert len({d["body"]["interaction_id"] for d in delivered}) == count
        assert dms.posts() >= count
        assert (
            _count(store_url, "SELECT count(*) FROM runtime_outbox WHERE state = 'sent'") == count
        )
        assert _count(store_url, "SELECT count(*) FROM ucs_interactions") == count
        assert _count(store_url, "SELECT count(*) FROM ucs_contacts") == 7  # post() has 7 authors
        assert _count(store_url, "SELECT coalesce(sum(load), 0) FROM runtime_agent_loads") == 0


def test_sigkill_at_several_points_loses_and_repeats_nothing(
    tmp_path: Path, store_url: str
) -> None:
    """300 interactions (and their replies) by default, to keep the suite fast (10,000 take
    several minutes on a 2-core machine: the slow test below)."""
    _run(tmp_path, store_url, int(os.environ.get("GSETUP_TEST_CRASH_COUNT", "300")))


@pytest.mark.slow
def test_sigkill_in_the_issues_10000_interaction_run(tmp_path: Path, store_url: str) -> None:
    """The issue's run: 10,000 interactions and their replies, the worker killed three
    times (``--run-slow``)."""
    _run(tmp_path, store_url, 10_000)
