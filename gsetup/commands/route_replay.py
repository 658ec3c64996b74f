"""``gsetup route replay``: recorded traffic replayed through a tenant's runtime on a virtual
clock."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from gsetup.configdb.database import short_url
from gsetup.context import Context
from gsetup.errors import BadInputError
from gsetup.runtime.replay import Progress, ReplayReport

if TYPE_CHECKING:
    from gsetup.runtime.api import Runtime
    from gsetup.runtime.clock import VirtualClock
    from gsetup.runtime.config import Deployment
    from gsetup.runtime.store import Store


def replay_file(
    ctx: Context, tenant: str, path: Path, store: str | None, progress: Progress | None = None
) -> ReplayReport:
    """Replay ``path`` through the tenant's runtime on a virtual clock. The file is checked
    first (nothing runs when a line is bad); the store is a throw-away SQLite file unless
    ``store`` names one. ``progress`` is told how far the virtual clock has come."""
    from gsetup.runtime.replay import Replay
    from gsetup.runtime.traffic import read_traffic

    deployment = tenant_deployment(ctx, tenant)
    events = read_traffic(path, deployment)
    with virtual_runtime(ctx, deployment, store) as (runtime, clock):
        return Replay(runtime, clock, progress).run(events)


def tenant_deployment(ctx: Context, tenant: str) -> Deployment:
    """The tenant's deployment as ``route run`` reads it (refused: no Business Process)."""
    from gsetup.runtime.config import read_deployment

    ctx.identity.require(tenant, change=False)
    return read_deployment(ctx.db.url.render_as_string(hide_password=False), tenant)


@contextmanager
def virtual_runtime(
    ctx: Context, deployment: Deployment, store: str | None, run: str = "replay"
) -> Iterator[tuple[Runtime, VirtualClock]]:
    """The tenant's runtime on a virtual clock, over a throw-away SQLite store unless
    ``store`` names one (which must be empty for the ``run``: a replay, a simulation);
    closed after."""
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.clock import VirtualClock

    with tempfile.TemporaryDirectory(prefix="gsetup-replay-") as scratch:
        clock = VirtualClock()
        runtime = open_runtime(
            deployment.tenant,
            config_url=ctx.db.url.render_as_string(hide_password=False),  # its --store refused
            store_url=f"sqlite:///{Path(scratch) / 'replay.db'}" if store is None else store,
            clock=clock,
            deployment=deployment,
        )
        try:
            if store is not None:
                _require_empty(runtime.store, store, run)
            yield runtime, clock
        finally:
            runtime.close()


def _require_empty(store: Store, url: str, run: str) -> None:
    """A kept store must be empty: an earlier run's rows would take the file's external ids
    (a resubmission is a duplicate) and its agents' capacity, so the report would be wrong."""
    from sqlalchemy import func, select

    with store.read() as conn:
        found = conn.scalar(select(func.count()).select_from(store.table))
    if found:
        raise BadInputError(
            f"--store {short_url(url)}: the store holds {found} interactions; a {run} needs an "
            "empty one"
        )
