"""``gsetup object``: browse every kind of configuration object."""

from __future__ import annotations

import typer

from gsetup.cli.common import JSON_HELP, emit_json, open_context
from gsetup.cli.render import print_table

app = typer.Typer(help="Browse configuration objects of any type.", no_args_is_help=True)

KIND_HELP = (
    "Object type: tenant, business_attribute, attribute_value, capacity_rule, skill, "
    "application, business_process, queue, strategy, person, agent_group."
)


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
        from gsetup.cli.reads import object_json

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
    from gsetup.cli.reads import show_object

    show_object(open_context(ctx, writes=False), path, as_json=as_json)
