"""What the commands share: global options, the context, JSON and plan output."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from gsetup.errors import EXIT_CHANGES_PENDING, NeedsAnswerError

if TYPE_CHECKING:
    from gsetup.context import Context
    from gsetup.plan.model import Plan

DEFAULT_TENANT = "Environment"

TENANT_HELP = "Tenant to act on."
DRY_RUN_HELP = "Show the plan and write nothing."
JSON_HELP = "Print the result as JSON, for scripts."
DETAILED_HELP = "With --dry-run: exit 0 when nothing would change, 3 when changes are pending."
ALL_HELP = "Also list what stays unchanged (options already as desired: their number)."


@dataclass
class Globals:
    """The options given before the command."""

    db: str | None
    user: str | None
    debug: bool


def globals_of(ctx: typer.Context) -> Globals:
    """The global options of this invocation."""
    root = ctx.find_root()
    assert isinstance(root.obj, Globals)
    return root.obj


def ask_password(prompt: str = "Password: ") -> str:
    """Ask for a password without echo; refuse when there is no terminal to ask on."""
    if not sys.stdin.isatty():
        raise NeedsAnswerError(
            "a password is needed and there is no terminal to ask for it: set GSETUP_PASSWORD"
        )
    return getpass.getpass(prompt)


def open_context(ctx: typer.Context, *, upgrade: bool | None = None) -> Context:
    """Open the configuration database and log in as the global options say."""
    from gsetup.context import connect

    g = globals_of(ctx)
    return connect(g.db, user=g.user, password=ask_password, upgrade=upgrade)


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def finish_plan(
    plan: Plan,
    *,
    dry_run: bool,
    as_json: bool,
    detailed_exitcode: bool = False,
    show_all: bool = False,
) -> None:
    """Render the plan (or applied result) and end with the documented exit code."""
    from gsetup.cli.render import print_plan

    if as_json:
        emit_json({**plan.to_json(), "applied": not dry_run})
    else:
        print_plan(plan, applied=not dry_run, show_all=show_all)
    exit_for(plan, dry_run=dry_run, detailed_exitcode=detailed_exitcode)


def exit_for(plan: Plan, *, dry_run: bool, detailed_exitcode: bool) -> None:
    """``--dry-run --detailed-exitcode``: exit 3 when changes are pending."""
    if dry_run and detailed_exitcode and plan.pending:
        raise typer.Exit(EXIT_CHANGES_PENDING)
