"""``gsetup agent``: agents as configuration objects, and clients of the runtime's agent API."""

from __future__ import annotations

import typer

from gsetup.cli.common import (
    DEFAULT_TENANT,
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    TENANT_HELP,
    emit_json,
    finish_plan,
    open_context,
)
from gsetup.errors import BadInputError, NeedsAnswerError

app = typer.Typer(
    help="Agents: add, list and remove them; log in and handle interactions on a running "
    "runtime.",
    no_args_is_help=True,
)

PASSWORD_FROM_HELP = (
    "Where the login password comes from: env:NAME (an environment variable) or file:PATH; "
    "default: asked twice without echo."
)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Agent (person) name, unique in the tenant."),
    skill: list[str] | None = typer.Option(
        None, "--skill", help="A skill and its level, NAME=LEVEL (0-100); repeatable."
    ),
    capacity_rule: str | None = typer.Option(
        None,
        "--capacity-rule",
        help="Its own capacity rule (default: its group's, else the tenant's default).",
    ),
    first_name: str = typer.Option("", "--first-name", help="First name."),
    last_name: str = typer.Option("", "--last-name", help="Last name."),
    password_from: str | None = typer.Option(None, "--password-from", help=PASSWORD_FROM_HELP),
    no_login: bool = typer.Option(
        False, "--no-login", help="Give no password: the agent's login stays as it is."
    ),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Add an agent (or set an existing one to exactly this) with a login for the runtime.

    The password is stored as an scrypt hash, never in clear. Adding the same agent with
    the same password again changes nothing.

    Example: GSETUP_AGENT_PW=... gsetup agent add alice --skill facebook=5
    --capacity-rule Default_Social_Media_Capacity_rule --password-from env:GSETUP_AGENT_PW
    """
    from gsetup.commands.agents import AgentSpec, add_agent, parse_skills

    if no_login and password_from is not None:
        raise BadInputError("give --password-from or --no-login, not both")
    skills = parse_skills(skill or [])
    password = None if no_login else read_password(password_from)
    spec = AgentSpec(name, skills, capacity_rule, first_name, last_name, password)
    plan = add_agent(open_context(ctx), tenant, spec, dry_run=dry_run)
    finish_plan(plan, dry_run=dry_run, as_json=as_json, detailed_exitcode=detailed)


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the tenant's agents: skills, capacity rule and whether they have a login."""
    from gsetup.cli.render import print_table
    from gsetup.commands.agents import list_agents

    agents = list_agents(open_context(ctx), tenant)
    if as_json:
        emit_json([a.to_json() for a in agents])
        return
    rows = [
        (
            a.name,
            ", ".join(f"{k}={v}" for k, v in sorted(a.skills.items())),
            a.capacity_rule or "(group or tenant default)",
            "yes" if a.login else "no",
        )
        for a in agents
    ]
    print_table(f"Agents of {tenant}", ("name", "skills", "capacity rule", "login"), rows)


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Agent name."),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Remove an agent and its login; its skills stay.

    Example: gsetup agent remove alice --dry-run
    """
    from gsetup.commands.agents import remove_agent

    plan = remove_agent(open_context(ctx), tenant, name, dry_run=dry_run)
    finish_plan(plan, dry_run=dry_run, as_json=as_json, detailed_exitcode=detailed)


def read_password(source: str | None) -> str:
    """The password from ``env:NAME``/``file:PATH`` (as answer files give secrets) or asked
    twice without echo."""
    import getpass
    import sys

    from gsetup.wizards.answers import AnswerSource, resolve_secret

    if source is not None:
        kind, sep, ref = source.partition(":")
        if not sep or kind not in ("env", "file") or not ref:
            raise BadInputError(f"--password-from {source!r}: use env:NAME or file:PATH")
        return resolve_secret({kind: ref}, AnswerSource("--password-from"), "password")
    if not sys.stdin.isatty():
        raise NeedsAnswerError(
            "a password is needed and there is no terminal to ask for it: give "
            "--password-from env:NAME or file:PATH (or --no-login)"
        )
    first = getpass.getpass("Agent password: ")
    if getpass.getpass("Again: ") != first:
        raise BadInputError("the two passwords differ; nothing written")
    return first
