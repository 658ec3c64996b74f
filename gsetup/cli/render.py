"""Tables and plan trees for people (rich)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gsetup.plan.model import MASK, Change, Plan

_SIGNS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "delete": ("-", "red"),
    "keep": ("=", "dim"),
}


def _console() -> Any:
    import sys

    from rich.console import Console

    # Piped output (CI logs, files) is not cut at 80 columns.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 400)


def _detail(change: Change) -> str:
    if change.option is not None:  # an option, or a line of a file's section
        before = MASK if change.secret else change.before
        after = MASK if change.secret else change.after
        if change.action == "update":
            return f"{before!r} -> {after!r}"
        if change.action == "create":
            return f"= {after!r}"
        if change.action == "delete":
            return f"was {before!r}"
        if change.action == "keep" and change.before is not None:
            return f"kept {before!r}"
    if change.action == "update" and isinstance(change.after, dict):
        return ", ".join(f"{k}: {change.before.get(k)!r} -> {v!r}" for k, v in change.after.items())
    return ""


def print_plan(plan: Plan, *, applied: bool, show_all: bool = False) -> None:
    """Print the plan as a tree of objects with their option changes, then the summary."""
    from rich.markup import escape
    from rich.tree import Tree

    console = _console()
    title = "Applied" if applied else "Plan (nothing written)"
    tree = Tree(f"[bold]{title}[/bold] for tenant {escape(plan.tenant)}")
    shown = [c for c in plan.changes if show_all or c.action != "keep" or c.note]
    for change in shown:
        sign, colour = _SIGNS[change.action]
        path = escape(change.display_path(plan.tenant))
        text = f"[{colour}]{sign} {change.action:<6}[/{colour}] {path}"
        detail = _detail(change)
        if detail:
            text += f"  {escape(detail)}"
        if change.note:
            text += f"  [dim]({escape(change.note)})[/dim]"
        tree.add(text)
    counted = plan.unchanged_options if show_all else 0
    if counted:
        sign, colour = _SIGNS["keep"]
        tree.add(f"[{colour}]{sign} keep  [/{colour}] {counted} option(s) already as desired")
    if shown or counted:
        console.print(tree)
    elif not plan.pending:
        console.print("Nothing to change: the configuration is already as desired.")
    console.print(plan.summary_line())


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A simple table with a title."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    _console().print(table)


def print_mapping(title: str, data: dict[str, Any]) -> None:
    """Key/value lines under a title."""
    console = _console()
    console.print(f"[bold]{title}[/bold]")
    for key, value in data.items():
        console.print(f"  {key}: {'' if value is None else value}", markup=False)


def print_lines(title: str, lines: Sequence[str], *, numbered: bool = False) -> None:
    """A titled list of lines."""
    console = _console()
    console.print(f"\n[bold]{title}[/bold]")
    for number, line in enumerate(lines, start=1):
        console.print(f"  {number}. {line}" if numbered else f"  {line}", markup=False)
