"""Browse configuration objects: list them and show one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gsetup.configdb.kinds import KINDS, get_kind
from gsetup.configdb.tenants import tenant_id
from gsetup.context import Context
from gsetup.errors import NotFoundError
from gsetup.plan.model import MASK


@dataclass
class ObjectView:
    """An object as users see it: attributes, options (secrets masked) and managing packages."""

    tenant: str
    kind: str
    path: str
    attrs: dict[str, Any]
    options: dict[str, dict[str, str]] = field(default_factory=dict)
    managed_by: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "tenant": self.tenant,
            "kind": self.kind,
            "path": f"{self.tenant}/{self.path}" if self.path else self.tenant,
            "attrs": self.attrs,
            "options": self.options,
            "managed_by": self.managed_by,
        }


def _load(ctx: Context, tenant: str, scope: set[str] | None = None) -> dict[str, ObjectView]:
    """Every object of ``tenant`` (only those at ``scope`` and their children, if given) as
    the plan engine reads them: browsing shows any kind, with every attribute."""
    from gsetup.plan.current import load_current

    ctx.identity.require(tenant, change=False)
    with ctx.db.engine.connect() as conn:
        current = load_current(conn, tenant_id(conn, tenant), scope)
    views = {}
    for obj in current.objects.values():
        opts: dict[str, dict[str, str]] = {}
        for (section, key), option in sorted(obj.options.items()):
            opts.setdefault(section, {})[key] = MASK if option.secret else option.value
        views[obj.path] = ObjectView(
            tenant, obj.kind, obj.path, obj.attrs, opts, sorted(obj.managers)
        )
    return views


def list_objects(ctx: Context, tenants: list[str], kind: str | None = None) -> list[ObjectView]:
    """The objects of ``tenants`` (optionally of one kind), sorted by tenant and path."""
    if kind is not None:
        get_kind(kind)
    found = []
    for tenant in tenants:
        for view in _load(ctx, tenant).values():
            if kind is None or view.kind == kind:
                found.append(view)
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(found, key=lambda v: (v.tenant, order[v.kind], v.path))


def show_object(ctx: Context, tenant: str, path: str, kind: str | None = None) -> ObjectView:
    """One object by tenant-relative path."""
    view = _load(ctx, tenant, {path}).get(path)
    if view is None or (kind is not None and view.kind != kind):
        what = KINDS[kind].title.lower() if kind else "object"
        raise NotFoundError(f"no {what} {path!r} in tenant {tenant!r}")
    return view


def split_full_path(full: str) -> tuple[str, str]:
    """``Environment/Applications/DMS_1`` -> (``Environment``, ``Applications/DMS_1``)."""
    tenant, _, path = full.strip("/").partition("/")
    return tenant, path
