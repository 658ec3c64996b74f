"""``gsetup route simulate``: a traffic scenario run through a tenant's runtime on a virtual
clock (as ``route replay`` runs a traffic file), its report, and the files it may write: the
traffic it made and a report directory (report.json and charts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gsetup.commands.route_replay import tenant_deployment, virtual_runtime
from gsetup.context import Context
from gsetup.errors import BadInputError
from gsetup.fileio import lookup, not_a_directory, writable, write_atomic
from gsetup.runtime.replay import Progress

REPORT_FILE = "report.json"
LONG_RUN = 600.0  # seconds of work (estimated) past which a run is announced as long


def simulate_file(
    ctx: Context,
    tenant: str,
    path: Path,
    *,
    store: str | None,
    seed: int,
    report_dir: Path | None = None,
    save_traffic: Path | None = None,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the scenario ``path`` for ``seed``; the report. Everything is checked first (the
    scenario, where the files go): nothing runs or is written when something is wrong.
    ``warn`` is told, before it starts, when the run looks long."""
    from gsetup.runtime.scenario import read_scenario, workload
    from gsetup.runtime.sim_report import planner_report
    from gsetup.runtime.simulate import Simulation

    deployment = tenant_deployment(ctx, tenant)
    scenario = read_scenario(path, deployment)
    if report_dir is not None:
        _check_directory(report_dir)
    if save_traffic is not None:
        _check_file(save_traffic)
    load = workload(scenario, deployment)
    if warn is not None and load.seconds > LONG_RUN:
        warn(
            f"{path}: a long run: the agents can take about {load.served:,.0f} of the "
            f"{load.expected:,.0f} interactions expected, the others wait and are looked at "
            f"again every 5 virtual minutes: some {_spell(load.seconds)} of work (a shorter "
            "duration or more agents make it shorter; Ctrl-C stops it)"
        )
    with virtual_runtime(ctx, deployment, store, "simulation") as (runtime, clock):
        simulation = Simulation(runtime, clock, deployment, scenario, seed, progress)
        result = simulation.run()
    report = planner_report(scenario, seed, result)
    if save_traffic is not None:
        write_atomic(save_traffic, "".join(json.dumps(line) + "\n" for line in result.lines))
    if report_dir is not None:
        write_report(report_dir, report)
    return report


def _spell(seconds: float) -> str:
    """A time of work as a person reads it: 25 minutes, 3 hours, 12 days."""
    for unit, size in (("days", 86400), ("hours", 3600)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds / 60:,.0f} minutes"


def write_report(directory: Path, report: dict[str, Any]) -> None:
    """report.json and the charts (PNG) in ``directory``, made if missing."""
    from gsetup.commands.sim_charts import charts

    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / REPORT_FILE, json.dumps(report, indent=2) + "\n")
    for name, image in charts(report).items():
        write_atomic(directory / name, image)


def _check_directory(directory: Path) -> None:
    """``--report DIR``: a directory, or one that can be made, this user can write in."""
    blocking = not_a_directory(directory, "--report")
    if blocking is not None:
        raise BadInputError(f"--report {directory}: {blocking} is a file, not a directory")
    nearest = next(d for d in (directory, *directory.parents) if lookup(d, "--report"))
    if not writable(nearest):
        raise BadInputError(f"--report {directory}: {nearest} is not writable")


def _check_file(path: Path) -> None:
    """``--save-traffic FILE``: a file in an existing directory this user can write in."""
    if lookup(path, "--save-traffic") is not None and path.is_dir():
        raise BadInputError(f"--save-traffic {path} is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise BadInputError(f"--save-traffic {path}: the directory {parent} does not exist")
    if not writable(parent):
        raise BadInputError(f"--save-traffic {path}: {parent} is not writable")
