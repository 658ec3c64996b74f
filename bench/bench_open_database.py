"""Benchmark of opening the configuration database, as every command does, against a bare
connection.

Run by hand: ``.venv/bin/python -m bench.bench_open_database [--repeat 200]``. On a migrated
embedded SQLite file and on a migrated PostgreSQL database (a throwaway server, see
:mod:`bench.pg_server`), it times :func:`gsetup.configdb.database.open_database` (engine,
schema check) against the floor of opening any database: a new engine, one connection and
``SELECT 1``. Both run in turns in this process, so a change of the machine's load hits both
alike; the figure is the ratio of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.pg_server import throwaway_postgresql


def bare_connection(url: str) -> None:
    """A new engine, one connection and ``SELECT 1``: what any open costs at least."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar()
    engine.dispose()


def open_configuration(url: str) -> None:
    """What each command does first."""
    from gsetup.configdb.database import open_database

    open_database(url).engine.dispose()


def medians(url: str, repeat: int) -> tuple[float, float]:
    """Median seconds of the baseline and of ``open_database`` on ``url``, run in turns."""
    runs: dict[str, list[float]] = {"baseline": [], "open": []}
    calls: dict[str, Callable[[str], None]] = {
        "baseline": bare_connection,
        "open": open_configuration,
    }
    for _ in range(repeat):
        for name, call in calls.items():
            started = time.perf_counter()
            call(url)
            runs[name].append(time.perf_counter() - started)
    return statistics.median(runs["baseline"]), statistics.median(runs["open"])


def main() -> None:
    """Print one line a backend: the baseline, open_database and their ratio."""
    from gsetup.commands.database import init_database

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, throwaway_postgresql() as server:
        sqlite = f"sqlite:///{Path(scratch) / 'config.db'}"
        init_database(sqlite, None, lambda: "")
        init_database(server, "bench", lambda: "bench-password")
        for name, url in (("SQLite", sqlite), ("PostgreSQL", server)):
            open_configuration(url)  # imports and first-use caches out of the figures
            base, opened = medians(url, args.repeat)
            print(
                f"{name}: baseline {base * 1000:.2f} ms, open_database {opened * 1000:.2f} ms "
                f"({opened / base:.2f}x)"
            )


if __name__ == "__main__":
    main()
