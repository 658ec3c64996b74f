"""Where a tenant's runtime listens: ``gsetup route run`` records its URL in the store while
it serves, so clients (``gsetup agent ...``, ``gsetup route submit``, ``route token create``)
find it without being told. A runtime on another store than the one beside the configuration
database records that store there (:func:`record_store`): ``agent remove`` checks them all."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Float, Integer, MetaData, PrimaryKeyConstraint, String, Table

from gsetup.plan.lock import holder_alive

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
# In the store beside the configuration database only: the other stores a tenant's runtimes
# used. Kept when they stop: the interactions agents hold stay in those stores.
_stores_metadata = MetaData()
used_stores = Table(
    "runtime_stores",
    _stores_metadata,
    Column("tenant", String(255), nullable=False),
    Column("store", String(1024), nullable=False),  # store_key: no password
    Column("last_used_at", Float, nullable=False),
    PrimaryKeyConstraint("tenant", "store"),
)


def record_endpoint(engine: Engine, tenant: str, worker_id: str, url: str, *, lease: float) -> None:
    """Record that worker ``worker_id`` serves ``tenant`` at ``url`` (replacing its last);
    refused while another process serves under the same worker id."""
    from gsetup.runtime.errors import StoreError
    from gsetup.runtime.store import create_tables

    create_tables(engine, _metadata)
    with engine.begin() as conn:
        key = (endpoints.c.tenant == tenant) & (endpoints.c.worker_id == worker_id)
        for row in conn.execute(_with_heartbeat().where(key)).all():
            if _alive(row, lease):
                raise StoreError(
                    f"worker id {worker_id!r} already serves tenant {tenant!r} at {row.url} "
                    f"(pid {row.pid} on {row.host}): give each worker its own --worker-id"
                )
        conn.execute(endpoints.delete().where(key))
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
    """This process stopped serving: its own record goes (not one another process made)."""
    with engine.begin() as conn:
        conn.execute(
            endpoints.delete().where(
                endpoints.c.tenant == tenant,
                endpoints.c.worker_id == worker_id,
                endpoints.c.host == socket.gethostname(),
                endpoints.c.pid == os.getpid(),
            )
        )


def _with_heartbeat() -> Any:
    """The endpoints with their worker's last heartbeat (None: none recorded yet)."""
    from sqlalchemy import select

    from gsetup.runtime.schema import workers

    return select(endpoints, workers.c.heartbeat_at).outerjoin(
        workers,
        (workers.c.tenant == endpoints.c.tenant) & (workers.c.worker_id == endpoints.c.worker_id),
    )


def _alive(row: Any, lease: float) -> bool:
    """A process on this host is alive while its pid is; one on another host while its
    heartbeat is younger than a lease (a killed worker's record stays until then)."""
    until = None if row.heartbeat_at is None else row.heartbeat_at + lease
    return holder_alive(row.host, row.pid, until)


def running_url(store_url: str, tenant: str, *, lease: float) -> str | None:
    """The URL of the live runtime that most recently started serving ``tenant`` on the store
    at ``store_url`` (see :func:`_alive`); None when none is recorded (or the embedded store
    does not exist yet: looking must not create it)."""
    from gsetup.runtime.store import peek

    with peek(store_url, endpoints.name) as conn:
        if conn is None:
            return None
        rows = conn.execute(
            _with_heartbeat()
            .where(endpoints.c.tenant == tenant)
            .order_by(endpoints.c.started_at.desc())
        ).all()
    return next((str(row.url) for row in rows if _alive(row, lease)), None)


def store_key(store_url: str) -> str:
    """How a store is recorded and compared: its URL without the password, in its user part
    or its query (a secret: never written; the server's own ways, such as ~/.pgpass, supply
    it), an SQLite path absolute."""
    from sqlalchemy.engine import make_url

    from gsetup.configdb.database import without_secrets

    url = make_url(store_url)
    if url.get_backend_name() == "sqlite" and url.database:
        url = url.set(database=str(Path(url.database).resolve()))
    return without_secrets(url).render_as_string(hide_password=False)


def record_store(default_url: str, tenant: str, store_url: str) -> None:
    """A runtime of ``tenant`` uses the store at ``store_url``: unless that is the default one
    (``default_url``, beside the configuration database), it is recorded in the default one.
    A runtime that cannot record it does not start: its agents' interactions would go
    unchecked when one is removed."""
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.configdb.database import first_line, short_url
    from gsetup.runtime.errors import StoreError
    from gsetup.runtime.store import create_tables, store_engine

    key = store_key(store_url)
    if key == store_key(default_url):
        return
    try:
        engine = store_engine(default_url, True)
        try:
            create_tables(engine, _stores_metadata)
            with engine.begin() as conn:
                mine = (used_stores.c.tenant == tenant) & (used_stores.c.store == key)
                conn.execute(used_stores.delete().where(mine))
                conn.execute(
                    used_stores.insert().values(tenant=tenant, store=key, last_used_at=time.time())
                )
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot record the store {short_url(store_url)} in {short_url(default_url)} "
            f"(where gsetup agent remove looks for the stores in use): {first_line(exc)}"
        ) from None


@dataclass(frozen=True)
class UsedStore:
    """A store other than the default one that a tenant's runtimes used."""

    tenant: str
    store: str  # its store_key; an older gsetup's may hold a query password (show it redacted)
    last_used_at: float


def used_stores_of(default_url: str, tenant: str | None) -> list[UsedStore]:
    """The stores recorded in the default one (``default_url``) for ``tenant`` (None: for
    every tenant), by tenant and name."""
    from sqlalchemy import select

    from gsetup.runtime.store import peek

    with peek(default_url, used_stores.name) as conn:
        if conn is None:
            return []
        query = select(used_stores)
        if tenant is not None:
            query = query.where(used_stores.c.tenant == tenant)
        rows = conn.execute(query.order_by(used_stores.c.tenant, used_stores.c.store))
        return [UsedStore(row.tenant, row.store, row.last_used_at) for row in rows]


def recorded_stores(default_url: str, tenant: str) -> list[str]:
    """The stores other than the default one that ``tenant``'s runtimes used (their
    :func:`store_key`), by name."""
    return [used.store for used in used_stores_of(default_url, tenant)]


def forget_store(default_url: str, tenant: str, stores: list[str]) -> None:
    """``agent remove`` stops checking ``stores`` (recorded ones, as recorded: one store may
    be recorded twice, with and without a password by an older gsetup) for ``tenant``: the
    user dropped it for good. All or none."""
    from gsetup.runtime.store import store_engine

    engine = store_engine(default_url, False)
    try:
        with engine.begin() as conn:
            conn.execute(
                used_stores.delete().where(
                    used_stores.c.tenant == tenant, used_stores.c.store.in_(stores)
                )
            )
    finally:
        engine.dispose()


def unreadable(store_url: str) -> str | None:
    """Why ``agent remove`` cannot check the store at ``store_url`` (a store a runtime
    used: its SQLite file must exist), or None when it can."""
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.configdb.database import first_line
    from gsetup.runtime.errors import StoreError
    from gsetup.runtime.schema import interactions
    from gsetup.runtime.store import peek

    try:
        with peek(store_url, interactions.name, must_exist=True):
            return None
    except (SQLAlchemyError, StoreError) as exc:
        return first_line(exc)
