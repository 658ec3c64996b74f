"""The package catalogue and where each package is installed (``gsetup list``)."""

from __future__ import annotations

from typing import Any

from gsetup import deployment
from gsetup.context import Context
from gsetup.packages import catalogue


def list_packages(ctx: Context) -> list[dict[str, Any]]:
    """Every package of the catalogue and where it is installed in the tenants the user may
    see (tenant, version, date, install home); three statements whatever the tenants hold."""
    with ctx.db.engine.connect() as conn:
        found = deployment.installations(conn)
    installs: dict[str, list[dict[str, Any]]] = {}
    for tenant, package in found:
        if not ctx.identity.can_see(tenant):
            continue
        when = package.installed_at
        installs.setdefault(package.name, []).append(
            {
                "tenant": tenant,
                "version": package.version,
                "installed_at": when.isoformat(timespec="seconds") if when else None,
                "install_home": package.home,
                "strategy_dir": package.strategy_dir,
            }
        )
    return [
        {
            "name": p.name,
            "title": p.title,
            "version": p.version,
            "requires": list(p.requires),
            "installed": installs.get(p.name, []),
        }
        for p in catalogue()
    ]
