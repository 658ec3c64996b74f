"""``gsetup history``: what was applied, when and by whom."""

from __future__ import annotations

import typer

from gsetup.cli.common import JSON_HELP, emit_json, open_context
from gsetup.cli.render import print_table


def history(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, "--tenant", "-t", help="Only this tenant."),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many entries."),
    changes: bool = typer.Option(False, "--changes", help="Include each entry's changes (JSON)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show the install history, newest first (answers redacted, secrets masked)."""
    from gsetup.commands.history import list_history

    entries = list_history(open_context(ctx), tenant, limit, with_changes=changes or as_json)
    if as_json:
        emit_json(entries)
        return
    rows = [
        (
            e["id"],
            e["at"],
            e["tenant"],
            e["operation"],
            e["package"] or "",
            e["version"] or "",
            e["account"],
            ", ".join(f"{v} {k}" for k, v in e["summary"].items() if v),
        )
        for e in entries
    ]
    print_table(
        "Install history",
        ("id", "at", "tenant", "operation", "package", "version", "account", "changes"),
        rows,
    )
