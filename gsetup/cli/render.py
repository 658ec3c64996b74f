"""Tables and plan trees for people (rich)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from gsetup.plan.model import MASK, Change, Plan

FIRST_CHANGES = 50  # a longer plan shows these, then counts per section (--all: everything)
_SIGNS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "delete": ("-", "red"),
    "keep": ("=", "dim"),
}


def _console(to_stderr: bool = False) -> Any:
    import sys

    from rich.console import Console

    # Long lines wrap (words) or fold (paths) at the terminal's width, never cut; piped output
    # (CI logs, files) is not wrapped at 80 columns.
    stream = sys.stderr if to_stderr else sys.stdout
    return Console(
        file=stream, highlight=False, emoji=False, width=None if stream.isatty() else 400
    )


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


def print_plan(
    plan: Plan, *, applied: bool, show_all: bool = False, to_stderr: bool = False
) -> None:
    """Print the plan as a tree of objects with their option changes, then the summary.

    A long plan (an import of thousands of options) shows its first changes and counts per
    section; ``show_all`` lists every change, and counts the options that stay unchanged.
    """
    from rich.markup import escape
    from rich.tree import Tree

    console = _console(to_stderr)
    title = "Applied" if applied else "Plan (nothing written)"
    tree = Tree(f"[bold]{title}[/bold] for tenant {escape(plan.tenant)}")
    shown = [c for c in plan.changes if show_all or c.action != "keep" or c.note]
    for change in shown if show_all else shown[:FIRST_CHANGES]:
        tree.add(_line(change, plan.tenant))
    if not show_all and len(shown) > FIRST_CHANGES:
        _add_section_counts(tree, shown[FIRST_CHANGES:], plan.tenant)
    counted = plan.unchanged_options if show_all else 0
    if counted:
        sign, colour = _SIGNS["keep"]
        tree.add(f"[{colour}]{sign} keep  [/{colour}] {counted} option(s) already as desired")
    if shown or counted:
        console.print(tree)
    elif not plan.pending:
        console.print("Nothing to change: the configuration is already as desired.")
    console.print(plan.summary_line())


def _line(change: Change, tenant: str) -> str:
    from rich.markup import escape

    sign, colour = _SIGNS[change.action]
    text = f"[{colour}]{sign} {change.action:<6}[/{colour}] {escape(change.display_path(tenant))}"
    detail = _detail(change)
    if detail:
        text += f"  {escape(detail)}"
    if change.note:
        text += f"  [dim]({escape(change.note)})[/dim]"
    return text


def _add_section_counts(tree: Any, rest: Sequence[Change], tenant: str) -> None:
    """The changes after the first ones, counted per object and section."""
    from rich.markup import escape

    counts: dict[str, Counter[str]] = {}
    for change in rest:
        where = Change("keep", change.target, change.kind, change.path).display_path(tenant)
        if change.option is not None:
            where += f" [{change.option[0]}]"
        counts.setdefault(where, Counter())[change.action] += 1
    for where, actions in counts.items():
        text = ", ".join(f"{n} to {a}" if a != "keep" else f"{n} kept" for a, n in actions.items())
        tree.add(f"[dim]{escape(where)}: {text}[/dim]")
    tree.add(f"[dim]... {len(rest)} more changes, counted above: --all lists every one[/dim]")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A simple table with a title; cells are text (never markup) and fold, never cut."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title), title_justify="left")
    for column in columns:
        table.add_column(Text(column), overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    _console().print(table)


def print_mapping(title: str, data: dict[str, Any]) -> None:
    """Key/value lines under a title."""
    from rich.markup import escape

    console = _console()
    console.print(f"[bold]{escape(title)}[/bold]")
    for key, value in data.items():
        console.print(f"  {key}: {'' if value is None else value}", markup=False)


def print_lines(title: str, lines: Sequence[str], *, numbered: bool = False) -> None:
    """A titled list of lines."""
    from rich.markup import escape

    console = _console()
    console.print(f"\n[bold]{escape(title)}[/bold]")
    for number, line in enumerate(lines, start=1):
        console.print(f"  {number}. {line}" if numbered else f"  {line}", markup=False)
