"""``gsetup route check`` and ``gsetup route replay``: a tenant's runtime loaded and verified
without serving, and recorded traffic replayed through it on a virtual clock."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from gsetup.context import Context
from gsetup.runtime.replay import ReplayReport


def check_tenant(ctx: Context, tenant: str) -> dict[str, Any]:
    """Load the tenant's strategies and rule files as ``route run`` would; what was loaded.
    A broken file raises, naming the file, the place and its line."""
    from gsetup.runtime.classify.rules import load_rules, rules_directory
    from gsetup.runtime.config import read_deployment
    from gsetup.runtime.program import load_program

    ctx.identity.require(tenant, change=False)
    deployment = read_deployment(ctx.db.url.render_as_string(hide_password=False), tenant)
    program = load_program(deployment)
    processes = []
    for process in program.processes:
        rules = load_rules(rules_directory(process.bp.install_home))
        processes.append(
            {
                "name": process.bp.name,
                "package": process.bp.package,
                "strategies": len(process.strategies),
                "subroutines": len(process.subroutines),
                "rules": str(rules.directory),
                "rule_files": sorted(f.path.name for f in rules.files.values()),
            }
        )
    return {"tenant": tenant, "processes": processes}


def replay_file(ctx: Context, tenant: str, path: Path, store: str | None) -> ReplayReport:
    """Replay ``path`` through the tenant's runtime on a virtual clock. The file is checked
    first (nothing runs when a line is bad); the store is a throw-away SQLite file unless
    ``store`` names one."""
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.config import read_deployment
    from gsetup.runtime.replay import Replay
    from gsetup.runtime.traffic import read_traffic

    ctx.identity.require(tenant, change=False)
    deployment = read_deployment(ctx.db.url.render_as_string(hide_password=False), tenant)
    events = read_traffic(path, deployment)
    with tempfile.TemporaryDirectory(prefix="gsetup-replay-") as scratch:
        clock = VirtualClock()
        runtime = open_runtime(
            tenant,
            store_url=store or f"sqlite:///{Path(scratch) / 'replay.db'}",
            clock=clock,
            deployment=deployment,
        )
        try:
            return Replay(runtime, clock).run(events)
        finally:
            runtime.close()
