"""``gsetup history``: what was applied, when and by whom."""

from __future__ import annotations

import typer

from gsetup.cli.common import JSON_HELP, number, open_context


def history(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, "--tenant", "-t", help="Only this tenant."),
    limit: int = typer.Option(
        20, "--limit", "-n", parser=number(1, whole=True), help="At most this many entries."
    ),
    changes: bool = typer.Option(
        False, "--changes", help="Also show each entry's changes (secrets masked)."
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Show the install history, newest first (answers redacted, secrets masked).

    Example: gsetup history --tenant Environment --limit 5 --changes
    """
    from gsetup.cli.reads import show_history

    show_history(open_context(ctx, writes=False), tenant, limit, changes=changes, as_json=as_json)
