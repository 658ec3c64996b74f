"""No statement of the engine's path walks a tenant's interactions: each finds its rows
through an index on more than the tenant, so a turn costs the same on a store of a million
interactions as on a new one; and no update sets a column that did not change. Checked on the
statements the Facebook BP's full path issued (the benchmark's run, captured as the engine
sent them): with SQLite's EXPLAIN QUERY PLAN, and with PostgreSQL's generic plans (those its
prepared statements settle on), on a new store whose statistics the engine itself gathered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import bench_runtime
from gsetup.runtime.api import Runtime, open_runtime
from gsetup.runtime.engine import SAMPLE_AT
from tests.plan_support import pg_prepare, pg_walks, sqlite_walks

_TABLES = ("interactions", "ucs_interactions", "runtime_offers", "ucs_contacts")


@pytest.fixture
def path_run(tmp_path: Path) -> Iterator[Any]:
    """Run the benchmark's path for ``count`` interactions on a store; returns the runtime
    and the statements (text, parameters) of interactions and UCS history it issued."""
    opened: list[tuple[Runtime, bench_runtime.Recorder]] = []

    def run(store_url: str, count: int) -> tuple[Runtime, list[tuple[str, Any, bool]]]:
        runtime, recorder = _recording(tmp_path, store_url)
        opened.append((runtime, recorder))
        bench_runtime.run_engine(runtime, count)
        return runtime, [s for t in recorder.transactions for s in t]

    yield run
    for runtime, recorder in opened:
        recorder.detach()
        runtime.close()


def _recording(tmp_path: Path, store_url: str) -> tuple[Runtime, bench_runtime.Recorder]:
    """A runtime of the benchmark's deployment on ``store_url``, its statements recorded."""
    (tmp_path / "strategies").mkdir(exist_ok=True)
    runtime = open_runtime(
        bench_runtime.TENANT,
        store_url=store_url,
        deployment=bench_runtime.deployment(tmp_path / "strategies"),
    )
    recorder = bench_runtime.Recorder()
    recorder.attach(runtime)
    return runtime, recorder


def _distinct(statements: list[tuple[str, Any, bool]]) -> dict[str, Any]:
    """One set of parameters per statement text that reads or writes the tables above."""
    return {
        text: params[0] if many else params
        for text, params, many in statements
        if text.startswith(("SELECT", "UPDATE", "INSERT", "DELETE"))
        and any(f" {table}" in text for table in _TABLES)
    }


def test_every_statement_finds_interactions_by_more_than_the_tenant(
    tmp_path: Path, path_run: Any
) -> None:
    runtime, statements = path_run(f"sqlite:///{tmp_path / 'engine.db'}", 300)
    with runtime.store.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        walks = sqlite_walks(cursor, _distinct(statements))
    assert len(_distinct(statements)) >= 8  # the path's reads and writes were seen
    assert walks == {}
    updates = [text for text, _, _ in statements if text.startswith("UPDATE interactions SET")]
    # A flush sets only what changed: the post id, fixed at intake, is never set again, so
    # its index is not rewritten on every step.
    assert updates and not [u for u in updates if "facebookPostId" in u.split(" WHERE ")[0]]


def test_postgresql_generic_plans_do_not_walk_the_tenant(pg_url: str, path_run: Any) -> None:
    """A new store has no planner statistics until autovacuum's first pass (a minute, by
    default). A worker's connection prepares its statements in its first turns, on nearly
    empty tables, and PostgreSQL's generic plans then took any index starting with the
    tenant, the only value, walking every interaction, and kept them. The engine analyzes
    the store after a few hundred interactions and again as it grows (engine.SAMPLE_AT,
    Store.ensure_statistics), which makes PostgreSQL plan again: prepared on a new store,
    the plans of the statements on the interactions, the UCS history, the offers and the
    contacts are checked after the second time (the test below checks that the engine's
    own connections stop reading the offers and contacts whole)."""
    runtime, statements = path_run(pg_url, 20)
    prepared = _distinct(statements)
    assert len(prepared) >= 8  # the path's reads and writes were seen
    with runtime.store.engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        # Each EXPLAIN in a transaction of its own: a transaction that holds its locks on the
        # tables already does not see the invalidation that ANALYZE sends.
        dbapi.autocommit = True
        cursor = dbapi.cursor()
        # what the store's connections run with (no planning per call): checked, not set
        assert cursor.execute("SHOW plan_cache_mode").fetchone() == ("force_generic_plan",)
        explain = pg_prepare(cursor, prepared)
        assert pg_walks(cursor, explain)  # planned on a new store: PostgreSQL walks the tenant
        bench_runtime.run_engine(runtime, SAMPLE_AT[1], first=20)
        assert pg_walks(cursor, explain) == {}


def test_statistics_are_gathered_for_every_table_that_has_none(pg_url: str) -> None:
    """Autovacuum analyzes a busy table (the interactions) before quieter ones: the engine's
    check looks at each table, so the UCS history is analyzed even when the interactions
    table already has statistics (its generic plan once walked the tenant for lack of
    them)."""
    import time

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from gsetup.runtime.schema import metadata
    from gsetup.runtime.store import open_store

    store = open_store(pg_url)
    admin = create_engine(pg_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    query = text(
        "SELECT relname FROM pg_stat_user_tables "
        "WHERE coalesce(last_analyze, last_autoanalyze) IS NOT NULL"
    )

    def analyzed() -> set[str]:
        with admin.connect() as conn:
            return set(conn.execute(query).scalars())

    def until(expected: set[str]) -> None:
        deadline = time.monotonic() + 30  # the statistics views are updated asynchronously
        while not expected <= analyzed():
            assert time.monotonic() < deadline, f"not analyzed: {expected - analyzed()}"
            time.sleep(0.05)

    with admin.connect() as conn:
        conn.execute(text("ANALYZE interactions"))  # as autovacuum would, first
    until({"interactions"})
    assert "ucs_interactions" not in analyzed()
    store.ensure_statistics()
    until({t.name for t in metadata.sorted_tables})
    store.dispose()
    admin.dispose()


def test_the_benchmarks_baselines_replay_what_the_engine_did(tmp_path: Path) -> None:
    """The baselines the benchmark's ratio divides by run exactly the engine's statements
    with its commits (reads' transactions included): on a new store, each replay leaves the
    interactions as the engine left its own."""
    from sqlalchemy import create_engine, text

    runtime, recorder = _recording(tmp_path, f"sqlite:///{tmp_path / 'engine.db'}")
    bench_runtime.run_engine(runtime, 60)
    recorder.detach()
    runtime.close()
    bench_runtime.replay(f"sqlite:///{tmp_path / 'replay.db'}", recorder.transactions)
    bench_runtime.replay_sqlite3(tmp_path / "sqlite3.db", recorder.transactions)
    query = text("SELECT id, state, queue, stop_reason, attached_data FROM interactions ORDER BY 1")
    found = []
    for name in ("engine.db", "replay.db", "sqlite3.db"):
        engine = create_engine(f"sqlite:///{tmp_path / name}")
        with engine.connect() as conn:
            found.append(list(conn.execute(query)))
        engine.dispose()
    assert len(found[0]) == 60 and {row.state for row in found[0]} == {"stopped"}
    assert found[1] == found[0] and found[2] == found[0]


def test_offers_and_contacts_are_not_read_whole_once_the_store_grew(pg_url: str) -> None:
    """The engine's own connections, prepared on a new store and analyzed at its first
    check, planned to read the offers and the contacts whole while they were a few pages
    long; the engine analyzes them again as they grow, so its plans find them by index."""
    import tempfile
    import time

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    admin = create_engine(pg_url, poolclass=NullPool)
    query = text(
        "SELECT sum(seq_scan) FROM pg_stat_user_tables "
        "WHERE relname IN ('runtime_offers', 'ucs_contacts')"
    )

    def settled() -> int:
        """The count once the workers' idle connections have reported theirs (within 1 s)."""
        last, deadline = None, time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(1.2)
            with admin.connect() as conn:
                now = conn.execute(query).scalar()
            if now == last:
                return int(now or 0)
            last = now
        raise AssertionError("the statistics views did not settle")

    with tempfile.TemporaryDirectory() as tmp:
        runtime, recorder = _recording(Path(tmp), pg_url)
        recorder.detach()
        bench_runtime.run_engine(runtime, SAMPLE_AT[1] + 20)  # past the second check
        before = settled()
        bench_runtime.run_engine(runtime, 200, first=SAMPLE_AT[1] + 20)
        assert settled() == before
        runtime.close()
    admin.dispose()
