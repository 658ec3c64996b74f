"""What the commands share: global options, the context, JSON and plan output."""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gsetup.errors import BadInputError, NeedsAnswerError
from gsetup.fileio import quote_prefix
from gsetup.numbers import decimal_number, whole_number

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import typer

    from gsetup.cli.confirm import Confirmation
    from gsetup.context import Context
    from gsetup.plan.model import Plan

DEFAULT_TENANT = "Environment"

TENANT_HELP = "Tenant to act on."
DRY_RUN_HELP = "Show the plan and write nothing."
JSON_HELP = "Print the result as JSON, for scripts."
# the token commands of `route token` and `dms token`
DMS_APP_HELP = "The DigitalMessagingServer application."
ROTATE_HELP = "Replace an existing token (the old one stops working)."
IF_MISSING_HELP = (
    "Keep an existing token and succeed (exit 0), for jobs that run every time; make one "
    "only when there is none."
)
DETAILED_HELP = (
    "Plan only, never apply (as with --dry-run): exit 0 when nothing would change, 3 when "
    "changes are pending."
)
YES_HELP = (
    "Apply without asking, also a plan that deletes or replaces configuration (without a "
    "terminal such a plan is refused unless --yes)."
)
ALL_HELP = (
    "List every change (a long plan shows its first 50, then counts per section), and what "
    "stays unchanged (options already as desired: their number)."
)


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


def number(low: float, high: float | None = None, *, whole: bool = False) -> Callable[[Any], Any]:
    """A typer ``parser`` for a numeric option: plain ASCII decimal (:mod:`gsetup.numbers`)
    from ``low`` to ``high``, whole if ``whole``, signed only where ``low`` is negative. Typer's
    own int and float would also take ``1_0`` (10), spaces and other scripts' digits."""
    kind = "a whole number" if whole else "a plain decimal number (e.g. 30 or 2.5)"
    bound = f"from {low:g} to {high:g}" if high is not None else f"of at least {low:g}"

    def parse(given: Any) -> Any:
        if not isinstance(given, str):  # the option's default, already a number
            return given
        read = whole_number if whole else decimal_number
        value = read(given, signed=low < 0)
        if value is None or value < low or (high is not None and value > high):
            import typer

            raise typer.BadParameter(f"{quote_prefix(given)}; allowed: {kind} {bound}")
        return value

    return parse


def ask_password(prompt: str = "Password: ", instead: str = "set GSETUP_PASSWORD") -> str:
    """Ask for a password without echo; refuse when there is no terminal to ask on, saying
    what to give ``instead``."""
    _need_terminal("a password", instead)
    return _typed(prompt)


NEW_SECRET_TRIES = 3  # as passwd: a typo is typed again; a script stuck at a prompt stops


def ask_new_secret(
    what: str,
    prompts: tuple[str, str],
    instead: str,
    check: Callable[[str], str] | None = None,
) -> str:
    """A new password or secret value (``what``) typed twice without echo, at ``prompts``.

    One that ``check`` refuses or typed differently the second time is asked again, saying
    why, up to three tries; then the refusal stands (exit 2). Without a terminal it is
    refused at once, naming what to give ``instead``.
    """
    _need_terminal(f"a {what}", instead)
    for tries_left in reversed(range(NEW_SECRET_TRIES)):
        try:
            first = _typed(prompts[0])
            if check is not None:
                first = check(first)
            if _typed(prompts[1]) == first:
                return first
            refusal = f"the two {what}s differ"
        except BadInputError as exc:
            refusal = str(exc)
        if not tries_left:
            raise BadInputError(f"{refusal}; nothing written")
        print(f"{refusal}; type it again", file=sys.stderr)
    raise AssertionError("unreachable: the last try returns or raises")


def _typed(prompt: str) -> str:
    """Typed without echo; end of input (Ctrl-D) stops as Ctrl-C does, and so does a closed
    terminal (SIGHUP, exit 129)."""
    from gsetup.interrupts import hang_up_stops

    try:
        with hang_up_stops():
            return getpass.getpass(prompt)
    except EOFError:
        raise KeyboardInterrupt from None


def _need_terminal(what: str, instead: str) -> None:
    if not sys.stdin.isatty():
        raise NeedsAnswerError(
            f"{what} is needed and there is no terminal to ask for it: {instead}"
        )


def open_context(
    ctx: typer.Context, *, upgrade: bool | None = None, writes: bool = True
) -> Context:
    """Open the configuration database and log in as the global options say.

    A read-only command (``writes=False``) never creates a ``--db`` SQLite file that does
    not exist: an empty deployment would hide a mistyped path.
    """
    return connect_as(globals_of(ctx), upgrade=upgrade, writes=writes)


def connect_as(g: Globals, *, upgrade: bool | None = None, writes: bool = True) -> Context:
    """:func:`open_context` for global options parsed without typer (gsetup.cli.quick)."""
    from gsetup.context import connect

    return connect(g.db, user=g.user, password=ask_password, upgrade=upgrade, create=writes)


def check_store(url: str | None) -> None:
    """Refuse a ``--store`` that is no URL before anything runs, naming the option."""
    if url is not None:
        from gsetup.runtime.store import parse_store_url

        parse_store_url(url, "--store")


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def confirmation(
    dry_run: bool, yes: bool, detailed_exitcode: bool, as_json: bool = False, busy: str = ""
) -> Confirmation:
    """The preview/confirm/apply rules of this invocation (gsetup.cli.confirm); ``busy``
    names long work for a spinner on a terminal."""
    from gsetup.cli.confirm import Confirmation

    return Confirmation(dry_run, yes, detailed_exitcode, to_stderr=as_json, busy=busy)


def finish_plan(
    plan: Plan,
    mode: Confirmation,
    *,
    as_json: bool,
    show_all: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Render the plan (or applied result) and end with the documented exit code; ``extra``
    is added to the JSON document."""
    from gsetup.cli.render import print_plan

    applied = not mode.plan_only
    if as_json:
        emit_json({**plan.to_json(), "applied": applied, **(extra or {})})
    else:
        print_plan(plan, applied=applied, show_all=show_all)
    mode.exit_for(plan)
