"""A separate process that applies a generated desired state (crash and concurrency tests).

Usage: python -m tests.worker URL PREFIX N_APPS N_OPTIONS [SHARED]
"""

from __future__ import annotations

import sys

from gsetup.configdb.database import open_database
from gsetup.plan.apply import Operation, apply_state
from gsetup.state import DesiredObject, DesiredState, options


def build(prefix: str, n_apps: int, n_options: int, shared: bool) -> DesiredState:
    """``n_apps`` applications named PREFIX-i with ``n_options`` options each."""
    state = DesiredState("Environment")
    names = [f"{prefix}-{i}" for i in range(n_apps)] + (["shared"] if shared else [])
    for name in names:
        opts = {"main": {f"k{j}": f"{prefix}{j}" for j in range(n_options)}}
        if name == "shared":
            opts = {prefix: {"k": "v"}}
        state.add(
            DesiredObject(
                "application", f"Applications/{name}", {"app_type": "ChatServer"}, options(opts)
            )
        )
    return state


def main() -> None:
    url, prefix, n_apps, n_options = sys.argv[1:5]
    shared = len(sys.argv) > 5
    db = open_database(url)
    plan = apply_state(
        db.engine,
        build(prefix, int(n_apps), int(n_options), shared),
        Operation("worker", prefix),
        progress=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(plan.summary_line(), flush=True)


if __name__ == "__main__":
    main()
