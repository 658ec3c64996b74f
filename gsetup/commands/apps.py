"""Applications: DMS, Chat Server, Interaction Server, Workspace Desktop and the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gsetup.commands.objects import show_app
from gsetup.configdb.tenants import check_name
from gsetup.context import Context
from gsetup.errors import BadInputError, ConflictError
from gsetup.fileio import quote_prefix
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.state import DesiredObject, DesiredState, Removal, object_path

APP_TYPES = (
    "DigitalMessagingServer",
    "ChatServer",
    "InteractionServer",
    "WorkspaceDesktop",
    "UniversalRoutingServer",
    "StatServer",
    "UniversalContactServer",
)
REDUNDANCY_TYPES = ("", "hot-standby", "warm-standby", "not-specified")


@dataclass(frozen=True)
class AppSpec:
    """What ``gsetup app create`` was given."""

    name: str
    app_type: str
    host: str = ""
    port: int | None = None
    working_dir: str = ""
    start_cmd: str = ""
    stop_cmd: str = ""
    backup: str | None = None
    redundancy_type: str = ""


def _attrs(spec: AppSpec) -> dict[str, Any]:
    if spec.app_type not in APP_TYPES:
        raise BadInputError(
            f"unknown application type {quote_prefix(spec.app_type)}; types: {', '.join(APP_TYPES)}"
        )
    if spec.redundancy_type not in REDUNDANCY_TYPES:
        allowed = ", ".join(t for t in REDUNDANCY_TYPES if t)
        raise BadInputError(
            f"unknown redundancy type {quote_prefix(spec.redundancy_type)}; types: {allowed}"
        )
    if spec.port is not None and not 1 <= spec.port <= 65535:
        raise BadInputError(f"port {spec.port} is out of range; use 1 to 65535")
    check_name(spec.name, "application")
    if spec.backup == spec.name:
        raise BadInputError(f"application {spec.name!r} cannot be its own backup")
    return {
        "app_type": spec.app_type,
        "host": spec.host,
        "port": spec.port,
        "working_dir": spec.working_dir,
        "start_cmd": spec.start_cmd,
        "stop_cmd": spec.stop_cmd,
        "backup": object_path("application", spec.backup) if spec.backup else None,
        "redundancy_type": spec.redundancy_type,
    }


def create_app(ctx: Context, tenant: str, spec: AppSpec, *, dry_run: bool) -> Plan:
    """Create an application; creating it again with the same settings changes nothing."""
    attrs = _attrs(spec)
    path = object_path("application", spec.name)
    state = DesiredState(tenant, [DesiredObject("application", path, attrs)])
    ctx.identity.require(tenant, change=not dry_run)
    from gsetup.plan.apply import plan_state

    plan = plan_state(ctx.db.engine, state)
    updates = [c for c in plan.changes if c.action == "update" and c.path == path]
    if updates:
        change = updates[0]
        diff = ", ".join(
            f"{k} is {change.before[k]!r}, given {v!r}" for k, v in change.after.items()
        )
        raise ConflictError(
            f"application {spec.name!r} already exists in tenant {tenant!r} with other settings "
            f"({diff}); delete it first or use the same settings"
        )
    return run_plan(ctx, state, "app create", dry_run=dry_run)


def update_app(
    ctx: Context, tenant: str, name: str, changes: dict[str, Any], *, dry_run: bool
) -> Plan:
    """Change some settings of an existing application (``changes``: AppSpec field names)."""
    current = show_app(ctx, tenant, name).attrs
    backup = current["backup"].rsplit("/", 1)[-1] if current["backup"] else None
    fields = {k: v for k, v in current.items() if k != "backup"}
    spec = AppSpec(name=name, **{**fields, "backup": backup, **changes})
    attrs = _attrs(spec)
    wanted = {k: attrs[k] for k in changes}
    path = object_path("application", name)
    state = DesiredState(tenant, [DesiredObject("application", path, wanted)])
    return run_plan(ctx, state, "app update", dry_run=dry_run)


def delete_app(ctx: Context, tenant: str, name: str, *, dry_run: bool) -> Plan:
    """Delete an application (applications naming it as backup lose their backup)."""
    show_app(ctx, tenant, name)  # a clear error when it does not exist
    state = DesiredState(
        tenant, removals=[Removal("application", object_path("application", name))]
    )
    return run_plan(ctx, state, "app delete", dry_run=dry_run)


def interaction_servers(ctx: Context, tenant: str) -> list[tuple[str, str, int]]:
    """The tenant's InteractionServer applications that have a host and port."""
    from gsetup import deployment

    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        found = deployment.applications(conn, tid, "InteractionServer")
    return [(a.name, a.host, a.port) for a in found if a.host and a.port is not None]
