"""What routing is made of: the interaction queues and the strategies that serve them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gsetup.deployment.model import Queue, Strategy

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.engine import Connection


def queues(conn: Connection, tenant_id: int, package: str | None = None) -> list[Queue]:
    """The tenant's interaction queues (only ``package``'s if given), by name; one statement."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_object, interaction_queue

    query = select(cfg_object.c.name, cfg_object.c.path, interaction_queue.c.description).join(
        interaction_queue, interaction_queue.c.id == cfg_object.c.id
    )
    query = _with_process(query, interaction_queue.c.business_process_id, tenant_id, package)
    return [
        Queue(name, path, description, bp_path, package_name or None)
        for name, path, description, bp_path, package_name in conn.execute(query)
    ]


def strategies(conn: Connection, tenant_id: int, package: str | None = None) -> list[Strategy]:
    """The tenant's strategies (only ``package``'s if given), by name; one statement."""
    from sqlalchemy import select

    from gsetup.configdb.tables import cfg_object
    from gsetup.configdb.tables import strategy as S

    queue = cfg_object.alias()
    query = (
        select(
            cfg_object.c.name, cfg_object.c.path, S.c.file, S.c.active, S.c.subroutine, queue.c.name
        )
        .join(S, S.c.id == cfg_object.c.id)
        .outerjoin(queue, queue.c.id == S.c.queue_id)
    )
    query = _with_process(query, S.c.business_process_id, tenant_id, package)
    return [
        Strategy(name, path, file, bool(active), bool(sub), q, bp_path, package_name or None)
        for name, path, file, active, sub, q, bp_path, package_name in conn.execute(query)
    ]


def _with_process(query: Select[Any], process_id: Any, tenant_id: int, package: str | None) -> Any:
    """``query`` (objects of one kind) with the path and package of the Business Process
    ``process_id`` refers to as its last two columns: the tenant's objects, by name, only
    ``package``'s if given."""
    from gsetup.configdb.tables import business_process, cfg_object

    bp = cfg_object.alias()
    query = (
        query.add_columns(bp.c.path, business_process.c.package)
        .outerjoin(bp, bp.c.id == process_id)
        .outerjoin(business_process, business_process.c.id == bp.c.id)
        .where(cfg_object.c.tenant_id == tenant_id)
        .order_by(cfg_object.c.name)
    )
    if package is not None:
        query = query.where(business_process.c.package == package)
    return query
