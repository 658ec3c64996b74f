"""What routing is made of: the interaction queues and the strategies that serve them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gsetup.deployment.model import Queue, Strategy

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def queues(conn: Connection, tenant_id: int, package: str | None = None) -> list[Queue]:
    """The tenant's interaction queues (only ``package``'s if given), by name; one statement."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from gsetup.configdb.models import BusinessProcess, CfgObject, InteractionQueue

    bp = aliased(CfgObject)
    query = (
        select(
            CfgObject.name,
            CfgObject.path,
            InteractionQueue.description,
            bp.path,
            BusinessProcess.package,
        )
        .join(InteractionQueue, InteractionQueue.id == CfgObject.id)
        .outerjoin(bp, bp.id == InteractionQueue.business_process_id)
        .outerjoin(BusinessProcess, BusinessProcess.id == bp.id)
        .where(CfgObject.tenant_id == tenant_id)
        .order_by(CfgObject.name)
    )
    if package is not None:
        query = query.where(BusinessProcess.package == package)
    return [
        Queue(name, path, description, bp_path, package_name or None)
        for name, path, description, bp_path, package_name in conn.execute(query)
    ]


def strategies(conn: Connection, tenant_id: int, package: str | None = None) -> list[Strategy]:
    """The tenant's strategies (only ``package``'s if given), by name; one statement."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from gsetup.configdb.models import BusinessProcess, CfgObject
    from gsetup.configdb.models import Strategy as S

    bp, queue = aliased(CfgObject), aliased(CfgObject)
    query = (
        select(
            CfgObject.name,
            CfgObject.path,
            S.file,
            S.active,
            S.subroutine,
            queue.name,
            bp.path,
            BusinessProcess.package,
        )
        .join(S, S.id == CfgObject.id)
        .outerjoin(queue, queue.id == S.queue_id)
        .outerjoin(bp, bp.id == S.business_process_id)
        .outerjoin(BusinessProcess, BusinessProcess.id == bp.id)
        .where(CfgObject.tenant_id == tenant_id)
        .order_by(CfgObject.name)
    )
    if package is not None:
        query = query.where(BusinessProcess.package == package)
    return [
        Strategy(name, path, file, bool(active), bool(sub), q, bp_path, package_name or None)
        for name, path, file, active, sub, q, bp_path, package_name in conn.execute(query)
    ]
