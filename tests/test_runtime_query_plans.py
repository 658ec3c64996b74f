"""No statement of the engine's path walks a tenant's interactions: each finds its rows
through an index on more than the tenant, so a turn costs the same on a store of a million
interactions as on a new one; and no update sets a column that did not change. Checked with
SQLite's EXPLAIN QUERY PLAN on the statements the Facebook BP's full path issued (the
benchmark's run, captured as the engine sent them)."""

from __future__ import annotations

import re
from pathlib import Path

from bench import bench_runtime
from gsetup.runtime.api import open_runtime

# A search of interactions by the tenant alone, or a full scan: cost grows with the store.
_WALKS = re.compile(r"^(SCAN interactions\b|SEARCH interactions USING .*\(tenant=\?\)$)")


def test_every_statement_finds_interactions_by_more_than_the_tenant(tmp_path: Path) -> None:
    (tmp_path / "strategies").mkdir()
    runtime = open_runtime(
        bench_runtime.TENANT,
        store_url=f"sqlite:///{tmp_path / 'engine.db'}",
        deployment=bench_runtime.deployment(tmp_path / "strategies"),
    )
    recorder = bench_runtime.Recorder()
    recorder.attach(runtime)
    try:
        bench_runtime.run_engine(runtime, 300)
        updates = [
            text
            for transaction in recorder.transactions
            for text, _params, _many in transaction
            if text.startswith("UPDATE interactions SET")
        ]
        statements = {
            (text, tuple(params) if not isinstance(params, dict) else tuple(params.items()))
            for transaction in recorder.transactions
            for text, params, many in transaction
            if not many and "interactions" in text
        }
        walks: dict[str, list[str]] = {}
        with runtime.store.engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            for text, params in statements:
                values = dict(params) if params and isinstance(params[0], tuple) else params
                plan = [row[3] for row in cursor.execute(f"EXPLAIN QUERY PLAN {text}", values)]
                bad = [line for line in plan if _WALKS.match(line)]
                if bad:
                    walks[" ".join(text.split())[:120]] = bad
    finally:
        runtime.close()
    assert len(statements) >= 8  # the path's reads and writes of interactions were seen
    assert walks == {}
    # A flush sets only what changed: the post id, fixed at intake, is never set again, so
    # its index is not rewritten on every step.
    assert updates and not [u for u in updates if "facebookPostId" in u.split(" WHERE ")[0]]
