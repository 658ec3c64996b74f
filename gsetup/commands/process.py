"""Start, stop, restart and ask about an application with its configured process adapter."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from gsetup.configdb.database import ENV_DB
from gsetup.context import Context
from gsetup.errors import NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.process.config import SECTION, ProcessConfig, process_config

if TYPE_CHECKING:
    from gsetup.process.control import Status

T = TypeVar("T")


def process_of(ctx: Context, tenant: str, name: str) -> ProcessConfig:
    """How application ``name`` is started and stopped (checked)."""
    from dataclasses import asdict

    from gsetup import deployment

    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        app = deployment.application(conn, tid, name)
        if app is None:
            raise NotFoundError(f"no application {quote_prefix(name)} in tenant {tenant!r}")
        stored = deployment.options(conn, tid, app.path, sections=[SECTION])
    options = {key: option.value for (_section, key), option in stored.items()}
    # For gsetup itself (the DMS stand-in) only: the same database, password and all.
    env = {ENV_DB: ctx.db.url.render_as_string(hide_password=False)}
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


def while_stopped(
    ctx: Context,
    tenant: str,
    app_type: str,
    work: Callable[[], T],
    notice: Callable[[str], None] | None = None,
) -> T:
    """Stop the tenant's applications of ``app_type``, run ``work``, start them again (also
    when ``work`` fails, so that they do not stay down), waiting until they are healthy.

    The guide's steps 1 and 3 around the Interaction Server database scripts.
    """
    from gsetup.commands.objects import list_objects
    from gsetup.errors import BadInputError

    names = [
        found.path.rsplit("/", 1)[-1]
        for _tenant, found in list_objects(ctx, [tenant], "application")
        if found.attrs["app_type"] == app_type
    ]
    if not names:
        raise BadInputError(f"no {app_type} application is registered in tenant {tenant!r}")
    for name in names:
        process_of(ctx, tenant, name)  # every one can be stopped and started, or none is
    say = notice or (lambda text: None)
    for name in names:
        stop_app(ctx, tenant, name)
        say(f"stopped {name}")
    try:
        return work()
    finally:
        for name in names:
            start_app(ctx, tenant, name, wait=True)
            say(f"started {name}")
