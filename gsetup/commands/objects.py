"""Browse configuration objects: list them and show one."""

from __future__ import annotations

from gsetup import deployment
from gsetup.configdb.kinds import KINDS, get_kind
from gsetup.context import Context
from gsetup.deployment import ConfigObject
from gsetup.errors import NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.state import object_path


def list_objects(
    ctx: Context, tenants: list[str], kind: str | None = None
) -> list[tuple[str, ConfigObject]]:
    """(tenant, object) for the objects of ``tenants`` (optionally of one kind), without
    options, by tenant, then kind, then path."""
    if kind is not None:
        get_kind(kind)
    found = []
    for tenant in sorted(tenants):
        with deployment.open_tenant(ctx, tenant) as (conn, tid):
            found += [(tenant, obj) for obj in deployment.objects(conn, tid, kind)]
    return found


def show_object(ctx: Context, tenant: str, path: str, kind: str | None = None) -> ConfigObject:
    """One object by tenant-relative path, with its options or annex."""
    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        obj = deployment.configured_object(conn, tid, path)
    if obj is None or (kind is not None and obj.kind != kind):
        what = KINDS[kind].title.lower() if kind else "object"
        raise NotFoundError(f"no {what} {quote_prefix(path)} in tenant {quote_prefix(tenant)}")
    return obj


def show_app(ctx: Context, tenant: str, name: str) -> ConfigObject:
    """One application with its options."""
    return show_object(ctx, tenant, object_path("application", name), kind="application")


def split_full_path(full: str) -> tuple[str, str]:
    """``Environment/Applications/DMS_1`` -> (``Environment``, ``Applications/DMS_1``)."""
    tenant, _, path = full.strip("/").partition("/")
    return tenant, path
