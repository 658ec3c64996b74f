"""``gsetup object``: browse every kind of configuration object."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from gsetup.cli.common import JSON_HELP, emit_json, open_context
from gsetup.cli.render import print_mapping, print_table

if TYPE_CHECKING:
    from gsetup.deployment import ConfigObject

app = typer.Typer(help="Browse configuration objects of any type.", no_args_is_help=True)

KIND_HELP = (
    "Object type: tenant, business_attribute, attribute_value, capacity_rule, skill, "
    "application, business_process, queue, strategy, person, agent_group."
)


def _sections(obj: ConfigObject) -> dict[str, dict[str, str]]:
    """The object's options by section and key, secrets masked."""
    from gsetup.plan.model import MASK

    found: dict[str, dict[str, str]] = {}
    for (section, key), option in sorted((obj.options or {}).items()):
        found.setdefault(section, {})[key] = MASK if option.secret else option.value
    return found


def object_json(tenant: str, obj: ConfigObject) -> dict[str, Any]:
    """An object as ``--json`` gives it; ``options`` (secrets masked) only when read."""
    data: dict[str, Any] = {
        "tenant": tenant,
        "kind": obj.kind,
        "path": f"{tenant}/{obj.path}" if obj.path else tenant,
        "attrs": dict(obj.attrs),
        "managed_by": list(obj.managers),
    }
    if obj.options is not None:
        data["options"] = _sections(obj)
    return data


def print_object(tenant: str, obj: ConfigObject) -> None:
    """An object's attributes, options (secrets masked) and managing packages."""
    print_mapping(
        f"{tenant}/{obj.path}" if obj.path else tenant,
        {"type": obj.kind, **obj.attrs, "managed by": ", ".join(obj.managers) or "(user)"},
    )
    for section, keys in _sections(obj).items():
        print_mapping(f"  [{section}]", keys)


@app.command("list")
def list_(
    ctx: typer.Context,
    kind: str | None = typer.Option(None, "--type", help=KIND_HELP),
    tenant: list[str] | None = typer.Option(
        None, "--tenant", "-t", help="Tenant(s) to list; default: every tenant you may see."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List configuration objects by tenant and path."""
    from gsetup.commands.objects import list_objects
    from gsetup.commands.tenants import list_tenants

    context = open_context(ctx, writes=False)
    found = list_objects(context, tenant or list_tenants(context), kind)
    if as_json:
        emit_json([object_json(t, obj) for t, obj in found])
        return
    rows = [(t, o.kind, o.path or "(tenant)", ", ".join(o.managers)) for t, o in found]
    print_table("Objects", ("tenant", "type", "path", "managed by"), rows)


@app.command("show")
def show(
    ctx: typer.Context,
    path: str = typer.Argument(
        ..., help="Full path, e.g. 'Environment/Business Attributes/Media Type/facebook'."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show one object: its fields, options or annex (secrets masked) and managing packages."""
    from gsetup.commands.objects import show_object, split_full_path

    tenant, rel = split_full_path(path)
    obj = show_object(open_context(ctx, writes=False), tenant, rel)
    emit_json(object_json(tenant, obj)) if as_json else print_object(tenant, obj)
