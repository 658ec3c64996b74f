"""Installed packages: their Business Process rows, file records and last recorded install."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from gsetup.deployment.model import InstalledPackage

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.engine import Connection

HOME_SECTION = "gsetup"  # BP annex: where the package's files were placed
HOME_KEY = "install-home"
# The directories the installs made for the package's files (a JSON list, deepest first):
# an uninstall or a move removes them once empty, never a directory the user made.
MADE_KEY = "made-directories"
FILES_SECTION = "gsetup-strategy-files"  # BP annex: file name -> SHA-256 of what was written


def installed_packages(
    conn: Connection, tenant_id: int, names: Collection[str] | None = None
) -> dict[str, InstalledPackage]:
    """The packages installed in the tenant (only ``names`` if given), by package name.

    Three statements whatever the tenant holds: the Business Processes, their two gsetup
    annex sections (never the rest of their options), and the last install of each package.
    """
    from gsetup.configdb.tables import business_process, cfg_object

    where = [cfg_object.c.tenant_id == tenant_id]
    if names is not None:
        where.append(business_process.c.package.in_(list(names)))
    return {package.name: package for _tenant, package in _installed(conn, where)}


def installations(conn: Connection) -> list[tuple[str, InstalledPackage]]:
    """Every tenant's installed packages as (tenant, package), by tenant and package name;
    the same three statements whatever the number of tenants."""
    return _installed(conn, [])


def _installed(
    conn: Connection, where: list[ColumnElement[bool]]
) -> list[tuple[str, InstalledPackage]]:
    from sqlalchemy import select

    from gsetup.configdb.tables import business_process as BP
    from gsetup.configdb.tables import cfg_object, tenant

    query = (
        select(
            tenant.c.name.label("tenant"),
            cfg_object.c.tenant_id,
            cfg_object.c.id,
            cfg_object.c.path,
            BP.c.package,
            BP.c.version,
            BP.c.strategy_dir,
        )
        .join(BP, BP.c.id == cfg_object.c.id)
        .join(tenant, tenant.c.id == cfg_object.c.tenant_id)
        .where(BP.c.package != "", *where)
        .order_by(tenant.c.name, BP.c.package)
    )
    rows = conn.execute(query).all()
    if not rows:
        return []
    annex = _annex(conn, [row.id for row in rows])
    last = _last_installs(conn, {(row.tenant_id, row.package) for row in rows})
    found = []
    for row in rows:
        sections = annex.get(row.id, {})
        answers, at = last.get((row.tenant_id, row.package), ({}, None))
        package = InstalledPackage(
            name=row.package,
            version=row.version,
            path=row.path,
            strategy_dir=row.strategy_dir,
            home=sections.get(HOME_SECTION, {}).get(HOME_KEY),
            made=_made(sections.get(HOME_SECTION, {}).get(MADE_KEY)),
            files=sections.get(FILES_SECTION, {}),
            answers=answers,
            installed_at=at,
        )
        found.append((row.tenant, package))
    return found


def _made(value: str | None) -> tuple[str, ...]:
    """The recorded made directories; none when unset or not a list of paths (edited)."""
    try:
        made = json.loads(value) if value else []
    except ValueError:
        return ()
    return tuple(made) if isinstance(made, list) and all(isinstance(d, str) for d in made) else ()


def recorded_answers(conn: Connection, tenant_id: int, package: str) -> dict[str, Any]:
    """The answers of the newest recorded install of ``package`` in the tenant, installed now
    or not (a re-install offers them as defaults); one statement."""
    answers, _at = _last_installs(conn, {(tenant_id, package)}).get(
        (tenant_id, package), ({}, None)
    )
    return answers


def _annex(conn: Connection, ids: list[int]) -> dict[int, dict[str, dict[str, str]]]:
    """The gsetup annex sections of the objects ``ids``: id -> section -> key -> value."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_option

    query = select(
        cfg_option.c.object_id, cfg_option.c.section, cfg_option.c.key, cfg_option.c.value
    ).where(
        cfg_option.c.object_id.in_(ids), cfg_option.c.section.in_((HOME_SECTION, FILES_SECTION))
    )
    found: dict[int, dict[str, dict[str, str]]] = {}
    for oid, section, key, value in conn.execute(query):
        found.setdefault(oid, {}).setdefault(section, {})[key] = value
    return found


def _last_installs(
    conn: Connection, installs: set[tuple[int, str]]
) -> dict[tuple[int, str], tuple[dict[str, Any], Any]]:
    """The answers and date of the newest install of each (tenant id, package) (one
    statement)."""
    from sqlalchemy import func, select

    from gsetup.configdb.tables import install_history as H

    tenant_ids = {tid for tid, _package in installs}
    packages = {package for _tid, package in installs}
    newest = (
        select(func.max(H.c.id))
        .where(
            H.c.tenant_id.in_(sorted(tenant_ids)),
            H.c.operation == "install",
            H.c.package.in_(sorted(packages)),
        )
        .group_by(H.c.tenant_id, H.c.package)
    )
    query = select(H.c.tenant_id, H.c.package, H.c.answers, H.c.at).where(H.c.id.in_(newest))
    return {
        (tid, package): (answers or {}, at) for tid, package, answers, at in conn.execute(query)
    }


def tenants_with_package(conn: Connection, package: str) -> list[str]:
    """The names of the tenants where ``package`` is installed, sorted (one statement)."""
    from sqlalchemy import select

    from gsetup.configdb.tables import business_process, cfg_object, tenant

    query = (
        select(tenant.c.name)
        .join(cfg_object, cfg_object.c.tenant_id == tenant.c.id)
        .join(business_process, business_process.c.id == cfg_object.c.id)
        .where(business_process.c.package == package)
        .order_by(tenant.c.name)
    )
    return [name for (name,) in conn.execute(query)]
