"""Start, stop, restart and ask about an application with its configured process adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gsetup.context import Context
from gsetup.errors import NotFoundError
from gsetup.process.config import SECTION, ProcessConfig, process_config

if TYPE_CHECKING:
    from gsetup.process.control import Status


def process_of(ctx: Context, tenant: str, name: str) -> ProcessConfig:
    """How application ``name`` is started and stopped (checked)."""
    from dataclasses import asdict

    from gsetup import deployment

    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        app = deployment.application(conn, tid, name)
        if app is None:
            raise NotFoundError(f"no application {name!r} in tenant {tenant!r}")
        stored = deployment.options(conn, tid, app.path, sections=[SECTION])
    options = {key: option.value for (_section, key), option in stored.items()}
    # What the application runs may be gsetup itself (the DMS stand-in): same database.
    env = {"GSETUP_DB": ctx.db.url.render_as_string(hide_password=False)}
    return process_config(name, asdict(app), options, env)


def app_status(ctx: Context, tenant: str, name: str) -> Status:
    """Whether the application runs, and its health."""
    from gsetup.process.control import status

    return status(process_of(ctx, tenant, name))


def start_app(
    ctx: Context, tenant: str, name: str, *, wait: bool, timeout: float | None = None
) -> Status:
    """Start the application; with ``wait``, until it is healthy (or fail, exit 2)."""
    from gsetup.process.control import start

    ctx.identity.require(tenant, change=True)
    config = process_of(ctx, tenant, name)
    return start(config, wait=wait, timeout=timeout or config.timeout)


def stop_app(ctx: Context, tenant: str, name: str, *, timeout: float | None = None) -> Status:
    """Stop the application and wait until it is down."""
    from gsetup.process.control import stop

    ctx.identity.require(tenant, change=True)
    config = process_of(ctx, tenant, name)
    return stop(config, timeout=timeout or config.timeout)


def restart_app(
    ctx: Context, tenant: str, name: str, *, wait: bool, timeout: float | None = None
) -> Status:
    """Stop, then start the application."""
    stop_app(ctx, tenant, name, timeout=timeout)
    return start_app(ctx, tenant, name, wait=wait, timeout=timeout)
