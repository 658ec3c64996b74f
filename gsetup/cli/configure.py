"""``gsetup configure <step>``: the guide's manual configuration steps (docs/configure.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from gsetup.cli.common import (
    ALL_HELP,
    DEFAULT_TENANT,
    DETAILED_HELP,
    DRY_RUN_HELP,
    JSON_HELP,
    TENANT_HELP,
    confirmation,
    finish_plan,
    open_context,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from gsetup.context import Context
    from gsetup.plan.model import Plan

app = typer.Typer(
    help="The guide's manual configuration steps, planned and applied like any change.",
    no_args_is_help=True,
)

# Every step takes these; one definition each keeps their help identical.
_TENANT = typer.Option(DEFAULT_TENANT, "--tenant", "-t", help=TENANT_HELP)
_DRY_RUN = typer.Option(False, "--dry-run", help=DRY_RUN_HELP)
_DETAILED = typer.Option(False, "--detailed-exitcode", help=DETAILED_HELP)
_JSON = typer.Option(False, "--json", help=JSON_HELP)
_ALL = typer.Option(False, "--all", help=ALL_HELP)
_DMS = typer.Option(
    None, "--dms", help="Digital Messaging Server application; default: the tenant's only one."
)
_WORKSPACE = typer.Option(
    None, "--workspace", help="Workspace Desktop application; default: the tenant's only one."
)
_DBID = typer.Option(
    None,
    "--tenant-dbid",
    help="Genesys tenant DBID of the endpoint section; default: gsetup's id of the tenant "
    "(Environment is 1).",
)


def _channel(driver: str) -> Any:
    return typer.Option(
        None,
        "--channel",
        help=f"One {driver} channel section, e.g. channel-{driver}-acme; default: every "
        f"{driver} channel of the DMS.",
    )


def _finish(
    ctx: typer.Context,
    step: Callable[[Context, bool], Plan],
    flags: tuple[bool, bool, bool, bool],
) -> None:
    """Plan or apply ``step(context, dry_run)``; ``flags``: dry run, detailed, JSON, all.

    A step is one explicit, targeted change (its --dry-run shows it): nothing is asked.
    """
    dry_run, detailed, as_json, show_all = flags
    context = open_context(ctx)
    mode = confirmation(dry_run, False, detailed, as_json)
    plan = mode.apply_plan(lambda dry: step(context, dry), risky=None)
    finish_plan(plan, mode, as_json=as_json, show_all=show_all)


@app.command("twitter-tr")
def twitter_tr(
    ctx: typer.Context,
    grouping_timeout: str = typer.Option(
        ...,
        "--grouping-timeout",
        help="Seconds (10-3600) within which a sender's tweets are grouped.",
    ),
    dms: str | None = _DMS,
    workspace: str | None = _WORKSPACE,
    channel: str | None = _channel("twitter"),
    dbid: int | None = _DBID,
    tenant: str = _TENANT,
    dry_run: bool = _DRY_RUN,
    detailed: bool = _DETAILED,
    as_json: bool = _JSON,
    show_all: bool = _ALL,
) -> None:
    """Deploy Twitter BP - Threaded Routing: grouping-timeout, DMS twitter_queue and the
    Workspace Twitter queues.

    Example: gsetup configure twitter-tr --grouping-timeout 300 --dry-run
    """
    from gsetup.configure.twitter_tr import deploy_twitter_tr

    def step(context: Context, dry: bool) -> Plan:
        return deploy_twitter_tr(
            context,
            tenant,
            grouping_timeout=grouping_timeout,
            dms=dms,
            workspace=workspace,
            channel=channel,
            dbid=dbid,
            dry_run=dry,
        )

    _finish(ctx, step, (dry_run, detailed, as_json, show_all))


@app.command("facebook-private-messaging")
def facebook_private_messaging(
    ctx: typer.Context,
    dms: str | None = _DMS,
    chat_server: str | None = typer.Option(
        None, "--chat-server", help="Chat Server application; default: the tenant's only one."
    ),
    channel: str | None = _channel("facebook"),
    facebook_bp: str = typer.Option(
        "facebook-bp", "--facebook-bp", help="The Facebook BP whose Inbound queue Chat Server uses."
    ),
    dbid: int | None = _DBID,
    tenant: str = _TENANT,
    dry_run: bool = _DRY_RUN,
    detailed: bool = _DETAILED,
    as_json: bool = _JSON,
    show_all: bool = _ALL,
) -> None:
    """Deploy Facebook private messaging: skip-private = false, Chat Server
    FacebookInboundQueue.

    Example: gsetup configure facebook-private-messaging --dms DMS_1
    """
    from gsetup.configure.facebook import deploy_private_messaging

    def step(context: Context, dry: bool) -> Plan:
        return deploy_private_messaging(
            context,
            tenant,
            dms=dms,
            chat_server=chat_server,
            channel=channel,
            facebook_bp=facebook_bp,
            dbid=dbid,
            dry_run=dry,
        )

    _finish(ctx, step, (dry_run, detailed, as_json, show_all))


@app.command("facebook-comments")
def facebook_comments(
    ctx: typer.Context,
    dms: str | None = _DMS,
    channel: str | None = _channel("facebook"),
    facebook_bp: str | None = typer.Option(
        None,
        "--facebook-bp",
        help="facebook-bp, facebook-bp-iwd or facebook-bp-single-comment; default: the "
        "installed one.",
    ),
    tenant: str = _TENANT,
    dry_run: bool = _DRY_RUN,
    detailed: bool = _DETAILED,
    as_json: bool = _JSON,
    show_all: bool = _ALL,
) -> None:
    """Set x-submit-comments-itx for the Facebook BP variant (true: Single Comment Routing).

    Example: gsetup configure facebook-comments --facebook-bp facebook-bp
    """
    from gsetup.configure.facebook import configure_submit_comments

    def step(context: Context, dry: bool) -> Plan:
        return configure_submit_comments(
            context,
            tenant,
            dms=dms,
            channel=channel,
            facebook_bp=facebook_bp,
            dry_run=dry,
        )

    _finish(ctx, step, (dry_run, detailed, as_json, show_all))


@app.command("workspace")
def workspace(
    ctx: typer.Context,
    workspace: str | None = _WORKSPACE,
    facebook_bp: str | None = typer.Option(
        None, "--facebook-bp", help="Facebook BP for the queue options; default: the installed one."
    ),
    twitter_bp: str | None = typer.Option(
        None, "--twitter-bp", help="Twitter BP for the queue options; default: the installed one."
    ),
    emojis: Path | None = typer.Option(
        None,
        "--emojis",
        help="File of emojis, one code point (and display name) a line; default: the guide's.",
    ),
    emoji_attribute: str = typer.Option(
        "Emojis", "--emoji-attribute", help="Business attribute that holds the emojis."
    ),
    skip_emojis: bool = typer.Option(False, "--skip-emojis", help="Leave the emoji picker out."),
    plugin_version: str | None = typer.Option(
        None,
        "--plugin-version",
        help="Version of the Social Media plug-in installed on the desktops, e.g. 8.5.400.86; "
        "recorded for `gsetup doctor`.",
    ),
    settings: list[str] | None = typer.Option(
        None,
        "--set",
        help="A display option of the plug-in, KEY=VALUE (repeatable): a regex, "
        "facebooksession colour, draft workbin, font-name or font-size (docs/configure.md).",
    ),
    tenant: str = _TENANT,
    dry_run: bool = _DRY_RUN,
    detailed: bool = _DETAILED,
    as_json: bool = _JSON,
    show_all: bool = _ALL,
) -> None:
    """Configure the Social Media plug-in: queue options, media filters, emoji picker and
    font, display options, and the plug-in's recorded version.

    Example: gsetup configure workspace --set twitter.font-size=16 --plugin-version 8.5.400.86
    """
    from gsetup.configure.workspace import configure_workspace
    from gsetup.wizards.collect import can_ask

    def step(context: Context, dry: bool) -> Plan:
        return configure_workspace(
            context,
            tenant,
            workspace=workspace,
            facebook_bp=facebook_bp,
            twitter_bp=twitter_bp,
            emojis=emojis,
            emoji_attribute=emoji_attribute,
            skip_emojis=skip_emojis,
            dry_run=dry,
            plugin_version=plugin_version,
            settings=settings or [],
            ask_version=_ask_plugin_version if can_ask() and not dry else None,
        )

    _finish(ctx, step, (dry_run, detailed, as_json, show_all))


def _ask_plugin_version() -> str:
    """The version typed, re-asked until it is one (or empty: skipped); Ctrl-C raises
    KeyboardInterrupt (gsetup's one line ``interrupted``, not questionary's own)."""
    from gsetup.configure.workspace import plugin_version_option
    from gsetup.errors import BadInputError
    from gsetup.wizards.collect import Prompter
    from gsetup.wizards.questions import Question

    question = Question(
        "plugin_version",
        "Version of the Social Media plug-in on the agents' desktops (e.g. 8.5.400.86; "
        "Enter to skip):",
        "The --plugin-version recorded for gsetup doctor.",
    )
    prompter = Prompter()
    while True:
        answer = str(prompter.ask(question, "", None)).strip()
        if not answer:
            return answer
        try:
            plugin_version_option(answer, "version")
        except BadInputError as exc:
            print(f"{exc} (Enter skips)", file=sys.stderr)
            continue
        return answer


@app.command("twitter-compliance")
def twitter_compliance(
    ctx: typer.Context,
    tenant: str = _TENANT,
    dry_run: bool = _DRY_RUN,
    detailed: bool = _DETAILED,
    as_json: bool = _JSON,
    show_all: bool = _ALL,
) -> None:
    """Create the ComplianceId interaction attribute (annex settings/is-sortable = true).

    Example: gsetup configure twitter-compliance
    """
    from gsetup.configure.attributes import enable_twitter_compliance

    def step(context: Context, dry: bool) -> Plan:
        return enable_twitter_compliance(context, tenant, dry_run=dry)

    _finish(ctx, step, (dry_run, detailed, as_json, show_all))


@app.command("twitterdirect")
def twitterdirect(
    ctx: typer.Context,
    tenant: str = _TENANT,
    dry_run: bool = _DRY_RUN,
    detailed: bool = _DETAILED,
    as_json: bool = _JSON,
    show_all: bool = _ALL,
) -> None:
    """Add the media type twitterdirect with the same values as twitter.

    Example: gsetup configure twitterdirect --tenant Environment
    """
    from gsetup.configure.attributes import add_twitterdirect

    def step(context: Context, dry: bool) -> Plan:
        return add_twitterdirect(context, tenant, dry_run=dry)

    _finish(ctx, step, (dry_run, detailed, as_json, show_all))


@app.command("delay-updates")
def delay_updates(
    ctx: typer.Context,
    servers: list[str] | None = typer.Option(
        None,
        "--interaction-server",
        help="Interaction Server application (repeatable); default: all of the tenant's.",
    ),
    tenant: str = _TENANT,
    dry_run: bool = _DRY_RUN,
    detailed: bool = _DETAILED,
    as_json: bool = _JSON,
    show_all: bool = _ALL,
) -> None:
    """Set Interaction Server settings/delay-updates = false (the BPs' merge needs it).

    Example: gsetup configure delay-updates --interaction-server IXN_1
    """
    from gsetup.configure.interaction_server import disable_delay_updates

    def step(context: Context, dry: bool) -> Plan:
        return disable_delay_updates(context, tenant, servers=servers or [], dry_run=dry)

    _finish(ctx, step, (dry_run, detailed, as_json, show_all))


@app.command("dms-utf8")
def dms_utf8(
    ctx: typer.Context,
    dms: str | None = _DMS,
    tenant: str = _TENANT,
    dry_run: bool = _DRY_RUN,
    detailed: bool = _DETAILED,
    as_json: bool = _JSON,
    show_all: bool = _ALL,
) -> None:
    """Add the UTF-8 Java arguments to [JavaArgs] of the DMS's JavaServerStarter.ini (a backup
    is kept).

    Example: gsetup configure dms-utf8 --dms DMS_1 --dry-run
    """
    from gsetup.configure.javaargs import add_utf8_java_args

    def step(context: Context, dry: bool) -> Plan:
        return add_utf8_java_args(context, tenant, dms=dms, dry_run=dry)

    _finish(ctx, step, (dry_run, detailed, as_json, show_all))
