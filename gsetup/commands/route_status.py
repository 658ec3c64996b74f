"""``gsetup route status``: a tenant's queues, agents, throughput and workers, read from its
interaction store (no running runtime needed)."""

from __future__ import annotations

from typing import Any

from gsetup.context import Context
from gsetup.runtime.views import to_json


def runtime_status(ctx: Context, tenant: str, store: str | None) -> dict[str, Any]:
    """The tenant's runtime status as JSON-ready data."""
    from gsetup.runtime.api import open_runtime

    ctx.identity.require(tenant, change=False)
    config_url = ctx.db.url.render_as_string(hide_password=False)
    # Read only: a mistyped --store is an error, not a new, empty store
    runtime = open_runtime(tenant, config_url=config_url, store_url=store, create_store=False)
    try:
        status = runtime.status(tenant)
    finally:
        runtime.close()
    return to_json(status)  # type: ignore[no-any-return]
