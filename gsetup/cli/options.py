"""``gsetup options``: import and export option files; get, set and unset single options."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from gsetup.cli.common import (
    ALL_HELP,
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    YES_HELP,
    confirmation,
    emit_json,
    finish_plan,
    open_context,
)
from gsetup.errors import BadInputError

app = typer.Typer(
    help="Application options and object annexes: option files (.cfg) and single options.",
    no_args_is_help=True,
)

APP_HELP = "Application whose options to use."
ANNEX_HELP = (
    "Instead of --app: the object whose annex to use, tenant-relative "
    "('Business Attributes/Media Type/facebook') or with the tenant first."
)
TENANT_HELP = "Tenant to act on (default: Environment, or the tenant an --annex path starts with)."
NAME_HELP = "SECTION/KEY, split at the first '/', e.g. channel-facebook/inbound-route."


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The option file (.cfg) to import."),
    app_name: str = typer.Option(..., "--app", help=APP_HELP),
    tenant: str | None = typer.Option(None, "--tenant", "-t", help=TENANT_HELP),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace existing values (default: keep them)."
    ),
    secret_key: list[str] | None = typer.Option(
        None, "--secret-key", help="Store this key's values as secrets (repeatable)."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    show_all: bool = typer.Option(False, "--all", help=ALL_HELP),
) -> None:
    """Import an option file. Existing keys keep their values unless --overwrite.

    With --overwrite, a plan that changes existing values is shown and confirmed first.

    Example: gsetup options import dms.cfg --app DMS_Primary --dry-run
    """
    from gsetup.commands.options import find_target, import_options
    from gsetup.plan.model import Plan

    context = open_context(ctx)
    target = find_target(context, tenant=tenant, app=app_name)
    mode = confirmation(dry_run, yes, detailed, as_json, busy=f"Importing {file}")
    plan = mode.apply_plan(
        lambda dry: import_options(
            context,
            target,
            file,
            overwrite=overwrite,
            secret_keys=secret_key or (),
            dry_run=dry,
        ),
        risky=Plan.replaces if overwrite else None,
    )
    finish_plan(plan, mode, as_json=as_json, show_all=show_all)


@app.command("export")
def export(
    ctx: typer.Context,
    app_name: str = typer.Option(..., "--app", help=APP_HELP),
    tenant: str | None = typer.Option(None, "--tenant", "-t", help=TENANT_HELP),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (mode 0600) instead of standard output."
    ),
    include_secrets: bool = typer.Option(
        False,
        "--include-secrets",
        help="Write secret values in clear (only with --output, not a terminal); default: masked.",
    ),
) -> None:
    """Write an application's options as an option file (secrets masked).

    Example: gsetup options export --app DMS_Primary --output dms.cfg
    """
    from gsetup.commands.options import export_options, find_target

    context = open_context(ctx, writes=False)
    target = find_target(context, tenant=tenant, app=app_name)
    text = export_options(context, target, output=output, include_secrets=include_secrets)
    if output is None:
        sys.stdout.write(text)


@app.command("get")
def get(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP),
    app_name: str | None = typer.Option(None, "--app", help=APP_HELP),
    annex: str | None = typer.Option(None, "--annex", help=ANNEX_HELP),
    tenant: str | None = typer.Option(None, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Print one option's value (a secret is always masked)."""
    from gsetup.commands.options import find_target, get_option, parse_option_name

    option = parse_option_name(name)
    context = open_context(ctx, writes=False)
    target = find_target(context, tenant=tenant, app=app_name, annex=annex)
    view = get_option(context, target, option)
    if as_json:
        emit_json(view.to_json())
    else:
        print(view.value)


@app.command("set")
def set_(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP),
    value: str | None = typer.Argument(None, help="The value (not for secrets)."),
    app_name: str | None = typer.Option(None, "--app", help=APP_HELP),
    annex: str | None = typer.Option(None, "--annex", help=ANNEX_HELP),
    tenant: str | None = typer.Option(None, "--tenant", "-t", help=TENANT_HELP),
    secret: bool = typer.Option(
        False, "--secret", help="Store the value as a secret; without --value-env, ask for it."
    ),
    value_env: str | None = typer.Option(
        None, "--value-env", help="Take the value from this environment variable."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Set one option. Setting the same value again changes nothing; nothing is asked.

    Example: gsetup options set channel-facebook/reconnection-timeout 30 --app DMS_Primary
    """
    from gsetup.commands.options import find_target, parse_option_name, set_option

    option = parse_option_name(name)
    given = _value(value, value_env, secret=secret)
    context = open_context(ctx)
    target = find_target(context, tenant=tenant, app=app_name, annex=annex)
    mode = confirmation(dry_run, False, detailed, as_json)
    plan = mode.apply_plan(
        lambda dry: set_option(
            context,
            target,
            option,
            given,
            secret=secret,
            on_command_line=value is not None,
            dry_run=dry,
        ),
        risky=None,
    )
    finish_plan(plan, mode, as_json=as_json)


@app.command("unset")
def unset(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=NAME_HELP),
    app_name: str | None = typer.Option(None, "--app", help=APP_HELP),
    annex: str | None = typer.Option(None, "--annex", help=ANNEX_HELP),
    tenant: str | None = typer.Option(None, "--tenant", "-t", help=TENANT_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Remove one option (asks first on a terminal). Removing a missing option changes nothing.

    Example: gsetup options unset channel-facebook/reconnection-timeout --app DMS_Primary --yes
    """
    from gsetup.commands.options import find_target, parse_option_name, unset_option

    option = parse_option_name(name)
    context = open_context(ctx)
    target = find_target(context, tenant=tenant, app=app_name, annex=annex)
    mode = confirmation(dry_run, yes, detailed, as_json)
    plan = mode.apply_plan(lambda dry: unset_option(context, target, option, dry_run=dry))
    finish_plan(plan, mode, as_json=as_json)


def _value(value: str | None, value_env: str | None, *, secret: bool) -> str:
    """The value from exactly one source: the argument, an environment variable or a prompt."""
    if value is not None and value_env is not None:
        raise BadInputError("give the value or --value-env, not both")
    if value_env is not None:
        found = os.environ.get(value_env)
        if found is None:
            raise BadInputError(f"--value-env: environment variable {value_env} is not set")
        return found
    if value is not None:
        return value
    if not secret:
        raise BadInputError("give a VALUE, or --value-env NAME (or --secret to be asked)")
    return ask_secret()


def ask_secret() -> str:
    """Ask for a secret value twice without echo; refuse when there is no terminal."""
    from gsetup.cli.common import ask_new_secret

    return ask_new_secret("secret value", ("Secret value: ", "Again: "), "give --value-env NAME")
