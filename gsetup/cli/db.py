"""``gsetup db`` and ``gsetup account``: the database itself and who may use it."""

from __future__ import annotations

import os
from functools import partial

import typer

from gsetup.cli.common import (
    DEFAULT_TENANT,
    JSON_HELP,
    TENANT_HELP,
    ask_new_secret,
    emit_json,
    globals_of,
    open_context,
)
from gsetup.cli.render import print_mapping, print_table

app = typer.Typer(
    help="Create, migrate and inspect the configuration database.", no_args_is_help=True
)
account_app = typer.Typer(
    help="Accounts of a server database and their roles per tenant.", no_args_is_help=True
)


def _new_password(what: str, variable: str = "GSETUP_PASSWORD") -> str:
    """A new password: the environment ``variable``, else asked twice on the terminal.

    ``db init`` takes the first admin's from GSETUP_PASSWORD, the password it then logs in
    with; ``account create`` takes GSETUP_NEW_PASSWORD only, never the logged-in account's
    GSETUP_PASSWORD (a new account must not silently get the admin's password).
    """
    from gsetup.configdb.auth import check_password

    env = os.environ.get(variable)
    if env is not None:
        return check_password(env, f"from {variable}")
    return ask_new_secret(
        "password",
        (f"Password for {what}: ", "Repeat the password: "),
        f"set {variable}",
        partial(check_password, source="typed at the prompt"),
    )


@app.command("init")
def init(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Create the schema (or migrate it) and, on a server database, the first admin account.

    The admin is the --user account; its password comes from GSETUP_PASSWORD or a prompt.

    Example:
    GSETUP_PASSWORD=... gsetup --user admin db init
    """
    from gsetup.commands.database import init_database
    from gsetup.configdb.tenants import check_name

    g = globals_of(ctx)
    if g.user is not None:  # the first admin's name: refused before the schema is written
        check_name(g.user, "account", spaces=False)
    result = init_database(g.db, g.user, lambda: _new_password(f"account {g.user!r}"))
    if as_json:
        emit_json(result)
    else:  # no admin line for the embedded database (it has no accounts) or a re-run
        print_mapping(
            "Configuration database ready", {k: v for k, v in result.items() if v is not None}
        )


@app.command("upgrade")
def upgrade(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Migrate the database to the schema of this gsetup (a server database: superusers only).

    Example: gsetup db upgrade
    """
    from gsetup.commands.database import upgrade_database

    result = upgrade_database(open_context(ctx, upgrade=True))
    if as_json:
        emit_json(result)
    elif result["from"] == result["revision"]:
        print_mapping("Configuration database already at this gsetup's schema", result)
    else:
        print_mapping("Configuration database upgraded", result)


@app.command("status")
def status(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """Where the database is, its schema revision and who you are logged in as (a schema
    behind is shown as it is, not migrated)."""
    from gsetup.commands.database import status as db_status

    result = db_status(open_context(ctx, upgrade=False, writes=False))
    emit_json(result) if as_json else print_mapping("Configuration database", result)


@app.command("unlock")
def unlock(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
) -> None:
    """Remove a tenant's apply lock left behind by a gsetup process that is gone, and the
    install-homes lock it took for an install or uninstall in the tenant.

    Example: gsetup db unlock --tenant Environment
    """
    from gsetup.commands.database import unlock as db_unlock

    had = db_unlock(open_context(ctx), tenant)
    print(f"tenant {tenant!r}: " + ("lock removed" if had else "was not locked"))


@account_app.command("create")
def account_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name."),
    superuser: bool = typer.Option(False, "--superuser", help="May see and change every tenant."),
) -> None:
    """Create an account; its password comes from GSETUP_NEW_PASSWORD or a prompt.

    Example: GSETUP_NEW_PASSWORD=... gsetup --user admin account create deployer
    """
    from gsetup.commands.tenants import create_account
    from gsetup.configdb.tenants import check_name

    check_name(name, "account", spaces=False)  # before the password is asked for
    context = open_context(ctx)
    password = partial(_new_password, f"account {name!r}", "GSETUP_NEW_PASSWORD")
    create_account(context, name, password, superuser=superuser)
    print(f"account {name!r} created")


@account_app.command("grant")
def account_grant(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name."),
    tenant: str = typer.Option(..., "--tenant", "-t", help=TENANT_HELP),
    role: str = typer.Option(..., "--role", help="viewer, operator or admin."),
) -> None:
    """Grant a role in a tenant: viewer sees, operator and admin may also change it.

    Example: gsetup --user admin account grant deployer --tenant Acme --role operator
    """
    from gsetup.commands.tenants import grant

    grant(open_context(ctx), name, tenant, role)
    print(f"account {name!r} is now {role} in tenant {tenant!r}")


@account_app.command("list")
def account_list(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """List accounts and their roles."""
    from gsetup.commands.tenants import list_accounts

    accounts = list_accounts(open_context(ctx, writes=False))
    if as_json:
        emit_json(accounts)
        return
    rows = [
        (
            a["name"],
            "yes" if a["superuser"] else "",
            ", ".join(f"{t}: {r}" for t, r in sorted(a["roles"].items())),
        )
        for a in accounts
    ]
    print_table("Accounts", ("name", "superuser", "roles"), rows)
