"""``gsetup object``: browse every kind of configuration object."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import JSON_HELP, emit_json, open_context
from gsetup.cli.render import print_mapping, print_table

if TYPE_CHECKING:
    from gsetup.commands.objects import ObjectView

app = typer.Typer(help="Browse configuration objects of any type.", no_args_is_help=True)

KIND_HELP = (
    "Object type: tenant, business_attribute, attribute_value, capacity_rule, skill, "
    "application, business_process, queue, strategy, person, agent_group."
)


def print_view(view: ObjectView) -> None:
    """An object's attributes, options and managing packages."""
    print_mapping(
        f"{view.tenant}/{view.path}" if view.path else view.tenant,
        {"type": view.kind, **view.attrs, "managed by": ", ".join(view.managed_by) or "(user)"},
    )
    for section, keys in view.options.items():
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
    views = list_objects(context, tenant or list_tenants(context), kind)
    if as_json:
        emit_json([v.to_json() for v in views])
        return
    rows = [(v.tenant, v.kind, v.path or "(tenant)", ", ".join(v.managed_by)) for v in views]
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
    view = show_object(open_context(ctx, writes=False), tenant, rel)
    emit_json(view.to_json()) if as_json else print_view(view)
