"""``gsetup install``, ``uninstall``, ``list`` and ``answers check``: the BP installers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gsetup.cli.common import (
    ALL_HELP,
    DEFAULT_TENANT,
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    TENANT_HELP,
    YES_HELP,
    confirmation,
    emit_json,
    globals_of,
    open_context,
)

if TYPE_CHECKING:
    from gsetup.cli.confirm import Confirmation
    from gsetup.commands.install import InstallResult

answers_app = typer.Typer(help="Answer files of the installers.", no_args_is_help=True)

PACKAGE_HELP = (
    "Package: facebook-bp, facebook-bp-simplified, facebook-bp-iwd, facebook-bp-single-comment, "
    "twitter-bp, twitter-bp-iwd, twitter-bp-tr or rss-bp (see gsetup list)."
)
ANSWERS_HELP = "YAML answers file, or a genesys_silent.ini response file (docs/answers.md)."


def _finish(result: InstallResult, mode: Confirmation, *, as_json: bool, show_all: bool) -> None:
    from gsetup.cli.render import print_lines, print_plan

    if as_json:
        emit_json(result.to_json())
    else:
        print_plan(result.plan, applied=result.applied, show_all=show_all)
        if result.backup:
            print_lines("Files changed by hand were kept in", [str(result.backup)])
        if result.kept_files:
            print_lines("Strategy files changed by hand were kept", result.kept_files)
        if result.next_steps:
            print_lines("Next steps", result.next_steps, numbered=True)
    mode.exit_for(result.plan)


def install(
    ctx: typer.Context,
    package: str = typer.Argument(..., help=PACKAGE_HELP, metavar="PACKAGE"),
    tenant: str | None = typer.Option(
        None,
        "--tenant",
        "-t",
        help="Tenant to install in (the answer to 'tenant'; default: the answers file, else the "
        "one tenant where the package is installed).",
    ),
    answers: Path | None = typer.Option(None, "--answers", "-a", help=ANSWERS_HELP),
    sets: list[str] | None = typer.Option(
        None,
        "--set",
        help="Answer one question: key=value (repeatable; wins over --answers).",
        metavar="KEY=VALUE",
    ),
    save_answers: Path | None = typer.Option(
        None, "--save-answers", help="Write the answers given to this YAML file (no secrets)."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Ask nothing: a question without an answer is an error."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    show_all: bool = typer.Option(False, "--all", help=ALL_HELP),
) -> None:
    """Install (or upgrade) a Business Process package: the guide's wizard, as a plan.

    Asks what the answers file and --set leave open (tenant, iWD custom properties, strategy
    directory, capacity rule), shows the plan, applies it in one transaction, writes the
    strategy files and the database scripts, and prints the next steps. A re-run without
    answers reuses those of the tenant's last install. A plan that deletes (a version
    change) is confirmed first; without a terminal it needs --yes.

    Example: gsetup install twitter-bp --answers examples/twitter-bp.yaml --yes
    """
    from gsetup.cli.confirm import Confirmation
    from gsetup.packages import get_package
    from gsetup.wizards.bp import InstallRequest, answer_sources, login, run_install
    from gsetup.wizards.collect import Prompter

    g = globals_of(ctx)
    get_package(package)  # an unknown package is refused before anything is asked
    request = InstallRequest(package, answers, sets or [], save_answers, yes, tenant)
    sources = answer_sources(request)
    prompter = Prompter()
    context = login(g.db, g.user, sources, prompter, yes)
    mode = Confirmation(
        dry_run,
        yes,
        detailed,
        wizard=True,
        to_stderr=as_json,
        busy=f"Installing {package}",
        terminal=lambda: prompter.interactive,
    )
    result = run_install(context, request, sources, prompter, mode)
    _finish(result, mode, as_json=as_json, show_all=show_all)


def uninstall(
    ctx: typer.Context,
    package: str = typer.Argument(..., help=PACKAGE_HELP, metavar="PACKAGE"),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    show_all: bool = typer.Option(False, "--all", help=ALL_HELP),
) -> None:
    """Remove what a package created: its objects, options and unchanged strategy files.

    Objects and options users added are kept, and so are objects another installed package
    still uses. The plan is shown and confirmed first; without a terminal it needs --yes.

    Example: gsetup uninstall facebook-bp --tenant Environment --yes
    """
    from gsetup.commands.install import uninstall as core

    context = open_context(ctx)
    mode = confirmation(dry_run, yes, detailed, as_json, busy=f"Uninstalling {package}")
    result = mode.apply(lambda dry: core(context, package, tenant, dry_run=dry), lambda r: [r.plan])
    _finish(result, mode, as_json=as_json, show_all=show_all)


def list_packages(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help=JSON_HELP)
) -> None:
    """List the installable packages, what each requires, and where each is installed."""
    from gsetup.cli.reads import show_packages

    show_packages(open_context(ctx, writes=False), as_json=as_json)


@answers_app.command("check")
def check(
    file: Path = typer.Argument(..., help=ANSWERS_HELP, metavar="FILE"),
    package: str | None = typer.Option(None, "--package", "-p", help=PACKAGE_HELP),
    driver: str | None = typer.Option(
        None, "--driver", help="Check a `gsetup driver install` answers file: facebook or twitter."
    ),
    tenant: str | None = typer.Option(
        None, "--tenant", "-t", help="The answer to 'tenant' the install will be given."
    ),
    sets: list[str] | None = typer.Option(
        None,
        "--set",
        help="An answer the install will be given: key=value (repeatable; wins over FILE).",
        metavar="KEY=VALUE",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Validate an answers file without touching any database (exit 2 when it is wrong).

    Checks what `install --answers FILE --yes` needs, with the --tenant and --set the install
    will be given: known keys, values of the right type, secrets given as references, every
    required answer present. With --json the result is printed for an invalid file too
    ("valid": false, "error").

    Example: gsetup answers check genesys_silent.ini --tenant Environment
    """
    from gsetup.errors import BadInputError

    try:
        if driver is not None:
            from gsetup.wizards.driver import check_driver_answers_file

            checked = check_driver_answers_file(file, driver, sets or [], tenant)
        else:
            from gsetup.wizards.bp import check_answers_file

            checked = check_answers_file(file, package, sets or [], tenant)
    except BadInputError as exc:
        if as_json:
            emit_json({"file": str(file), "valid": False, "error": str(exc)})
        raise
    if as_json:
        emit_json({"file": str(file), "valid": True, "answers": checked})
    else:
        print(f"{file}: valid ({len(checked)} answers)")


@answers_app.command("schema")
def schema(
    package: str | None = typer.Argument(None, help=PACKAGE_HELP, metavar="PACKAGE"),
    driver: str | None = typer.Option(
        None, "--driver", help="The schema of a `gsetup driver install` answers file instead."
    ),
) -> None:
    """Print the JSON Schema (draft 2020-12) of a package's answers file, for editors.

    Save it and point the YAML language server at it with a first line such as
    `# yaml-language-server: $schema=twitter-bp.schema.json` (docs/answers.md).

    Example: gsetup answers schema twitter-bp > twitter-bp.schema.json
    """
    from gsetup.errors import BadInputError

    if (package is None) == (driver is None):
        raise BadInputError("answers schema: give a PACKAGE or --driver facebook|twitter")
    if driver is not None:
        from gsetup.wizards.driver import driver_answers_schema

        emit_json(driver_answers_schema(driver))
    else:
        from gsetup.wizards.bp import bp_answers_schema

        emit_json(bp_answers_schema(str(package)))
