"""``gsetup agent``: agents as configuration objects, and clients of the runtime's agent API."""

from __future__ import annotations

from typing import Any

import typer

from gsetup.cli.common import (
    DEFAULT_TENANT,
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    TENANT_HELP,
    YES_HELP,
    check_store,
    confirmation,
    emit_json,
    finish_plan,
    number,
    open_context,
)
from gsetup.errors import BadInputError

app = typer.Typer(
    help="Agents: add, list and remove them; log in and handle interactions on a running runtime.",
    no_args_is_help=True,
)

PASSWORD_FROM = (
    "Where the login password comes from: env:NAME (an environment variable) or file:PATH; "
    "default: asked {} without echo."
)
PASSWORD_FROM_HELP = PASSWORD_FROM.format("twice")


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Agent (person) name, unique in the tenant."),
    skill: list[str] | None = typer.Option(
        None,
        "--skill",
        help="A skill and its level, NAME=LEVEL (0-100; NAME alone is level 1); repeatable.",
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
    context = open_context(ctx)
    mode = confirmation(dry_run, False, detailed, as_json)
    plan = mode.apply_plan(lambda dry: add_agent(context, tenant, spec, dry_run=dry), risky=None)
    finish_plan(plan, mode, as_json=as_json)


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the tenant's agents: skills, capacity rule and whether they have a login."""
    from gsetup.cli.render import print_table
    from gsetup.commands.agents import list_agents

    agents = list_agents(open_context(ctx, writes=False), tenant)
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
    store: list[str] | None = typer.Option(
        None,
        "--store",
        metavar="URL",
        help="Also check this interaction store (repeatable); the store beside the "
        "configuration database and those the tenant's runtimes used are always checked.",
    ),
    skip_unreachable: bool = typer.Option(
        False, "--skip-unreachable", help="Remove the agent even if a store cannot be checked."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help=YES_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
    detailed: bool = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Remove an agent and its login; its skills stay (asks first on a terminal; --yes does
    not). Refused while the agent holds interactions in a runtime's store.

    Example: gsetup agent remove alice --yes
    """
    from gsetup.commands.agents import remove_agent

    for url in store or ():
        check_store(url)
    context = open_context(ctx)
    mode = confirmation(dry_run, yes, detailed, as_json)
    plan = mode.apply_plan(
        lambda dry: remove_agent(
            context,
            tenant,
            name,
            dry_run=dry,
            stores=store or (),
            skip_unreachable=skip_unreachable,
        )
    )
    finish_plan(plan, mode, as_json=as_json)


def read_password(source: str | None, *, confirm: bool = True) -> str:
    """The password from ``env:NAME``/``file:PATH`` (as answer files give secrets) or asked
    without echo; refused when not text or (``confirm``: a new one, asked twice) too short,
    naming where it came from (as account passwords are)."""
    from functools import partial

    from gsetup.cli.common import ask_new_secret, ask_password
    from gsetup.configdb.auth import check_password, check_password_text
    from gsetup.wizards.answers import AnswerSource, resolve_secret

    check = check_password if confirm else check_password_text
    if source is not None:
        kind, sep, ref = source.partition(":")
        if not sep or kind not in ("env", "file") or not ref:
            # not echoed: what was typed where env:NAME belongs may be the password itself
            raise BadInputError("--password-from: use env:NAME or file:PATH")
        given = resolve_secret({kind: ref}, AnswerSource("--password-from"), "password")
        return check(given, f"from --password-from {source}")
    instead = "give --password-from env:NAME or file:PATH"
    if confirm:
        typed = partial(check_password, source="typed at the prompt")
        return ask_new_secret("password", ("Agent password: ", "Again: "), instead, typed)
    return check_password_text(ask_password("Agent password: ", instead), "typed at the prompt")


CLIENT_URL_HELP = "The runtime's base URL (default: where the agent logged in)."
LOGIN_URL_HELP = (
    "The runtime's base URL, e.g. http://127.0.0.1:8470 (default: the runtime recorded as "
    "running for the tenant)."
)
AGENT_HELP = "The logged-in agent to act as (default: the only one logged in here)."


@app.command("login")
def login(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The agent's name."),
    password_from: str | None = typer.Option(
        None, "--password-from", help=PASSWORD_FROM.format("once")
    ),
    url: str | None = typer.Option(None, "--url", help=LOGIN_URL_HELP),
    tenant: str = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Log an agent in to a running runtime (not ready); keeps its session for the other
    agent commands.

    Example: gsetup agent login alice --password-from env:AGENT_PW --url http://127.0.0.1:8470
    """
    from gsetup.cli.route import default_url
    from gsetup.commands.runtime_client import agent_login

    password = read_password(password_from, confirm=False)
    _print_agent(agent_login(default_url(ctx, tenant, url), name, password), as_json)


def _presence(action: str) -> Any:
    def command(
        agent: str | None = typer.Option(None, "--agent", help=AGENT_HELP),
        url: str | None = typer.Option(None, "--url", help=CLIENT_URL_HELP),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        from gsetup.commands.runtime_client import agent_action, agent_session

        _print_agent(agent_action(agent_session(agent, url), action), as_json)

    return command


app.command("ready", help="The agent can take interactions.")(_presence("ready"))
app.command("not-ready", help="The agent takes no new interactions; it keeps what it holds.")(
    _presence("not-ready")
)
app.command("logout", help="Log the agent out; offers not yet accepted go back to routing.")(
    _presence("logout")
)


@app.command("offers")
def offers(
    agent: str | None = typer.Option(None, "--agent", help=AGENT_HELP),
    url: str | None = typer.Option(None, "--url", help=CLIENT_URL_HELP),
    wait: float = typer.Option(
        0.0,
        "--wait",
        parser=number(0, 60),
        metavar="SECONDS",
        help="Answer once an interaction is offered (not yet accepted), or after SECONDS "
        "(0 to 60): the runtime holds the request instead of the client polling.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List the interactions offered to or held by the agent."""
    from gsetup.cli.render import print_table
    from gsetup.commands.runtime_client import agent_offers, agent_session

    found = agent_offers(agent_session(agent, url), wait)
    if as_json:
        emit_json(found)
        return
    rows = [(o["interaction_id"], o["state"], o["media_type"], o["text"] or "") for o in found]
    print_table("Offers", ("interaction", "state", "media type", "text"), rows)


def _interaction(action: str) -> Any:
    def command(
        interaction: str = typer.Argument(..., help="The interaction id."),
        agent: str | None = typer.Option(None, "--agent", help=AGENT_HELP),
        url: str | None = typer.Option(None, "--url", help=CLIENT_URL_HELP),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ) -> None:
        from gsetup.commands.runtime_client import agent_action, agent_session

        answer = agent_action(agent_session(agent, url), action, interaction)
        emit_json(answer) if as_json else print(f"{interaction}: {action} done")

    return command


app.command("accept", help="Accept an interaction offered to the agent.")(_interaction("accept"))
app.command("reject", help="Refuse an offer: the interaction is routed again.")(
    _interaction("reject")
)


@app.command("reply")
def reply(
    interaction: str = typer.Argument(..., help="The interaction id (held by the agent)."),
    text: str = typer.Option(..., "--text", help="The reply's text."),
    agent: str | None = typer.Option(None, "--agent", help=AGENT_HELP),
    url: str | None = typer.Option(None, "--url", help=CLIENT_URL_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Reply to a held interaction: the reply goes out through its Business Process.

    Example: gsetup agent reply 019ad1c5e2f1000001a3b4c5 --text "Thanks, we are on it"
    """
    from gsetup.commands.runtime_client import agent_action, agent_session

    body = {"text": text}
    answer = agent_action(agent_session(agent, url), "reply", interaction, body)
    emit_json(answer) if as_json else print(f"{interaction}: reply {answer['reply_id']} sent")


@app.command("done")
def done(
    interaction: str = typer.Argument(..., help="The interaction id (held by the agent)."),
    queue: str | None = typer.Option(
        None, "--queue", help="Queue to place it in (default: its Business Process's stop queue)."
    ),
    agent: str | None = typer.Option(None, "--agent", help=AGENT_HELP),
    url: str | None = typer.Option(None, "--url", help=CLIENT_URL_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Mark a held interaction done: the agent's capacity is freed."""
    from gsetup.commands.runtime_client import agent_action, agent_session

    body = {"queue": queue} if queue else None
    answer = agent_action(agent_session(agent, url), "done", interaction, body)
    emit_json(answer) if as_json else print(f"{interaction}: done")


def _print_agent(status: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(status)
        return
    load = ", ".join(f"{m}={n}" for m, n in sorted(status.get("load", {}).items())) or "none"
    print(f"agent {status['name']}: {status['state']} (load: {load})")
