"""Wake-ups: a worker sleeping its poll wakes on work another process commits (PostgreSQL
LISTEN/NOTIFY), agents waiting on ``GET /agents/offers?wait=`` are answered when an offer is
made, the listening connection comes back after it is lost, a pooled connection that died
while idle is replaced before use, reads neither wait for writers nor hold them up, and the
worker's heartbeat is not written by every turn."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.httpclient import tls
from gsetup.runtime import http, store, wakeups
from gsetup.runtime.api import Runtime, open_runtime
from gsetup.runtime.clock import VirtualClock
from tests.helpers import free_port
from tests.runtime_support import DMS, TENANT, intake_config, worker_thread
from tests.test_runtime_blocks import body, deployment, start

DEADLINE = 30.0  # far below the polls the tests set (120 s): only a wake-up can meet it


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def pg_store(pg_url: str) -> str:
    return pg_url


def _admin(url: str) -> Any:
    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _until(condition: Any, what: str, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.02)
    return found


def _state(url: str, interaction: str) -> str | None:
    with _admin(url).connect() as conn:
        return conn.execute(
            text("SELECT state FROM interactions WHERE id = :i"), {"i": interaction}
        ).scalar()


def _listening_pids(url: str) -> set[int]:
    with _admin(url).connect() as conn:
        rows = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN gsetup_runtime'")
        )
        return {r[0] for r in rows}


def test_a_worker_wakes_on_work_another_process_commits(pg_store: str, clock: VirtualClock) -> None:
    """Two runtimes on one PostgreSQL store, as two ``route run`` processes: only the first
    runs a worker, with a 120 s poll. A submission and an agent's done committed through the
    second wake it at once."""
    serving = start(pg_store, clock, {"a1": (5, 1)})
    other = open_runtime(TENANT, store_url=pg_store, deployment=deployment({}), clock=clock)
    with worker_thread(serving, poll=120.0):
        assert serving._listener is not None
        assert serving._listener.listening.wait(DEADLINE)
        time.sleep(0.2)  # the worker found nothing: it sleeps its poll
        submitted = other.submit(TENANT, DMS, body(1)).interaction_id
        _until(lambda: _state(pg_store, submitted) == "offered", "offer")
        other.accept(TENANT, "a1", submitted)
        other.done(TENANT, "a1", submitted)
        _until(lambda: _state(pg_store, submitted) == "stopped", "stop")
    other.close()
    serving.close()


def test_the_listener_listens_again_after_losing_its_connection(
    pg_store: str, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    serving = start(pg_store, clock)
    other = open_runtime(TENANT, store_url=pg_store, deployment=deployment({}), clock=clock)
    serving.listen()
    try:
        first = _until(lambda: _listening_pids(pg_store), "listening connection")
        with _admin(pg_store).connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM unnest(:p) pid"), {"p": [*first]}
            )
        again = _until(lambda: _listening_pids(pg_store) - first, "new listening connection")
        assert again and not again & first
        serving.work.clear()
        other.submit(TENANT, DMS, body(1))
        assert serving.work.wait(DEADLINE), "the notification after the reconnection was lost"
        assert "event=listen-failed" in caplog.text
        # one line, no traceback (SQLAlchemy's "Exception during reset" of the lost one)
        assert not [r.getMessage() for r in caplog.records if r.exc_info]
    finally:
        other.close()
        serving.close()
    assert not _listening_pids(pg_store)  # close() stops listening


def test_the_listener_backs_off_while_the_server_stays_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store down for long logs a line per attempt: the attempts come further apart
    (0.5 s, 1 s, 2 s, ... up to 8 s), not every half second for as long as it is down."""
    down = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    listener = wakeups.Listener(
        store.Store(engine=down, dbms="postgresql"), "me", TENANT, lambda *_: None
    )
    caplog.set_level("WARNING", logger="gsetup.runtime.wakeups")

    def pauses() -> list[str]:
        lines = [r.getMessage() for r in caplog.records]
        return [line.rsplit("retry_in=", 1)[1] for line in lines if "listen-failed" in line]

    listener.start()
    try:
        _until(lambda: len(pauses()) >= 3, "third attempt", timeout=10)
    finally:
        listener.stop()
        down.dispose()
    assert pauses()[:4] == ["0.5", "1.0", "2.0", "4.0"][: len(pauses())]
    assert wakeups.MAX_RECONNECT_PAUSE == 8.0  # docs/runtime.md says so


def test_a_pooled_connection_that_died_idle_is_replaced_before_use(
    pg_store: str, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ping per checkout (a round trip per transaction), but one after an idle second:
    the server restarted or dropped the connection meanwhile, and the next call works."""
    runtime = start(pg_store, clock)
    runtime.submit(TENANT, DMS, body(1))
    monkeypatch.setattr(store, "PING_AFTER_IDLE", 0.0)
    with _admin(pg_store).connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    assert killed
    assert runtime.submit(TENANT, DMS, body(2)).duplicate is False
    runtime.close()


def test_reads_neither_wait_for_a_writer_nor_hold_one_up(
    store_url: str, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A desk's poll, a session check and ``route status`` read while a turn holds the
    write transaction (SQLite: its write lock), and a turn begins while a read is open."""
    from gsetup.runtime.sessions import create_session_table, find_session, open_session

    monkeypatch.setenv(store.STORE_TIMEOUT_ENV, "1")  # a wait fails fast, not in 30 s
    runtime = start(store_url, clock, {"a1": (5, 1)})
    create_session_table(runtime.store.engine)
    token, _session = open_session(runtime.store.engine, TENANT, "a1", "0" * 64)
    runtime.submit(TENANT, DMS, body(1))
    runtime.run_turn()
    with runtime.store.begin() as writing:
        writing.execute(text("UPDATE runtime_agents SET updated_at = 1"))
        assert [o.state for o in runtime.offers(TENANT, "a1")] == ["offered"]
        assert runtime.status(TENANT).states == {"offered": 1}
        found = find_session(runtime.store.engine, token)
        assert found is not None and found.agent == "a1"
    with runtime.store.read() as reading:
        assert reading.execute(text("SELECT count(*) FROM interactions")).scalar() == 1
        with runtime.store.begin() as writing:
            writing.execute(text("UPDATE runtime_agents SET updated_at = 2"))
        if runtime.store.postgresql:  # no transaction around a read: no BEGIN, no ROLLBACK
            from psycopg.pq import TransactionStatus

            dbapi: Any = reading.connection.dbapi_connection
            assert dbapi.info.transaction_status == TransactionStatus.IDLE
    if not runtime.store.postgresql:  # a second writer waits, then fails as SQLAlchemy raises
        from sqlalchemy.exc import OperationalError

        locked = pytest.raises(OperationalError, match="database is locked")
        with runtime.store.begin(), locked, runtime.store.begin():
            pass
    runtime.close()


# --- GET /agents/offers?wait= ----------------------------------------------------------------


@pytest.fixture
def desk(
    store_url: str, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Any]:
    """The HTTP API of a runtime (with agent a1 logged in, ready) served by uvicorn on
    127.0.0.1, whose waiting requests read the offers again only every 120 s: an answer
    sooner comes from a wake-up. Yields (runtime, base URL, a1's session token, stop):
    ``stop(timeout)`` shuts the server down and says whether it stopped within ``timeout``."""
    from gsetup.commands.serve import Listen, bind
    from gsetup.runtime.credentials import check_agent_login
    from gsetup.runtime.sessions import create_session_table, open_session

    monkeypatch.setattr(http, "OFFER_RECHECK", 120.0)
    runtime = start(store_url, clock, {"a1": (5, 1)})
    runtime.listen()
    create_session_table(runtime.store.engine)
    config = intake_config(tmp_path, {"a1": "a1-password"})  # each request checks a1's login
    credential = check_agent_login(config, TENANT, "a1", "a1-password")
    assert credential is not None
    token, _session = open_session(runtime.store.engine, TENANT, "a1", credential)
    api = http.Api(runtime, config)
    sock = bind(Listen("127.0.0.1", 0))
    server = http.Server(api)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    _until(lambda: server.started, "server start")

    def stop(timeout: float) -> bool:
        server.should_exit = True  # what uvicorn's (and route run's) SIGTERM handler does
        thread.join(timeout=timeout)
        return not thread.is_alive()

    try:
        yield runtime, f"http://127.0.0.1:{sock.getsockname()[1]}", token, stop
    finally:
        stop(60)
        sock.close()
        config.dispose()
        runtime.close()


def _offers(url: str, token: str, wait: str) -> httpx.Response:
    return httpx.get(
        f"{url}/agents/offers",
        params={"wait": wait},
        headers={"Authorization": f"Bearer {token}"},
        timeout=200,
        verify=tls(),
    )


def test_a_waiting_agent_is_answered_when_an_offer_is_made(
    desk: Any, store_url: str, clock: VirtualClock
) -> None:
    """On SQLite the offer is made by the serving runtime's own turn; on PostgreSQL by
    another runtime on the store, and the serving one hears of it by notification."""
    runtime, url, token, _stop = desk
    maker = runtime
    if store_url.startswith("postgresql"):
        maker = open_runtime(TENANT, store_url=store_url, deployment=deployment({}), clock=clock)
    answers: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(_offers(url, token, "60")))
    started = time.monotonic()
    waiting.start()
    time.sleep(0.3)  # the request reads no offer and waits
    assert not answers
    submitted = maker.submit(TENANT, DMS, body(1)).interaction_id
    maker.run_until_idle()
    waiting.join(timeout=DEADLINE)
    assert not waiting.is_alive(), "the waiting request was not answered"
    assert time.monotonic() - started < DEADLINE
    assert answers[0].status_code == 200
    offers = answers[0].json()["offers"]
    assert [(o["interaction_id"], o["state"]) for o in offers] == [(submitted, "offered")]
    if maker is not runtime:
        maker.close()


def test_offers_wait_is_bounded_and_checked(desk: Any) -> None:
    _runtime, url, token, _stop = desk
    started = time.monotonic()
    nothing = _offers(url, token, "0.5")
    assert nothing.status_code == 200 and nothing.json() == {"offers": []}
    assert time.monotonic() - started >= 0.5
    # Only plain ASCII decimals: int() and float() would take 1_0 (10), spaces, other
    # scripts' digits, exponents and nan.
    bad_waits = ("soon", "-1", "61", "nan", "1_0", " 1", "1 ", "\u0665", "1e1", "inf", "0x1", "")
    for bad in (*bad_waits, "+5", "-0"):  # a sign was taken
        refused = _offers(url, token, bad)
        assert refused.status_code == 400, bad
        assert refused.json()["error"] == (
            f"wait is a plain decimal number of seconds from 0 to 60 (e.g. 30 or 2.5), not {bad!r}"
        )


def test_a_waiting_agent_is_answered_when_the_server_shuts_down(desk: Any) -> None:
    """uvicorn finishes open requests before it stops: a request waiting 30 s for offers is
    answered as the shutdown begins, with the offers as they are, and the server stops
    within seconds."""
    _runtime, url, token, stop = desk
    answers: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(_offers(url, token, "30")))
    waiting.start()
    time.sleep(0.3)  # the request reads no offer and waits
    assert not answers
    started = time.monotonic()
    assert stop(5.0), "the server still waits for the long poll"
    waiting.join(timeout=5.0)
    assert time.monotonic() - started < 5.0
    assert answers[0].status_code == 200 and answers[0].json() == {"offers": []}


# --- the worker's heartbeat --------------------------------------------------------------------


def test_the_heartbeat_is_written_when_due_or_when_the_worker_goes_idle(
    store_url: str, clock: VirtualClock
) -> None:
    def recorded(runtime: Runtime) -> list[int]:
        with _admin(store_url).connect() as conn:
            rows = conn.execute(text("SELECT processed FROM runtime_workers"))
            return [r[0] for r in rows]

    runtime = start(store_url, clock)
    for n in range(2):
        runtime.submit(TENANT, DMS, body(n))
    assert runtime.run_turn() == 2
    assert recorded(runtime) == [2]  # the first turn: due
    runtime.submit(TENANT, DMS, body(3))
    assert runtime.run_turn() == 1
    assert recorded(runtime) == [2]  # busy, and not due: not written
    assert runtime.run_turn() == 0
    assert recorded(runtime) == [3]  # idle: what was left is written
    runtime.submit(TENANT, DMS, body(4))
    clock.advance(runtime.engine.ctx.settings.heartbeat)
    assert runtime.run_turn() == 1
    assert recorded(runtime) == [4]  # due again
    runtime.close()
    clock.advance(100.0)
    restarted = start(store_url, clock)  # the same worker id (host:pid), started again
    assert restarted.run_turn() == 0
    with _admin(store_url).connect() as conn:
        row = conn.execute(text("SELECT started_at, processed FROM runtime_workers")).one()
    assert tuple(row) == (clock.now(), 4)  # started now; what it processed before is kept
    restarted.close()
