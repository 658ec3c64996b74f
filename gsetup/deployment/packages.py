"""Installed packages: their Business Process rows, file records and last recorded install."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from gsetup.deployment.model import InstalledPackage

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

HOME_SECTION = "gsetup"  # BP annex: where the package's files were placed
HOME_KEY = "install-home"
FILES_SECTION = "gsetup-strategy-files"  # BP annex: file name -> SHA-256 of what was written


def installed_packages(
    conn: Connection, tenant_id: int, names: Collection[str] | None = None
) -> dict[str, InstalledPackage]:
    """The packages installed in the tenant (only ``names`` if given), by package name.

    Three statements whatever the tenant holds: the Business Processes, their two gsetup
    annex sections (never the rest of their options), and the last install of each package.
    """
    from sqlalchemy import select

    from gsetup.configdb.models import BusinessProcess as BP
    from gsetup.configdb.models import CfgObject

    query = (
        select(CfgObject.id, CfgObject.path, BP.package, BP.version, BP.strategy_dir)
        .join(BP, BP.id == CfgObject.id)
        .where(CfgObject.tenant_id == tenant_id, BP.package != "")
    )
    if names is not None:
        query = query.where(BP.package.in_(list(names)))
    rows = conn.execute(query).all()
    if not rows:
        return {}
    annex = _annex(conn, [row.id for row in rows])
    last = _last_installs(conn, tenant_id, [row.package for row in rows])
    found = {}
    for row in rows:
        sections = annex.get(row.id, {})
        answers, at = last.get(row.package, ({}, None))
        found[row.package] = InstalledPackage(
            name=row.package,
            version=row.version,
            path=row.path,
            strategy_dir=row.strategy_dir,
            home=sections.get(HOME_SECTION, {}).get(HOME_KEY),
            files=sections.get(FILES_SECTION, {}),
            answers=answers,
            installed_at=at,
        )
    return found


def recorded_answers(conn: Connection, tenant_id: int, package: str) -> dict[str, Any]:
    """The answers of the newest recorded install of ``package`` in the tenant, installed now
    or not (a re-install offers them as defaults); one statement."""
    answers, _at = _last_installs(conn, tenant_id, [package]).get(package, ({}, None))
    return answers


def _annex(conn: Connection, ids: list[int]) -> dict[int, dict[str, dict[str, str]]]:
    """The gsetup annex sections of the objects ``ids``: id -> section -> key -> value."""
    from sqlalchemy import select

    from gsetup.configdb.models import CfgOption

    query = select(CfgOption.object_id, CfgOption.section, CfgOption.key, CfgOption.value).where(
        CfgOption.object_id.in_(ids), CfgOption.section.in_((HOME_SECTION, FILES_SECTION))
    )
    found: dict[int, dict[str, dict[str, str]]] = {}
    for oid, section, key, value in conn.execute(query):
        found.setdefault(oid, {}).setdefault(section, {})[key] = value
    return found


def _last_installs(
    conn: Connection, tenant_id: int, packages: list[str]
) -> dict[str, tuple[dict[str, Any], Any]]:
    """The answers and date of the newest install of each package (one statement)."""
    from sqlalchemy import func, select

    from gsetup.configdb.models import InstallHistory as H

    newest = (
        select(func.max(H.id))
        .where(H.tenant_id == tenant_id, H.operation == "install", H.package.in_(packages))
        .group_by(H.package)
    )
    query = select(H.package, H.answers, H.at).where(H.id.in_(newest))
    return {package: (answers or {}, at) for package, answers, at in conn.execute(query)}


def tenants_with_package(conn: Connection, package: str) -> list[str]:
    """The names of the tenants where ``package`` is installed, sorted (one statement)."""
    from sqlalchemy import select

    from gsetup.configdb.models import BusinessProcess, CfgObject, Tenant

    query = (
        select(Tenant.name)
        .join(CfgObject, CfgObject.tenant_id == Tenant.id)
        .join(BusinessProcess, BusinessProcess.id == CfgObject.id)
        .where(BusinessProcess.package == package)
        .order_by(Tenant.name)
    )
    return [name for (name,) in conn.execute(query)]
