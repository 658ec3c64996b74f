"""The typer application: every command and the global options.

Errors from the core are mapped to the published exit codes by :mod:`gsetup.cli.errors`.
"""

from __future__ import annotations

import sys

import typer

from gsetup import version_text
from gsetup.cli import (
    agent,
    apps,
    configure,
    db,
    dms,
    doctor,
    driver,
    history,
    install,
    objects,
    options,
    route,
    sql,
    tenants,
)
from gsetup.cli.common import Globals

app = typer.Typer(
    name="gsetup",
    help=(
        "Install and configure Genesys Social Engagement: Business Processes, Interaction "
        "Server database scripts, Cloud API drivers and their options. Every change is "
        "planned first (--dry-run shows the plan), applied in one transaction, and a re-run "
        "changes nothing.\n\nThe configuration database is --db URL, else GSETUP_DB, else an "
        "embedded SQLite file in your data directory, created on first use."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("list")(install.list_packages)
app.command("install")(install.install)
app.command("uninstall")(install.uninstall)
app.add_typer(install.answers_app, name="answers")
app.add_typer(db.app, name="db")
app.add_typer(db.account_app, name="account")
app.add_typer(tenants.app, name="tenant")
app.add_typer(apps.app, name="app")
app.add_typer(objects.app, name="object")
app.add_typer(sql.app, name="sql")
app.add_typer(options.app, name="options")
app.command("history")(history.history)
app.add_typer(configure.app, name="configure")
app.add_typer(driver.app, name="driver")
app.add_typer(dms.app, name="dms")
app.command("doctor")(doctor.doctor)
app.add_typer(route.app, name="route")
app.add_typer(agent.app, name="agent")


@app.command("version")
def version(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print it as JSON, for scripts."),
) -> None:
    """Show gsetup's version, its schema revision, Python, SQLAlchemy and the database URL
    (without password; the database is not opened)."""
    from gsetup.cli.common import emit_json, globals_of
    from gsetup.commands.database import versions

    found = versions(globals_of(ctx).db)
    if as_json:
        emit_json(found)
    else:
        for key, value in found.items():
            print(f"{key}: {value}")


def _version(value: bool) -> None:
    if value:
        print(version_text())
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db_url: str | None = typer.Option(
        None,
        "--db",
        envvar="GSETUP_DB",
        help="Configuration database URL (sqlite:///... or postgresql+psycopg://user@host/db).",
        show_envvar=True,
    ),
    user: str | None = typer.Option(
        None,
        "--user",
        "-u",
        envvar="GSETUP_USER",
        help="Account for a server database (password from GSETUP_PASSWORD or a prompt).",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = Globals(db_url, user, debug)
    from gsetup.plan import lock

    lock.wait_reporter = _tell  # a wait for another gsetup is said at once, on stderr


def _tell(message: str) -> None:
    print(f"gsetup: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``gsetup`` console script."""
    from gsetup.cli.errors import run

    sys.exit(run(app, argv))
