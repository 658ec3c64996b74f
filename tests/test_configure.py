"""``gsetup configure <step>``: each of the guide's manual steps on SQLite and PostgreSQL.

Business Processes are created through the plan engine as the installer would create them
(its objects, queues and media types); applications and their driver channels likewise.
"""

from __future__ import annotations

import re
import shlex
import stat
from pathlib import Path
from typing import Any

import pytest

from gsetup.configdb.database import open_database
from gsetup.drivers.optionfile import driver_defaults
from gsetup.drivers.specs import Driver, channel_section
from gsetup.packages.attributes import MEDIA_TYPE
from gsetup.packages.catalogue import get_package
from gsetup.plan.apply import Operation, apply_state
from gsetup.state import DesiredObject, DesiredState, object_path, options
from tests.helpers import in_a_terminal, run_cli, snapshot

REPO_ROOT = Path(__file__).resolve().parent.parent
SOCIAL = "facebook,facebooksession,facebookprivatemessage,twitter,twitterdirect"
INI = "[JavaArgs]\n-Xmx512m\n-Dsun.net.inetaddr.ttl=60\n\n[JavaClass]\nClass = DMS\n"


# -- building a tenant ------------------------------------------------------------------------


def apply(url: str, state: DesiredState) -> None:
    """Apply ``state`` directly through the plan engine."""
    db = open_database(url)
    try:
        apply_state(db.engine, state, Operation("test setup", "tester"))
    finally:
        db.engine.dispose()


def install_bp(
    url: str, *names: str, leave_out: tuple[str, ...] = (), tenant: str = "Environment"
) -> None:
    """Create what installing the packages creates that the steps read: the Business
    Process, its queues and the package's media types but those in ``leave_out``."""
    for name in names:
        package = get_package(name)
        state = DesiredState(tenant, owner=name)
        bp = object_path("business_process", package.title)
        state.add(
            DesiredObject("business_process", bp, {"package": name, "version": package.version})
        )
        for queue in package.queues:
            state.add(
                DesiredObject("queue", object_path("queue", queue.name), {"business_process": bp})
            )
        values = [
            v for v in package.values if v.attribute is MEDIA_TYPE and v.name not in leave_out
        ]
        if values:
            state.add(
                DesiredObject(
                    "business_attribute", object_path("business_attribute", MEDIA_TYPE.name)
                )
            )
        for value in values:
            path = object_path("attribute_value", MEDIA_TYPE.name, value.name)
            state.add(
                DesiredObject(
                    "attribute_value",
                    path,
                    {"display_name": value.display_name, "description": value.description},
                    options({"general": {"origin": name}}),
                )
            )
        apply(url, state)


def add_app(
    url: str,
    name: str,
    app_type: str,
    sections: dict[str, dict[str, str]] | None = None,
    *,
    working_dir: str = "",
    tenant: str = "Environment",
) -> None:
    """An application with options."""
    attrs = {"app_type": app_type, "working_dir": working_dir}
    obj = DesiredObject(
        "application", object_path("application", name), attrs, options(sections or {})
    )
    apply(url, DesiredState(tenant, [obj]))


def channel(driver: Driver, name: str | None = None, **extra: str) -> dict[str, dict[str, str]]:
    """A driver's channel section as its options file installs it, plus ``extra``."""
    return {channel_section(driver, name): {**driver_defaults(driver), **extra}}


def app_options(name: str, tenant: str = "Environment") -> dict[str, dict[str, str]]:
    """An application's options as ``gsetup app show`` gives them."""
    shown = run_cli("app", "show", name, "--tenant", tenant, "--json")
    assert shown.exit_code == 0, shown.stderr
    result: dict[str, dict[str, str]] = shown.json()["options"]
    return result


def annex(path: str) -> dict[str, Any]:
    """An object's annex and fields as ``gsetup object show`` gives them."""
    shown = run_cli("object", "show", f"Environment/{path}", "--json")
    assert shown.exit_code == 0, shown.stderr
    result: dict[str, Any] = shown.json()
    return result


def twice(url: str, *args: str) -> dict[str, Any]:
    """Apply a step, check a second plan and a second apply change nothing; the first
    result as JSON."""
    first = run_cli(*args, "--json")
    assert first.exit_code == 0, first.stderr
    rows = snapshot(url)
    dry = run_cli(*args, "--dry-run", "--detailed-exitcode")
    assert dry.exit_code == 0, dry.stdout + dry.stderr
    assert "Nothing to change" in dry.stdout
    second = run_cli(*args, "--json")
    assert second.exit_code == 0, second.stderr
    summary = second.json()["summary"]
    assert summary["create"] == summary["update"] == summary["delete"] == 0
    assert snapshot(url) == rows
    result: dict[str, Any] = first.json()
    return result


def refused(url: str, *args: str) -> str:
    """Run a step that must be refused: exit 2, nothing written; its error message."""
    before = snapshot(url)
    result = run_cli(*args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert snapshot(url) == before
    return result.stderr


@pytest.fixture
def social(db_url: str) -> str:
    """A tenant with a DMS (Facebook and Twitter channels), Chat Server, Workspace and two
    Interaction Servers."""
    add_app(
        db_url, "DMS_1", "DigitalMessagingServer", {**channel("facebook"), **channel("twitter")}
    )
    add_app(db_url, "ChatServer_1", "ChatServer", {"endpoints:1": {"default": "Chat In"}})
    add_app(
        db_url, "WDE", "WorkspaceDesktop", {"interaction-workspace": {"chat.default-queue": "x"}}
    )
    add_app(db_url, "IXN_1", "InteractionServer")
    add_app(db_url, "IXN_2", "InteractionServer", {"settings": {"delay-updates": "true"}})
    return db_url


# -- Twitter BP - Threaded Routing ------------------------------------------------------------


def test_twitter_tr_sets_grouping_timeout_access_point_and_desktop_queues(social: str) -> None:
    install_bp(social, "twitter-bp-tr")
    result = twice(social, "configure", "twitter-tr", "--grouping-timeout", "30")
    assert result["summary"] == {"create": 4, "update": 0, "delete": 0, "keep": 2}
    dms = app_options("DMS_1")
    assert dms["channel-twitter"]["grouping-timeout"] == "30"
    assert "grouping-timeout" not in dms["channel-facebook"]
    assert dms["endpoints:1"] == {"twitter_queue": "Twitter TR Inbound Queue"}
    wde = app_options("WDE")["interaction-workspace"]
    assert wde["twitter.default-queue"] == "Twitter TR Outbound Init Queue"
    assert wde["twitter.outbound-queue"] == "Twitter TR Outbound Queue"
    assert wde["chat.default-queue"] == "x"

    changed = run_cli(
        "configure", "twitter-tr", "--grouping-timeout", "0120", "--tenant-dbid", "101"
    )
    assert changed.exit_code == 0, changed.stderr
    dms = app_options("DMS_1")
    assert dms["channel-twitter"]["grouping-timeout"] == "120"  # canonical, as the specs say
    assert dms["endpoints:101"] == {"twitter_queue": "Twitter TR Inbound Queue"}


def test_twitter_tr_one_named_channel(social: str) -> None:
    install_bp(social, "twitter-bp-tr")
    add_app(social, "DMS_1", "DigitalMessagingServer", channel("twitter", "acme"))
    result = run_cli(
        "configure", "twitter-tr", "--dms", "DMS_1", "--workspace", "WDE",
        "--channel", "channel-twitter-acme", "--grouping-timeout", "3600",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    dms = app_options("DMS_1")
    assert dms["channel-twitter-acme"]["grouping-timeout"] == "3600"
    assert "grouping-timeout" not in dms["channel-twitter"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grouping-timeout", "9"], "use a whole number from 10 to 3600"),
        (["--grouping-timeout", "3601"], "use a whole number from 10 to 3600"),
        (["--grouping-timeout", "soon"], "[channel-twitter] grouping-timeout: 'soon'"),
        (
            ["--grouping-timeout", "30", "--dms", "WDE"],
            "is a WorkspaceDesktop, not a DigitalMessagingServer",
        ),
        (["--grouping-timeout", "30", "--workspace", "DMS_1"], "not a WorkspaceDesktop"),
        (["--grouping-timeout", "30", "--dms", "nope"], "no application 'nope'"),
        (["--grouping-timeout", "30", "--channel", "channel-twitter-x"], "no twitter channel"),
        (["--grouping-timeout", "30", "--tenant-dbid", "0"], "at least 1"),
    ],
)
def test_twitter_tr_refuses_bad_input(social: str, args: list[str], message: str) -> None:
    install_bp(social, "twitter-bp-tr")
    assert message in refused(social, "configure", "twitter-tr", *args)


def test_twitter_tr_needs_the_bp_and_the_driver(social: str) -> None:
    assert "install the Business Process first" in refused(
        social, "configure", "twitter-tr", "--grouping-timeout", "30"
    )
    install_bp(social, "twitter-bp-tr")
    add_app(
        social,
        "DMS_2",
        "DigitalMessagingServer",
        {"channel-twitter": {"x-inbound-media": "twitter"}},
    )
    error = refused(social, "configure", "twitter-tr", "--dms", "DMS_2", "--grouping-timeout", "30")
    assert "DMS_2 has no twitter channel" in error
    assert "several DigitalMessagingServer applications (DMS_1, DMS_2)" in refused(
        social, "configure", "twitter-tr", "--grouping-timeout", "30"
    )


# -- Facebook ---------------------------------------------------------------------------------


def test_facebook_private_messaging(social: str) -> None:
    install_bp(social, "facebook-bp")
    result = twice(social, "configure", "facebook-private-messaging")
    assert result["summary"]["create"] == 3 and result["summary"]["update"] == 1
    dms = app_options("DMS_1")
    assert dms["channel-facebook"]["skip-private"] == "false"
    # The route names the access point Chat Server and DMS both define, on the same queue.
    assert dms["channel-facebook"]["inbound-route"] == "1:FacebookInboundQueue"
    assert dms["endpoints:1"] == {"FacebookInboundQueue": "Facebook Inbound Queue"}
    assert dms["channel-twitter"]["inbound-route"] == "1:twitter_queue"
    chat = app_options("ChatServer_1")
    assert chat["endpoint:1"] == {"FacebookInboundQueue": "Facebook Inbound Queue"}
    assert chat["endpoints:1"] == {"default": "Chat In"}


def test_facebook_private_messaging_keeps_the_session_endpoint(social: str) -> None:
    install_bp(social, "facebook-bp")
    route = {"inbound-route": "101:facebook_queue,101:fb_sessions"}
    add_app(social, "DMS_1", "DigitalMessagingServer", {"channel-facebook": route})
    twice(social, "configure", "facebook-private-messaging", "--tenant-dbid", "101")
    dms = app_options("DMS_1")
    assert dms["channel-facebook"]["inbound-route"] == "101:FacebookInboundQueue,101:fb_sessions"
    assert dms["endpoints:101"] == {"FacebookInboundQueue": "Facebook Inbound Queue"}
    assert app_options("ChatServer_1")["endpoint:101"] == {
        "FacebookInboundQueue": "Facebook Inbound Queue"
    }


def test_facebook_private_messaging_refuses_bad_input(social: str) -> None:
    error = refused(social, "configure", "facebook-private-messaging")
    assert "'Facebook Inbound Queue' of Facebook BP is not in tenant" in error
    install_bp(social, "facebook-bp")
    error = refused(social, "configure", "facebook-private-messaging", "--chat-server", "IXN_1")
    assert "is an InteractionServer, not a ChatServer" in error
    error = refused(social, "configure", "facebook-private-messaging", "--facebook-bp", "rss-bp")
    assert "does not fit here" in error


def test_facebook_comments_follow_the_installed_variant(social: str) -> None:
    install_bp(social, "facebook-bp-single-comment")
    twice(social, "configure", "facebook-comments")
    assert app_options("DMS_1")["channel-facebook"]["x-submit-comments-itx"] == "true"
    install_bp(social, "facebook-bp")
    error = refused(social, "configure", "facebook-comments")
    assert "need different x-submit-comments-itx values" in error
    result = run_cli("configure", "facebook-comments", "--facebook-bp", "facebook-bp")
    assert result.exit_code == 0, result.stderr
    assert app_options("DMS_1")["channel-facebook"]["x-submit-comments-itx"] == "false"
    assert "not allowed" in refused(
        social, "configure", "facebook-comments", "--facebook-bp", "rss-bp"
    )


# -- Workspace --------------------------------------------------------------------------------


def test_workspace_queues_filters_and_emojis(social: str) -> None:
    install_bp(social, "facebook-bp", "twitter-bp")
    add_app(
        social,
        "WDE",
        "WorkspaceDesktop",
        {"interaction-workspace": {"contact.history.media-filters": "email, twitter,chat"}},
    )
    result = twice(social, "configure", "workspace")
    assert result["applied"] is True
    wde = app_options("WDE")["interaction-workspace"]
    assert wde["facebook.default-queue"] == "Facebook Outbound Init Queue"
    assert wde["facebook.outbound-queue"] == "Facebook Outbound Queue"
    assert wde["twitter.default-queue"] == "Twitter Outbound Init Queue"
    assert wde["twitter.outbound-queue"] == "Twitter Outbound Queue"
    # Kept as it was, the missing ones appended once.
    assert wde["contact.history.media-filters"] == (
        "email, twitter,chat,facebook,facebooksession,facebookprivatemessage,twitterdirect"
    )
    assert wde["facebook.emojis-business-attribute"] == "Emojis"
    assert wde["twitter.emojis-business-attribute"] == "Emojis"
    emoji = annex("Business Attributes/Emojis/1F610")
    assert emoji["options"] == {"interaction-workspace": {"code": "1F610"}}
    assert emoji["attrs"]["display_name"] == "Neutral face"
    assert annex("Business Attributes/Emojis/1F607")["attrs"]["display_name"] == (
        "Smiling face with halo"
    )


def test_workspace_media_filters_when_absent_or_complete(social: str) -> None:
    install_bp(social, "twitter-bp-tr")
    result = run_cli("configure", "workspace", "--skip-emojis")
    assert result.exit_code == 0, result.stderr
    wde = app_options("WDE")["interaction-workspace"]
    assert wde["contact.history.media-filters"] == SOCIAL
    assert wde["twitter.default-queue"] == "Twitter TR Outbound Init Queue"
    assert "facebook.default-queue" not in wde  # no Facebook BP: nothing to point at
    assert "twitter.emojis-business-attribute" not in wde
    assert run_cli("object", "show", "Environment/Business Attributes/Emojis").exit_code == 2


def test_workspace_emojis_from_a_file(social: str, tmp_path: Path) -> None:
    install_bp(social, "facebook-bp")
    emojis = tmp_path / "emojis.txt"
    # As a Windows editor saves it: byte-order mark, CRLF, a tab between code and name.
    emojis.write_text(
        "\ufeff# code point, display name\r\n1f600\tGrinning\r\n\r\nU+1F44D\r\n", encoding="utf-8"
    )
    twice(
        social,
        "configure",
        "workspace",
        "--emojis",
        str(emojis),
        "--emoji-attribute",
        "FacebookEmojis",
    )
    grinning = annex("Business Attributes/FacebookEmojis/1F600")
    assert grinning["attrs"]["display_name"] == "Grinning"
    assert grinning["options"] == {"interaction-workspace": {"code": "1F600"}}
    assert annex("Business Attributes/FacebookEmojis/1F44D")["attrs"]["display_name"] == (
        "Thumbs up sign"
    )
    assert app_options("WDE")["interaction-workspace"]["facebook.emojis-business-attribute"] == (
        "FacebookEmojis"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1F600\nsmile\n", "line 2: 'smile' is not a Unicode code point in hexadecimal"),
        ("1F600\n110000\n", "line 2: '110000' is not a Unicode code point"),
        ("D800\n", "line 1: 'D800'"),
        ("1F600 a\n1f600 b\n", "line 2: emoji 1F600 is listed twice"),
        ("# nothing\n", "lists no emoji"),
    ],
)
def test_workspace_refuses_bad_emoji_files(
    social: str, tmp_path: Path, content: str, message: str
) -> None:
    install_bp(social, "facebook-bp")
    emojis = tmp_path / "emojis.txt"
    emojis.write_text(content, encoding="utf-8")
    assert message in refused(social, "configure", "workspace", "--emojis", str(emojis))


def test_workspace_display_options_font_and_plugin_version(social: str) -> None:
    install_bp(social, "facebook-bp")
    twice(
        social, "configure", "workspace", "--plugin-version", "8.5.400.86",
        "--set", "twitter.font-size=16", "--set", "facebook.url-regex=https?://\\S+",
        "--set", "twitter.mention-regex=@(?<user>\\w+)",
        "--set", "facebooksession.background-color-agent=#E7F3FF",
        "--set", "workbin.twitter.draft=Twitter Drafts",
    )  # fmt: skip
    wde = app_options("WDE")
    assert (
        wde["interaction-workspace"].items()
        >= {
            "facebook.font-name": "Segoe UI Emoji",  # the guide's emoji font, with the picker
            "twitter.font-name": "Segoe UI Emoji",
            "twitter.font-size": "16",
            "facebook.url-regex": "https?://\\S+",
            "twitter.mention-regex": "@(?<user>\\w+)",
            "facebooksession.background-color-agent": "#E7F3FF",
            "workbin.twitter.draft": "Twitter Drafts",
        }.items()
    )
    assert "facebook.font-size" not in wde["interaction-workspace"]  # 14 unless changed
    assert wde["gsetup-plugin"] == {"version": "8.5.400.86"}
    # Without the picker the font is left alone; a font given is set.
    twice(social, "configure", "workspace", "--skip-emojis", "--set", "facebook.font-name=Arial")
    assert app_options("WDE")["interaction-workspace"]["facebook.font-name"] == "Arial"


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("facebook.url-regex=(unclosed", "is not a regular expression"),
        ("facebooksession.background-color-client=blue", "use a hexadecimal colour"),
        ("twitter.font-size=0", "from 1 to 400 (the plug-in's default is 14)"),
        ("twitter.font-size=\u0661\u0666", "from 1 to 400"),  # Arabic-Indic 16
        ("twitter.font-size=+16", "'+16' is not allowed; use a whole number of points"),  # was 16
        ("facebook.nope=1", "use KEY=VALUE with KEY one of: facebook.url-regex"),
        ("twitter.font-size", "use KEY=VALUE"),
        ("workbin.facebook.draft= ", "give a name"),
        # Option values are one line of text: no line break nor control, C1 ones included.
        (
            "twitter.url-regex=a\nb",
            "[interaction-workspace] twitter.url-regex: the value holds a line break",
        ),
        (
            "facebook.font-name=Segoe\x85UI",
            "font-name: the value holds a control character (U+0085)",
        ),
    ],
)
def test_workspace_refuses_bad_display_options(social: str, given: str, words: str) -> None:
    install_bp(social, "facebook-bp")
    assert words in refused(social, "configure", "workspace", "--set", given)


def test_workspace_refuses_a_display_option_given_twice(social: str) -> None:
    install_bp(social, "facebook-bp")
    twice_given = ("--set", "twitter.font-size=16", "--set", "twitter.font-size= 18")
    assert refused(social, "configure", "workspace", "--skip-emojis", *twice_given) == (
        "gsetup: error: --set twitter.font-size given twice; give each key once\n"
    )


def test_workspace_asks_for_the_plugin_version_until_one_is_recorded(social: str) -> None:
    from gsetup.configure.workspace import configure_workspace
    from gsetup.context import connect

    install_bp(social, "facebook-bp")
    answers = ["", "8.5.400.90"]  # Enter skips; then a version

    def ask() -> str:
        return answers.pop(0)

    ctx = connect(None)
    try:
        for _run in range(3):
            configure_workspace(
                ctx, "Environment", workspace=None, facebook_bp=None, twitter_bp=None,
                emojis=None, emoji_attribute="Emojis", skip_emojis=True, dry_run=False,
                ask_version=ask,
            )  # fmt: skip
    finally:
        ctx.db.engine.dispose()
    assert answers == []  # asked twice, not a third time: a version is recorded
    assert app_options("WDE")["gsetup-plugin"] == {"version": "8.5.400.90"}


def test_workspace_reasks_a_plugin_version_typed_wrong_and_ctrl_c_stops_it(
    social: str, tmp_path: Path
) -> None:
    """At the terminal: Ctrl-C at the question exits 130 with the one line `interrupted`,
    nothing written; a wrong version is re-asked, saying what is allowed, not an exit."""
    import pexpect

    install_bp(social, "facebook-bp")
    before = snapshot(social)
    step = "$GSETUP configure workspace --skip-emojis"
    child = in_a_terminal(step, social, tmp_path)
    try:
        child.expect("plug-in on the agents' desktops")
        child.send("\x03")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    said = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", child.before).splitlines()
    assert [line for line in said if line.strip()][-1] == "interrupted"
    assert "Cancelled by user" not in child.before  # questionary's own line: one line only
    assert snapshot(social) == before

    child = in_a_terminal(step, social, tmp_path)
    try:
        child.expect("plug-in on the agents' desktops")
        child.send("latest\r")
        child.expect("'latest' is not allowed; use the plug-in's version as Genesys numbers it")
        child.expect("plug-in on the agents' desktops")
        child.send("8.5.400.90\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert app_options("WDE")["gsetup-plugin"] == {"version": "8.5.400.90"}


def test_workspace_refuses_a_plugin_version_that_is_not_one(social: str) -> None:
    install_bp(social, "facebook-bp")
    error = refused(social, "configure", "workspace", "--plugin-version", "latest")
    assert "--plugin-version 'latest' is not allowed" in error


def test_workspace_refuses_without_bp_or_with_two(social: str) -> None:
    assert "has no Facebook or Twitter Business Process" in refused(
        social, "configure", "workspace"
    )
    install_bp(social, "twitter-bp", "twitter-bp-tr")
    error = refused(social, "configure", "workspace")
    assert "several twitter Business Processes (twitter-bp, twitter-bp-tr)" in error
    assert "not a WorkspaceDesktop" in refused(
        social, "configure", "workspace", "--workspace", "IXN_1"
    )
    error = refused(social, "configure", "workspace", "--emoji-attribute", "Emo/jis")
    assert "invalid business attribute name 'Emo/jis'" in error
    result = run_cli("configure", "workspace", "--twitter-bp", "twitter-bp-tr", "--skip-emojis")
    assert result.exit_code == 0, result.stderr


def test_workspace_merge_refuses_a_filter_changed_meanwhile(
    social: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The merge is computed from a read; a change between the read and the apply would be
    lost, so the apply rolls back instead."""
    from gsetup.configure import workspace

    install_bp(social, "facebook-bp")
    real = workspace.read_tenant

    def read_then_change(*args: Any, **kwargs: Any) -> Any:
        snap = real(*args, **kwargs)
        key = {"interaction-workspace": {"contact.history.media-filters": "email"}}
        add_app(social, "WDE", "WorkspaceDesktop", key)
        return snap

    monkeypatch.setattr(workspace, "read_tenant", read_then_change)
    result = run_cli("configure", "workspace")
    assert result.exit_code == 2 and "changed while gsetup was planning" in result.stderr
    assert app_options("WDE")["interaction-workspace"]["contact.history.media-filters"] == "email"


# -- business attributes ----------------------------------------------------------------------


def test_twitter_compliance(social: str) -> None:
    result = twice(social, "configure", "twitter-compliance")
    assert result["summary"]["create"] == 3  # the attribute, the value, its annex option
    value = annex("Business Attributes/InteractionAttributes/ComplianceId")
    assert value["attrs"]["display_name"] == "ComplianceId"
    assert value["attrs"]["description"] == "Twitter ComplianceId"
    assert value["options"] == {"settings": {"is-sortable": "true"}}
    attribute = annex("Business Attributes/InteractionAttributes")
    assert attribute["attrs"]["display_name"] == "Interaction Attributes"


def test_twitter_compliance_keeps_an_existing_attribute(social: str) -> None:
    path = object_path("business_attribute", "InteractionAttributes")
    apply(
        social,
        DesiredState(
            "Environment", [DesiredObject("business_attribute", path, {"display_name": "Mine"})]
        ),
    )
    twice(social, "configure", "twitter-compliance")
    assert annex(path)["attrs"]["display_name"] == "Mine"


def test_twitterdirect_copies_twitter(social: str) -> None:
    assert "no media type 'twitter'" in refused(social, "configure", "twitterdirect")
    install_bp(social, "twitter-bp-tr", leave_out=("twitterdirect",))
    result = twice(social, "configure", "twitterdirect")
    assert result["summary"]["create"] == 2  # the value and its annex option
    direct = annex("Business Attributes/Media Type/twitterdirect")
    twitter = annex("Business Attributes/Media Type/twitter")
    assert direct["attrs"]["display_name"] == "twitterdirect"
    assert direct["attrs"]["description"] == twitter["attrs"]["description"]
    assert direct["options"] == twitter["options"] == {"general": {"origin": "twitter-bp-tr"}}


# -- Interaction Server -----------------------------------------------------------------------


def test_delay_updates_on_every_interaction_server(social: str) -> None:
    result = twice(social, "configure", "delay-updates")
    assert result["summary"] == {"create": 1, "update": 1, "delete": 0, "keep": 2}
    assert app_options("IXN_1")["settings"] == {"delay-updates": "false"}
    assert app_options("IXN_2")["settings"] == {"delay-updates": "false"}


def test_delay_updates_on_named_servers_only(social: str) -> None:
    result = run_cli("configure", "delay-updates", "--interaction-server", "IXN_2")
    assert result.exit_code == 0, result.stderr
    assert app_options("IXN_2")["settings"] == {"delay-updates": "false"}
    assert app_options("IXN_1") == {}
    error = refused(social, "configure", "delay-updates", "--interaction-server", "DMS_1")
    assert (
        "application 'DMS_1' is a DigitalMessagingServer, not an InteractionServer: give an "
        "InteractionServer with --interaction-server" in error
    )


def test_delay_updates_needs_an_interaction_server(db_url: str) -> None:
    assert "has no InteractionServer application" in refused(db_url, "configure", "delay-updates")


# -- JavaServerStarter.ini --------------------------------------------------------------------


def _dms_dir(url: str, tmp_path: Path, content: str | bytes | None = INI) -> Path:
    directory = tmp_path / "dms"
    directory.mkdir()
    if content is not None:
        data = content.encode() if isinstance(content, str) else content
        (directory / "JavaServerStarter.ini").write_bytes(data)
    add_app(url, "DMS_1", "DigitalMessagingServer", working_dir=str(directory))
    return directory


def test_dms_utf8_adds_the_arguments_once_and_keeps_a_backup(db_url: str, tmp_path: Path) -> None:
    directory = _dms_dir(db_url, tmp_path)
    ini = directory / "JavaServerStarter.ini"
    dry = run_cli("configure", "dms-utf8", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert [c["action"] for c in dry.json()["changes"]] == ["create"] * 3
    assert ini.read_text() == INI and list(directory.iterdir()) == [ini]

    applied = run_cli("configure", "dms-utf8")
    assert applied.exit_code == 0, applied.stderr
    assert "3 to create" in applied.stdout
    assert ini.read_text() == (
        "[JavaArgs]\n-Xmx512m\n-Dsun.net.inetaddr.ttl=60\n-Dfile.encoding=UTF-8\n"
        "-Dfile.client.encoding=UTF-8\n-Dclient.encoding.override=UTF-8\n\n"
        "[JavaClass]\nClass = DMS\n"
    )
    backups = sorted(directory.glob("JavaServerStarter.ini.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == INI
    assert re.fullmatch(r"JavaServerStarter\.ini\.bak-\d{8}T\d{6}Z", backups[0].name)

    (entry,) = [
        h for h in run_cli("history", "--json").json() if h["operation"] == "configure dms-utf8"
    ]
    assert entry["summary"]["create"] == 3  # a file-only change is recorded too

    again = run_cli("configure", "dms-utf8", "--json")
    assert again.json()["summary"] == {"create": 0, "update": 0, "delete": 0, "keep": 3}
    assert (
        len(
            [
                h
                for h in run_cli("history", "--json").json()
                if h["operation"] == "configure dms-utf8"
            ]
        )
        == 1
    )
    assert sorted(directory.iterdir()) == [ini, backups[0]]  # no second backup
    dry = run_cli("configure", "dms-utf8", "--dry-run", "--detailed-exitcode")
    assert dry.exit_code == 0


def test_dms_utf8_backup_is_as_private_as_the_file(db_url: str, tmp_path: Path) -> None:
    """The file may hold a key store's password (-Djavax.net.ssl.keyStorePassword=...): its
    backup was made 0644 whatever the file's mode, readable by every user of the host."""
    secret = "-Djavax.net.ssl.keyStorePassword=ks-pass\n"
    directory = _dms_dir(db_url, tmp_path, INI.replace("-Xmx512m\n", "-Xmx512m\n" + secret))
    ini = directory / "JavaServerStarter.ini"
    ini.chmod(0o600)
    assert run_cli("configure", "dms-utf8").exit_code == 0
    (backup,) = directory.glob("JavaServerStarter.ini.bak-*")
    assert "ks-pass" in backup.read_text()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(ini.stat().st_mode) == 0o600


def test_dms_utf8_replaces_another_encoding_and_keeps_crlf(db_url: str, tmp_path: Path) -> None:
    original = b"[JavaArgs]\r\n-Dfile.encoding=Cp1252\r\n-Dclient.encoding.override=UTF-8\r\n"
    directory = _dms_dir(db_url, tmp_path, original + b"[JavaClass]\r\nClass = DMS")
    result = run_cli("configure", "dms-utf8", "--json")
    assert result.exit_code == 0, result.stderr
    changes = {c["key"]: c for c in result.json()["changes"]}
    assert changes["-Dfile.encoding=UTF-8"]["before"] == "-Dfile.encoding=Cp1252"
    assert [changes[k]["action"] for k in sorted(changes)] == ["keep", "create", "update"]
    assert (directory / "JavaServerStarter.ini").read_bytes() == (
        b"[JavaArgs]\r\n-Dfile.encoding=UTF-8\r\n-Dclient.encoding.override=UTF-8\r\n"
        b"-Dfile.client.encoding=UTF-8\r\n[JavaClass]\r\nClass = DMS"
    )


def test_dms_utf8_last_line_without_newline(db_url: str, tmp_path: Path) -> None:
    directory = _dms_dir(db_url, tmp_path, "[JavaArgs]\n-Xmx512m")
    assert run_cli("configure", "dms-utf8").exit_code == 0
    assert (directory / "JavaServerStarter.ini").read_text() == (
        "[JavaArgs]\n-Xmx512m\n-Dfile.encoding=UTF-8\n-Dfile.client.encoding=UTF-8\n"
        "-Dclient.encoding.override=UTF-8\n"
    )


def test_dms_utf8_refuses_what_it_cannot_edit(db_url: str, tmp_path: Path) -> None:
    add_app(db_url, "DMS_1", "DigitalMessagingServer")
    error = refused(db_url, "configure", "dms-utf8")
    assert "has no working directory" in error and "gsetup app update DMS_1 --working-dir" in error
    add_app(db_url, "DMS_1", "DigitalMessagingServer", working_dir=str(tmp_path / "gone"))
    assert "is not a directory on this machine" in refused(db_url, "configure", "dms-utf8")
    add_app(db_url, "DMS_1", "DigitalMessagingServer", working_dir=str(tmp_path))
    assert "JavaServerStarter.ini does not exist" in refused(db_url, "configure", "dms-utf8")
    (tmp_path / "JavaServerStarter.ini").write_text("[JavaClass]\nClass = DMS\n")
    assert "has no [JavaArgs] section" in refused(db_url, "configure", "dms-utf8")
    (tmp_path / "JavaServerStarter.ini").write_text("[JavaArgs]\n-Xmx1g\n[x]\n[javaargs]\n-Da=b\n")
    assert "has [JavaArgs] more than once (lines 1 and 4)" in refused(
        db_url, "configure", "dms-utf8"
    )
    assert list(tmp_path.glob("*.bak-*")) == []


def test_dms_utf8_leaves_one_value_of_each_property(db_url: str, tmp_path: Path) -> None:
    directory = _dms_dir(
        db_url,
        tmp_path,
        "[JavaArgs]\n-Dfile.encoding=Cp1252\n-Dfile.encoding=UTF-8\n"
        "-Dclient.encoding.override=latin1\n-Xmx512m\n-Dclient.encoding.override=Cp1252\n",
    )
    dry = run_cli("configure", "dms-utf8", "--dry-run")
    assert "- delete" in dry.stdout and "was '-Dfile.encoding=Cp1252'" in dry.stdout
    assert "'-Dclient.encoding.override=latin1' -> '-Dclient.encoding.override=UTF-8'" in (
        dry.stdout
    )
    assert "[JavaArgs] -Dfile.encoding=UTF-8 [JavaArgs]" not in dry.stdout
    assert run_cli("configure", "dms-utf8").exit_code == 0
    assert (directory / "JavaServerStarter.ini").read_text() == (
        "[JavaArgs]\n-Dfile.encoding=UTF-8\n-Dclient.encoding.override=UTF-8\n-Xmx512m\n"
        "-Dfile.client.encoding=UTF-8\n"
    )
    again = run_cli("configure", "dms-utf8", "--dry-run", "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout


def test_dms_utf8_leaves_the_file_when_the_apply_fails(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure while writing the file leaves it as it was, and no temporary file."""
    from gsetup import fileio

    directory = _dms_dir(db_url, tmp_path)

    def fail(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", fail)
    result = run_cli("configure", "dms-utf8")
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    ini = directory / "JavaServerStarter.ini"
    assert ini.read_text() == INI
    assert next(p.name for p in directory.iterdir() if p != ini).startswith(
        "JavaServerStarter.ini.bak-"
    )
    assert len(list(directory.iterdir())) == 2  # the file and its backup, no temporary file


# -- the documented examples ------------------------------------------------------------------


def test_docs_examples_run(social: str, tmp_path: Path) -> None:
    """Every ``$ gsetup`` example of docs/configure.md and docs/doctor.md, in order, on a
    tenant that has what the steps need: each step exits 0 (or 3 where it asks for
    --detailed-exitcode), and the doctor finds the tenant healthy after them."""
    install_bp(social, "facebook-bp", "twitter-bp-tr")
    ini_dir = tmp_path / "opt" / "dms"
    ini_dir.mkdir(parents=True)
    (ini_dir / "JavaServerStarter.ini").write_text(INI)
    # The drivers' records, as `gsetup driver install --package` leaves them (driver list).
    records = {f"gsetup-driver-{d}": {"version": "9.0.016.07"} for d in ("facebook", "twitter")}
    add_app(social, "DMS_1", "DigitalMessagingServer", records, working_dir=str(ini_dir))
    docs = "\n".join(
        (REPO_ROOT / "docs" / page).read_text(encoding="utf-8")
        for page in ("configure.md", "doctor.md")
    )
    emojis = docs.split("    # emojis.txt\n", 1)[1].split("\n\n", 1)[0]
    (tmp_path / "emojis.txt").write_text(emojis.replace("    ", "") + "\n")
    examples = re.findall(r"^\s*\$ gsetup (.+)$", docs, flags=re.MULTILINE)
    steps = {e.split()[1] for e in examples if e.startswith("configure ")}
    assert steps == {
        "twitter-tr", "facebook-private-messaging", "facebook-comments", "workspace",
        "twitter-compliance", "twitterdirect", "delay-updates", "dms-utf8",
    }  # fmt: skip
    assert any(e.startswith("doctor") for e in examples)
    for example in examples:
        args = [a.replace("emojis.txt", str(tmp_path / "emojis.txt")) for a in shlex.split(example)]
        result = run_cli(*args)
        expected = 3 if "--detailed-exitcode" in args and result.exit_code == 3 else 0
        assert result.exit_code == expected, f"{example}: {result.stdout}{result.stderr}"
    assert annex("Business Attributes/Emojis/1F44D")["attrs"]["display_name"] == "Thumbs up sign"
    assert "-Dfile.encoding=UTF-8" in (ini_dir / "JavaServerStarter.ini").read_text()
