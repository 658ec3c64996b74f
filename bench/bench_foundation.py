"""Benchmarks of the foundation: CLI start-up, and plan/apply at scale.

Run by hand: ``.venv/bin/python -m bench.bench_foundation [--tenants 1000]``. Every figure is
a ratio against a baseline measured in the same run, so machines can be compared:

- ``gsetup --help`` and ``gsetup --version`` against a bare ``python -c pass`` (goal <= 4x);
- planning and applying a desired state of 500 objects and 5,000 options into an embedded
  database that already holds ``--tenants`` tenants with such objects, then re-planning it,
  against ``gsetup --version`` (goals <= 3x and <= 2x).

The populated database is built once with set-based SQL and kept in bench/results/.
"""

from __future__ import annotations

import argparse
import gc
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
APPS, OPTIONS_PER_APP, VALUES = 50, 100, 450  # 500 objects, 5,000 options per tenant


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def command_seconds(argv: list[str], repeat: int = 21) -> float:
    """The median wall time of a command, output discarded."""
    return median_seconds(
        lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True), repeat
    )


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` takes, started after a full garbage collection so that no run pays
    for the garbage of the runs before it (the collector stays on while a run is timed)."""
    gc.collect()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def cpu_model() -> str:
    """This machine's processor, for the figures' heading."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gsetup_argv() -> list[str]:
    """The installed console script beside this interpreter."""
    script = Path(sys.executable).with_name("gsetup")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gsetup"]


def populate(url: str, tenants: int) -> None:
    """Fill the database with ``tenants`` tenants of 500 objects and 5,000 options each."""
    from sqlalchemy import text

    from gsetup.configdb.database import open_database

    engine = open_database(url).engine
    series = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {})"
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run(
            series.format(tenants) + " INSERT INTO tenant (name, created_at) "
            "SELECT 'Tenant' || i, CURRENT_TIMESTAMP FROM n"
        )
        run(
            "INSERT INTO cfg_object (tenant_id, kind, path, name) SELECT id, 'tenant', '', name "
            "FROM tenant WHERE name LIKE 'Tenant%'"
        )
        run(
            "INSERT INTO tenant_settings (id) SELECT id FROM cfg_object WHERE kind = 'tenant' "
            "AND id NOT IN (SELECT id FROM tenant_settings)"
        )
        run(
            series.format(APPS) + " INSERT INTO cfg_object (tenant_id, kind, path, name) "
            "SELECT t.id, 'application', 'Applications/App' || i, 'App' || i FROM tenant t, n "
            "WHERE t.name LIKE 'Tenant%'"
        )
        run(
            "INSERT INTO application (id, app_type, host, working_dir, start_cmd, stop_cmd, "
            "redundancy_type) SELECT id, 'ChatServer', 'host', '', '', '', '' FROM cfg_object "
            "WHERE kind = 'application'"
        )
        run(
            "INSERT INTO cfg_object (tenant_id, kind, path, name) SELECT id, "
            "'business_attribute', 'Business Attributes/Bench', 'Bench' FROM tenant "
            "WHERE name LIKE 'Tenant%'"
        )
        run(
            "INSERT INTO business_attribute (id, display_name, description, attr_type) "
            "SELECT id, 'Bench', '', 'Custom' FROM cfg_object WHERE kind = 'business_attribute'"
        )
        run(
            series.format(VALUES - 1) + " INSERT INTO cfg_object (tenant_id, kind, path, name, "
            "parent_id) SELECT o.tenant_id, 'attribute_value', o.path || '/v' || i, 'v' || i, "
            "o.id FROM cfg_object o, n WHERE o.kind = 'business_attribute'"
        )
        run(
            "INSERT INTO attribute_value (id, display_name, description, is_default) "
            "SELECT id, name, '', 0 FROM cfg_object WHERE kind = 'attribute_value'"
        )
        run(
            series.format(OPTIONS_PER_APP) + " INSERT INTO cfg_option (object_id, section, key, "
            "value, secret) SELECT o.id, 'main', 'k' || i, 'value' || i, 0 FROM cfg_object o, n "
            "WHERE o.kind = 'application'"
        )
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))


def desired(tenant: str) -> object:
    """The benchmark's desired state: 500 objects and 5,000 options."""
    from gsetup.state import DesiredObject, DesiredState, options

    state = DesiredState(tenant, owner="bench")
    for i in range(1, APPS + 1):
        opts = {"main": {f"k{j}": f"value{j}" for j in range(1, OPTIONS_PER_APP + 1)}}
        state.add(
            DesiredObject(
                "application",
                f"Applications/App{i}",
                {"app_type": "ChatServer", "host": "host"},
                options(opts),
            )
        )
    state.add(
        DesiredObject("business_attribute", "Business Attributes/Bench", {"display_name": "Bench"})
    )
    for i in range(1, VALUES):
        state.add(
            DesiredObject(
                "attribute_value", f"Business Attributes/Bench/v{i}", {"display_name": f"v{i}"}
            )
        )
    return state


def main() -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rebuild", action="store_true", help="Rebuild the populated database.")
    args = parser.parse_args()

    from gsetup.configdb.database import open_database
    from gsetup.configdb.tenants import create_tenant
    from gsetup.plan.apply import Operation, apply_state, plan_state
    from gsetup.state import DesiredState

    bare = command_seconds([sys.executable, "-c", "pass"])
    version = command_seconds([*gsetup_argv(), "--version"])
    helps = command_seconds([*gsetup_argv(), "--help"])

    RESULTS.mkdir(exist_ok=True)
    seeded = RESULTS / f"populated-{args.tenants}.db"
    if args.rebuild or not seeded.exists():
        seeded.unlink(missing_ok=True)
        built = time.perf_counter()
        populate(f"sqlite:///{seeded}", args.tenants)
        print(f"built {seeded.name} in {time.perf_counter() - built:.1f} s")
    work = RESULTS / "work.db"
    shutil.copy(seeded, work)
    engine = open_database(f"sqlite:///{work}").engine
    with engine.begin() as conn:
        create_tenant(conn, "Bench")
    state = desired("Bench")
    assert isinstance(state, DesiredState)
    op = Operation("bench", "bench")

    start = time.perf_counter()
    first = apply_state(engine, state, op)
    apply_seconds = time.perf_counter() - start
    assert first.summary()["create"] == 500 + 5000
    replan = median_seconds(lambda: plan_state(engine, state), 5)
    assert not plan_state(engine, state).pending

    rows = [
        ("python -c pass (baseline)", bare, 1.0, ""),
        ("gsetup --version", version, version / bare, "<= 4x"),
        ("gsetup --help", helps, helps / bare, "<= 4x"),
        (
            "plan + apply 500 objects, 5,000 options",
            apply_seconds,
            apply_seconds / version,
            "<= 3x --version",
        ),
        ("re-plan the same state (no change)", replan, replan / version, "<= 2x --version"),
    ]
    print(f"{args.tenants} tenants of 500 objects and 5,000 options already in the database")
    for name, seconds, ratio, goal in rows:
        print(f"{name:<45} {seconds * 1000:8.1f} ms  {ratio:5.2f}x  {goal}")


if __name__ == "__main__":
    main()
