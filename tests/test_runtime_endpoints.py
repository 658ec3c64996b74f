"""Where a tenant's runtime listens: one live process per worker id, clients find a live
one, and a stopping process removes only its own record."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select, text, update

from gsetup.runtime.endpoints import endpoints, forget_endpoint, record_endpoint, running_url
from gsetup.runtime.errors import StoreError
from gsetup.runtime.schema import workers
from gsetup.runtime.sessions import create_session_table, sessions
from gsetup.runtime.store import _PREPARE_LOCK, open_store

LEASE = 30.0


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    store = open_store(store_url)
    yield store.engine
    store.dispose()


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process of this host, standing for another ``route run``."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait(timeout=30)


def _as(engine: Engine, worker_id: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(update(endpoints).where(endpoints.c.worker_id == worker_id).values(values))


def test_one_live_process_per_worker_id(
    engine: Engine, store_url: str, other_process: subprocess.Popen[bytes]
) -> None:
    record_endpoint(engine, "T", "w1", "http://127.0.0.1:1", lease=LEASE)
    _as(engine, "w1", pid=other_process.pid)  # another process serves as w1
    with pytest.raises(StoreError, match="worker id 'w1' already serves tenant 'T'"):
        record_endpoint(engine, "T", "w1", "http://127.0.0.1:2", lease=LEASE)
    forget_endpoint(engine, "T", "w1")  # this process's stop removes no record of another's
    assert running_url(store_url, "T", lease=LEASE) == "http://127.0.0.1:1"

    other_process.kill()
    other_process.wait(timeout=30)  # killed: its record no longer counts
    assert running_url(store_url, "T", lease=LEASE) is None
    record_endpoint(engine, "T", "w1", "http://127.0.0.1:2", lease=LEASE)
    assert running_url(store_url, "T", lease=LEASE) == "http://127.0.0.1:2"
    forget_endpoint(engine, "T", "w1")
    with engine.connect() as conn:
        assert conn.execute(select(endpoints)).all() == []


def test_workers_started_together_create_the_servers_tables_once(pg_url: str) -> None:
    """Each ``route run`` creates the sessions and endpoints tables it serves with: one that
    finds them missing while another worker creates them waits for it (the store's lock),
    rather than failing on the duplicate table."""
    store = open_store(pg_url)
    try:
        with ThreadPoolExecutor(2) as pool, store.engine.begin() as other:
            # the other worker, creating the tables under the store's lock
            other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PREPARE_LOCK})
            created = [
                pool.submit(create_session_table, store.engine),
                pool.submit(record_endpoint, store.engine, "T", "w1", "http://x", lease=LEASE),
            ]
            time.sleep(0.5)
            assert not any(future.done() for future in created)
            sessions.create(other)
            endpoints.create(other)
        for future in created:
            future.result(timeout=30)
        assert running_url(pg_url, "T", lease=LEASE) == "http://x"
    finally:
        store.dispose()


def test_clients_find_the_newest_live_runtime(
    engine: Engine, store_url: str, other_process: subprocess.Popen[bytes]
) -> None:
    record_endpoint(engine, "T", "alive", "http://127.0.0.1:1", lease=LEASE)
    _as(engine, "alive", pid=other_process.pid)
    record_endpoint(engine, "T", "killed", "http://127.0.0.1:2", lease=LEASE)
    dead = subprocess.Popen(["true"])
    dead.wait(timeout=30)
    _as(engine, "killed", pid=dead.pid, started_at=time.time() + 1)
    assert running_url(store_url, "T", lease=LEASE) == "http://127.0.0.1:1"

    # On another host a worker is alive while its heartbeat is younger than a lease.
    _as(engine, "killed", host=f"not-{socket.gethostname()}", pid=os.getpid())
    with engine.begin() as conn:
        row = {"tenant": "T", "started_at": 0.0, "processed": 0}
        conn.execute(workers.insert().values(worker_id="killed", heartbeat_at=time.time(), **row))
    assert running_url(store_url, "T", lease=LEASE) == "http://127.0.0.1:2"
    with engine.begin() as conn:
        conn.execute(update(workers).values(heartbeat_at=time.time() - LEASE - 1))
        # another tenant's worker of the same id is not this one
        other = {**row, "tenant": "U", "heartbeat_at": time.time()}
        conn.execute(workers.insert().values(worker_id="killed", **other))
    assert running_url(store_url, "T", lease=LEASE) == "http://127.0.0.1:1"
