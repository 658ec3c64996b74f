"""``gsetup route check``: the tenant's strategies loaded and verified, nothing served."""

from __future__ import annotations

from gsetup.context import Context
from gsetup.runtime.check import CheckReport, check_tenant


def check_route(ctx: Context, tenant: str) -> CheckReport:
    """Check ``tenant``'s strategies with the configuration database of ``ctx``."""
    ctx.identity.require(tenant, change=False)
    return check_tenant(ctx.db.url.render_as_string(hide_password=False), tenant)
