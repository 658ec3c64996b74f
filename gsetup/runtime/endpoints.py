"""Where a tenant's runtime listens: ``gsetup route run`` records its URL in the store while
it serves, so clients (``gsetup agent ...``, ``gsetup route submit``, ``route token create``)
find it without being told."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, Float, Integer, MetaData, PrimaryKeyConstraint, String, Table

if TYPE_CHECKING:
    from sqlalchemy import Engine

_metadata = MetaData()
endpoints = Table(
    "runtime_endpoints",
    _metadata,
    Column("tenant", String(255), nullable=False),
    Column("worker_id", String(255), nullable=False),
    Column("url", String(1024), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    PrimaryKeyConstraint("tenant", "worker_id"),
)


def record_endpoint(engine: Engine, tenant: str, worker_id: str, url: str) -> None:
    """Record that worker ``worker_id`` serves ``tenant`` at ``url`` (replacing its last)."""
    _metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        conn.execute(
            endpoints.delete().where(
                endpoints.c.tenant == tenant, endpoints.c.worker_id == worker_id
            )
        )
        conn.execute(
            endpoints.insert().values(
                tenant=tenant,
                worker_id=worker_id,
                url=url,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=time.time(),
            )
        )


def forget_endpoint(engine: Engine, tenant: str, worker_id: str) -> None:
    """The worker stopped serving."""
    with engine.begin() as conn:
        conn.execute(
            endpoints.delete().where(
                endpoints.c.tenant == tenant, endpoints.c.worker_id == worker_id
            )
        )


def running_url(store_url: str, tenant: str) -> str | None:
    """The URL of the runtime that most recently started serving ``tenant`` on the store at
    ``store_url``; None when none is recorded (or the embedded store does not exist yet:
    looking must not create it)."""
    from sqlalchemy import create_engine, inspect, select
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    url = make_url(store_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(endpoints.name):
                return None
            found = conn.execute(
                select(endpoints.c.url)
                .where(endpoints.c.tenant == tenant)
                .order_by(endpoints.c.started_at.desc())
                .limit(1)
            ).scalar()
    finally:
        engine.dispose()
    return None if found is None else str(found)
