"""``gsetup history``: what was applied, when and by whom."""

from __future__ import annotations

from typing import Any

import typer

from gsetup.cli.common import JSON_HELP, emit_json, open_context
from gsetup.cli.render import print_lines, print_table


def history(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, "--tenant", "-t", help="Only this tenant."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="At most this many entries."),
    changes: bool = typer.Option(
        False, "--changes", help="Also show each entry's changes (secrets masked)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show the install history, newest first (answers redacted, secrets masked).

    Example: gsetup history --tenant Environment --limit 5 --changes
    """
    from gsetup.commands.history import list_history

    context = open_context(ctx, writes=False)
    entries = list_history(context, tenant, limit, with_changes=changes)
    if as_json:
        emit_json(entries)
        return
    print_table(
        "Install history",
        ("id", "at", "tenant", "operation", "package", "version", "account", "changes"),
        [_row(e) for e in entries],
    )
    for entry in entries if changes else ():
        print_lines(f"Changes of entry {entry['id']}", [_change(c) for c in entry["changes"]])


def _row(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        entry["id"],
        entry["at"],
        entry["tenant"],
        entry["operation"],
        entry["package"] or "",
        entry["version"] or "",
        entry["account"],
        ", ".join(f"{v} {k}" for k, v in entry["summary"].items() if v),
    )


def _change(change: dict[str, Any]) -> str:
    text = f"{change['action']} {change['path']}"
    if "before" in change or "after" in change:
        text += f": {change.get('before')!r} -> {change.get('after')!r}"
    return text
