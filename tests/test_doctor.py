"""``gsetup doctor``: every check finds its problem on a broken tenant, and nothing on a
healthy one; the fixes it prints repair what gsetup can repair."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from tests.helpers import run_cli
from tests.test_configure import add_app, channel, install_bp

CHECKS = {
    "pending-files",
    "installed-files",
    "queue-options",
    "delay-updates",
    "x-submit-comments-itx",
    "shared-dms-drivers",
    "twitterdirect-media-type",
    "private-messaging-route",
    "inbound-endpoint",
    "twitter-tr-endpoint",
    "grouping-timeout",
    "twitter-compliance",
    "media-filters",
    "threaded-routing-versions",
    "twitter-bp-strategies",
    "iwd-adapter-queue",
}
# What `gsetup driver install --package` records of a real driver package (driver list).
RECORDS = {
    "gsetup-driver-facebook": {"version": "9.0.016.07"},
    "gsetup-driver-twitter": {"version": "9.0.016.07"},
}


def doctor(*args: str) -> tuple[int, dict[str, Any]]:
    """Run ``gsetup doctor --json``; its exit code and report."""
    result = run_cli("doctor", "--json", *args)
    assert result.exit_code in (0, 3), result.stderr
    report: dict[str, Any] = result.json()
    return result.exit_code, report


def fixes(report: dict[str, Any]) -> list[str]:
    """The fix commands of a report's findings."""
    return [f["fix"] for f in report["findings"]]


def test_healthy_tenant_has_no_findings(db_url: str) -> None:
    twitter = channel("twitter")
    facebook = channel("facebook")
    add_app(db_url, "DMS_1", "DigitalMessagingServer", {**facebook, **twitter, **RECORDS})
    add_app(db_url, "ChatServer_1", "ChatServer")
    add_app(db_url, "WDE", "WorkspaceDesktop")
    add_app(db_url, "IXN_1", "InteractionServer")
    install_bp(db_url, "facebook-bp", "twitter-bp-tr")
    add_app(
        db_url,
        "DMS_1",
        "DigitalMessagingServer",
        {"endpoints:1": {"facebook_queue": "Facebook Inbound Queue"}},
    )
    for step in (
        ["twitter-tr", "--grouping-timeout", "30"],
        ["facebook-private-messaging"],
        ["facebook-comments"],
        ["workspace", "--plugin-version", "8.5.400.86"],
        ["delay-updates"],
    ):
        result = run_cli("configure", *step)
        assert result.exit_code == 0, result.stderr
    code, report = doctor()
    assert code == 0
    assert report == {
        "tenant": "Environment",
        "healthy": True,
        "checks": sorted(CHECKS, key=list(report["checks"]).index),
        "findings": [],
    }
    assert set(report["checks"]) == CHECKS
    text = run_cli("doctor")
    assert text.exit_code == 0 and "no problems found" in text.stdout


def _interrupted_apply(url: str) -> None:
    """What a process killed after its commit, before its files were in place, leaves."""
    from gsetup.configdb.database import open_database
    from gsetup.configdb.tenants import tenant_id
    from gsetup.plan.pending import FileSwap, mark_committed, record

    swap = FileSwap()
    swap.write_file(Path.home() / "late.txt", "late\n")  # home: the test's own folder
    with open_database(url).engine.connect() as conn:
        tid = tenant_id(conn, "Environment")
        conn.rollback()
        record(conn, tid, swap, "killed@ops")
        swap.stage()
        with conn.begin():
            mark_committed(conn, swap)


def _broken(url: str) -> None:
    install_bp(url, "facebook-bp-single-comment")
    install_bp(url, "twitter-bp-tr", leave_out=("twitterdirect",))
    routes = {
        "endpoints:1": {
            "facebook_queue": "Facebook SCR Inbound Queue",
            "twitter_queue": "Twitter Inbound Queue",  # Twitter BP's, not installed
        }
    }
    # The Facebook channel has no x-submit-comments-itx: false, but Single Comment Routing
    # needs true.
    facebook = channel("facebook")
    del facebook["channel-facebook"]["x-submit-comments-itx"]
    # It fetches private messages, but no Chat Server defines its access point.
    facebook["channel-facebook"]["skip-private"] = "false"
    twitter = channel("twitter", **{"grouping-timeout": "30", "compliance-enabled": "false"})
    # A second channel routes to an access point the DMS does not define.
    shop = channel(
        "facebook", "shop", **{"inbound-route": "1:facebook_shop", "x-submit-comments-itx": "true"}
    )
    add_app(url, "DMS_1", "DigitalMessagingServer", {**facebook, **shop, **twitter, **routes})
    # Threaded Routing's DMS has a Facebook channel without its driver.
    add_app(
        url,
        "DMS_2",
        "DigitalMessagingServer",
        {**channel("twitter"), "channel-facebook-acme": {"inbound-route": "1:facebook_queue"}},
    )
    add_app(
        url,
        "ChatServer_1",
        "ChatServer",
        {"endpoint:1": {"FacebookInboundQueue": "Facebook Inbound Queue"}},
    )
    add_app(
        url,
        "WDE",
        "WorkspaceDesktop",
        {
            "interaction-workspace": {
                "twitter.default-queue": "Nope",
                "facebook.outbound-queue": "Facebook SCR Outbound Queue",
            }
        },
    )
    add_app(url, "IXN_1", "InteractionServer", {"settings": {"delay-updates": "true"}})
    add_app(url, "IXN_2", "InteractionServer")


def test_broken_tenant_every_check_finds_its_problem(db_url: str) -> None:
    _broken(db_url)
    _interrupted_apply(db_url)  # last: the next apply would finish it
    code, report = doctor()
    assert code == 3 and report["healthy"] is False
    found = {(f["check"], f["severity"]) for f in report["findings"]}
    # Twitter BP's active strategies, the iWD queue and installed files (install_bp places
    # none): tests/test_doctor_gaps.py.
    assert {check for check, _ in found} == CHECKS - {
        "twitter-bp-strategies",
        "iwd-adapter-queue",
        "installed-files",
    }
    messages = "\n".join(f["message"] for f in report["findings"])
    assert (
        "DMS_1 [endpoints:1] twitter_queue = 'Twitter Inbound Queue': a queue of twitter-bp, "
        "which is not installed" in messages
    )
    assert "ChatServer_1 [endpoint:1] FacebookInboundQueue = 'Facebook Inbound Queue'" in messages
    assert "an apply by killed@ops (pid" in messages
    assert (
        "WDE [interaction-workspace] twitter.default-queue = 'Nope': no such interaction queue"
        in messages
    )
    assert "WDE [interaction-workspace] facebook.default-queue is not set" in messages
    assert "twitter.outbound-queue is not set" in messages
    assert "IXN_1 [settings] delay-updates is 'true'" in messages
    assert "IXN_2 [settings] delay-updates is not set" in messages
    assert (
        "DMS_1 [channel-facebook] x-submit-comments-itx is not set (false), but "
        "facebook-bp-single-comment needs true" in messages
    )
    assert "DMS_2 serves Twitter BP - Threaded Routing and Facebook" in messages
    assert "channel-facebook-acme have no driver-classname" in messages
    assert "the media type twitterdirect is missing" in messages
    # Errors first, then warnings.
    severities = [f["severity"] for f in report["findings"]]
    assert severities == sorted(severities, key=lambda s: s != "error")
    assert ("delay-updates", "warning") in found and ("queue-options", "error") in found
    assert set(fixes(report)) == {
        None,  # pending-files: the next apply finishes it
        "gsetup configure twitter-tr --dms DMS_1 --grouping-timeout 30",
        "gsetup install facebook-bp",
        "gsetup configure workspace --workspace WDE",
        "gsetup configure delay-updates --interaction-server IXN_1",
        "gsetup configure delay-updates --interaction-server IXN_2",
        "gsetup configure facebook-comments --dms DMS_1 --channel channel-facebook "
        "--facebook-bp facebook-bp-single-comment",
        "gsetup driver install facebook --dms DMS_2",
        "gsetup configure twitterdirect",
        "gsetup configure facebook-private-messaging --dms DMS_1 --channel channel-facebook "
        "--facebook-bp facebook-bp-single-comment",
        "gsetup configure twitter-tr --dms DMS_2 --grouping-timeout SECONDS",
        "gsetup configure twitter-tr --dms DMS_2 --channel channel-twitter "
        "--grouping-timeout SECONDS",
        "gsetup options set --app DMS_1 channel-twitter/compliance-enabled true",
        "gsetup configure workspace --workspace WDE --plugin-version VERSION",
        "gsetup driver install twitter --package PATH --dms DMS_1",
        "gsetup driver install facebook --package PATH --dms DMS_1",
        "gsetup driver install twitter --package PATH --dms DMS_2",
        "gsetup options set --app DMS_1 endpoints:1/facebook_shop 'Facebook SCR Inbound Queue'",
        # The driverless channel's route too: the intake refuses its interactions.
        "gsetup options set --app DMS_2 endpoints:1/facebook_queue 'Facebook SCR Inbound Queue'",
    }
    assert (
        "DMS_1 [channel-facebook-shop] inbound-route '1:facebook_shop': no 'facebook_shop' in "
        "[endpoints:1]: the channel's interactions are refused" in messages
    )
    assert "DMS_1 [channel-facebook] fetches private messages, but no Chat Server has " in messages
    assert (
        "DMS_2 [channel-twitter] inbound-route '1:twitter_queue': no 'twitter_queue' in "
        "[endpoints:1]: tweets never reach Twitter BP - Threaded Routing" in messages
    )
    assert "DMS_2 [channel-facebook-acme] inbound-route '1:facebook_queue': no " in messages
    assert "DMS_2 [channel-twitter] grouping-timeout is not set" in messages
    assert "DMS_1 [channel-twitter] compliance-enabled is 'false'" in messages
    assert "WDE [interaction-workspace] contact.history.media-filters is not set" in messages
    assert "WDE: the Social Media plug-in: its version is not recorded" in messages
    text = run_cli("doctor")
    assert text.exit_code == 3
    assert "warning: [delay-updates] IXN_2 [settings] delay-updates is not set" in text.stdout
    assert "  fix: gsetup configure twitterdirect" in text.stdout


def test_the_configure_fixes_repair_what_they_say(db_url: str) -> None:
    _broken(db_url)
    _code, report = doctor()
    for fix in dict.fromkeys(fixes(report)):
        if fix.startswith(("gsetup configure ", "gsetup options ")):
            # The placeholders a fix leaves to the user: gsetup guesses neither.
            line = fix.replace("SECONDS", "30").replace("VERSION", "8.5.400.86")
            result = run_cli(*shlex.split(line)[1:])
            assert result.exit_code == 0, f"{line}: {result.stderr}"
    code, after = doctor()
    assert code == 3
    # facebook-private-messaging pointed Chat Server at the installed Facebook BP's queue.
    assert fixes(after) == [
        "gsetup driver install facebook --dms DMS_2",
        "gsetup driver install twitter --package PATH --dms DMS_1",
        "gsetup driver install facebook --package PATH --dms DMS_1",
        "gsetup driver install twitter --package PATH --dms DMS_2",
    ]


def test_submit_comments_follow_each_channels_route(db_url: str) -> None:
    """With both Facebook BPs installed, each channel must fit the BP its access point feeds."""
    install_bp(db_url, "facebook-bp", "facebook-bp-single-comment")
    routes = {
        "endpoints:1": {
            "facebook_queue": "Facebook Inbound Queue",
            "scr_queue": "Facebook SCR Inbound Queue",
        }
    }
    plain = channel("facebook", **{"x-submit-comments-itx": "true"})
    single = channel(
        "facebook", "scr", **{"x-submit-comments-itx": "TRUE", "inbound-route": "1:scr_queue"}
    )
    add_app(db_url, "DMS_1", "DigitalMessagingServer", {**plain, **single, **routes})
    _code, report = doctor()
    comments = [f for f in report["findings"] if f["check"] == "x-submit-comments-itx"]
    assert [f["message"] for f in comments] == [
        "DMS_1 [channel-facebook] x-submit-comments-itx is 'true', but facebook-bp needs false"
    ]


def test_fixes_name_a_tenant_other_than_the_default(db_url: str) -> None:
    assert run_cli("tenant", "create", "Acme Corp").exit_code == 0
    add_app(db_url, "IXN", "InteractionServer", tenant="Acme Corp")
    code, report = doctor("--tenant", "Acme Corp")
    assert code == 3
    assert fixes(report) == [
        "gsetup configure delay-updates --interaction-server IXN --tenant 'Acme Corp'"
    ]
    result = run_cli(*shlex.split(fixes(report)[0])[1:])
    assert result.exit_code == 0, result.stderr
    assert doctor("--tenant", "Acme Corp") == (
        0,
        {"tenant": "Acme Corp", "healthy": True, "checks": report["checks"], "findings": []},
    )


def test_workspace_fix_chooses_among_several_bps_of_a_family(db_url: str) -> None:
    add_app(db_url, "WDE", "WorkspaceDesktop")
    install_bp(db_url, "twitter-bp", "twitter-bp-tr")
    _code, report = doctor()
    workspace = {f["fix"] for f in report["findings"] if f["check"] == "queue-options"}
    assert workspace == {"gsetup configure workspace --workspace WDE --twitter-bp twitter-bp"}
    result = run_cli(*shlex.split(workspace.pop())[1:])
    assert result.exit_code == 0, result.stderr
    _code, after = doctor()
    assert not [f for f in after["findings"] if f["check"] in ("queue-options", "media-filters")]


def test_doctor_of_an_unknown_tenant(db_url: str) -> None:
    result = run_cli("doctor", "--tenant", "Nope")
    assert result.exit_code == 2 and "unknown tenant 'Nope'" in result.stderr


def test_an_interrupted_apply_is_reported_until_the_next_run_finishes_it(db_url: str) -> None:
    _interrupted_apply(db_url)
    code, report = doctor()
    assert code == 3
    assert [f["check"] for f in report["findings"]] == ["pending-files"]
    assert not (Path.home() / "late.txt").exists()
    # Any apply on the tenant takes the lock, finishes the files first, then does its work.
    assert run_cli("app", "create", "Chat_9", "--type", "ChatServer").exit_code == 0
    assert (Path.home() / "late.txt").read_text() == "late\n"
    assert doctor()[1]["findings"] == []


def test_grouping_timeout_is_read_as_the_runtime_reads_it(db_url: str) -> None:
    """A grouping-timeout an older gsetup stored with a sign or leading zeros groups in the
    runtime (as Inbound Buffer-TR reads it): the doctor finds nothing wrong with it, its fixes
    name the number the runtime uses, and only what the runtime cannot use is a finding."""
    from gsetup.runtime.twitter_groups import grouping_timeout

    install_bp(db_url, "twitter-bp-tr")
    stored = {"+60": 60, "0060": 60, " 60.5": 60, "+5": None, "sixty": None}
    assert {v: grouping_timeout({"grouping-timeout": v}) for v in stored} == stored
    channels = {
        section: options
        for number, value in enumerate(stored)
        for section, options in channel(
            "twitter", f"c{number}", **{"grouping-timeout": value}
        ).items()
    }
    add_app(db_url, "DMS_1", "DigitalMessagingServer", channels)  # unchecked, as an older gsetup
    add_app(db_url, "WDE", "WorkspaceDesktop")
    _code, report = doctor()
    grouping = [f["message"] for f in report["findings"] if f["check"] == "grouping-timeout"]
    assert grouping == [
        "DMS_1 [channel-twitter-c3] grouping-timeout is '+5', not a whole number from 10 to "
        "3600: Threaded Routing groups nothing and works as Twitter BP",
        "DMS_1 [channel-twitter-c4] grouping-timeout is 'sixty', not a whole number from 10 to "
        "3600: Threaded Routing groups nothing and works as Twitter BP",
    ]
    # The channels that group agree on 60: the fix gives it, and configure twitter-tr takes it.
    endpoint = [f["fix"] for f in report["findings"] if f["check"] == "twitter-tr-endpoint"]
    assert set(endpoint) == {"gsetup configure twitter-tr --dms DMS_1 --grouping-timeout 60"}
    result = run_cli(*shlex.split(endpoint[0])[1:])
    assert result.exit_code == 0, result.stderr
    _code, after = doctor()
    assert not [f for f in after["findings"] if f["check"].startswith(("grouping", "twitter-tr"))]


def test_a_channel_the_intake_refuses_is_found_whatever_it_fetches(db_url: str) -> None:
    """A Twitter channel that also fetches private messages (skip-private false, a Facebook
    setting here), and one whose route names no tenant DBID: the intake refuses both
    (422), so doctor names them, as the intake does, and its fix gives the first one a
    queue."""
    from gsetup.runtime.inbound_route import RouteError, endpoint_queue

    twitter = channel("twitter", **{"skip-private": "false"})
    other = channel("twitter", "shop", **{"inbound-route": "x:twitter_queue"})
    add_app(db_url, "DMS_1", "DigitalMessagingServer", {**twitter, **other, **RECORDS})
    install_bp(db_url, "twitter-bp")
    code, report = doctor()
    assert code == 3, report
    found = {f["message"].split("]")[0]: f for f in report["findings"]}
    assert set(found) == {"DMS_1 [channel-twitter", "DMS_1 [channel-twitter-shop"}, report
    for section, finding in found.items():
        assert finding["check"] == "inbound-endpoint"
        options = {s: dict(v) for s, v in {**twitter, **other}.items()}
        try:
            endpoint_queue("DMS_1", options, section.split("[")[1])
        except RouteError as exc:  # the intake's reason, word for word
            assert finding["message"].startswith(str(exc)), finding
    assert found["DMS_1 [channel-twitter-shop"]["fix"] is None  # no tenant to give it
    fix = found["DMS_1 [channel-twitter"]["fix"]
    assert fix.startswith("gsetup options set --app DMS_1 endpoints:1/twitter_queue "), fix
    result = run_cli(*shlex.split(fix)[1:])
    assert result.exit_code == 0, result.stderr
    code, report = doctor()
    assert [f["message"].split("]")[0] for f in report["findings"]] == [
        "DMS_1 [channel-twitter-shop"
    ]


def test_a_channel_without_driver_classname_is_checked_as_the_intake_routes_it(
    db_url: str,
) -> None:
    """The intake routes a channel section whether or not it carries driver-classname (a
    channel set up by hand, or whose driver gsetup did not install): doctor checks its route
    too, with the intake's reason and the exit status of the other inbound-endpoint findings.
    A Facebook monitor section (channel-<name>-monitor-<name>) has no route of its own and is
    no channel (genesys-facts.md)."""
    from gsetup.packages.catalogue import get_package
    from gsetup.runtime.inbound_route import RouteError, endpoint_queue

    queue = get_package("twitter-bp").stage_queue("Inbound")
    sections = {
        **channel("twitter"),
        "channel-twitter-hand": {"inbound-route": "1:twitter_queue"},
        "Channel-Twitter-lost": {"inbound-route": "1:lost_queue"},
        "channel-facebook-monitor-page": {"id": "page"},
        "endpoints:1": {"twitter_queue": queue},
    }
    add_app(db_url, "DMS_1", "DigitalMessagingServer", {**sections, **RECORDS})
    install_bp(db_url, "twitter-bp")
    code, report = doctor()
    assert code == 3, report
    [finding] = report["findings"]
    assert finding["check"] == "inbound-endpoint" and finding["severity"] == "error"
    try:
        endpoint_queue("DMS_1", sections, "Channel-Twitter-lost")
    except RouteError as exc:  # the intake's reason, word for word
        assert finding["message"].startswith(f"{exc}: "), finding
    else:
        raise AssertionError("the intake routes Channel-Twitter-lost")
    assert endpoint_queue("DMS_1", sections, "channel-twitter-hand").queue == queue
    text = run_cli("doctor")
    assert text.exit_code == 3
    assert "DMS_1 [Channel-Twitter-lost] inbound-route '1:lost_queue'" in text.stdout
    assert "channel-twitter-hand" not in text.stdout and "monitor" not in text.stdout


def test_a_threaded_routing_channel_the_intake_refuses_is_found(db_url: str) -> None:
    """Threaded Routing channels are checked by twitter-tr-endpoint, not inbound-endpoint; a
    channel without inbound-route, and one whose route names [endpoints:01], which the intake
    does not take for [endpoints:1], were taken for routed (doctor assumed the default route,
    and read the DBID as a number), while the intake refuses their tweets. Now they are found
    with the intake's reason, and the fixes make the intake route them."""
    from gsetup.runtime.inbound_route import RouteError, endpoint_queue

    unrouted = channel("twitter", **{"grouping-timeout": "60"})
    del unrouted["channel-twitter"]["inbound-route"]
    zero = channel(
        "twitter", "zero", **{"grouping-timeout": "60", "inbound-route": "01:twitter_queue"}
    )
    endpoints = {"endpoints:1": {"twitter_queue": "Twitter TR Inbound Queue"}}
    sections = {**unrouted, **zero, **endpoints}
    add_app(db_url, "DMS_1", "DigitalMessagingServer", {**sections, **RECORDS})
    install_bp(db_url, "twitter-bp-tr")
    code, report = doctor()
    assert code == 3, report
    found = {f["message"].split("]")[0]: f for f in report["findings"]}
    assert set(found) == {"DMS_1 [channel-twitter", "DMS_1 [channel-twitter-zero"}, report
    for where, finding in found.items():
        assert finding["check"] == "twitter-tr-endpoint" and finding["severity"] == "error"
        try:
            endpoint_queue("DMS_1", sections, where.split("[")[1])
        except RouteError as exc:  # the intake's reason, word for word
            assert finding["message"].startswith(f"{exc}: tweets never reach "), finding
    assert fixes(report) == [
        "gsetup options set --app DMS_1 channel-twitter/inbound-route 1:twitter_queue",
        "gsetup options set --app DMS_1 endpoints:01/twitter_queue 'Twitter TR Inbound Queue'",
    ]
    for fix in fixes(report):
        result = run_cli(*shlex.split(fix)[1:])
        assert result.exit_code == 0, result.stderr
    assert doctor() == (0, {**report, "healthy": True, "findings": []})


def test_a_private_messaging_route_is_read_as_the_intake_reads_it(db_url: str) -> None:
    """A channel fetching private messages whose route names [endpoints:01], which the intake
    does not take for the [endpoints:1] the DMS has, was found healthy while the intake
    refuses its interactions; one whose route names no tenant DBID was said to have no route.
    Both are found as they are, and the configure fix routes them."""
    private = {"skip-private": "false"}
    zero = channel("facebook", **private, **{"inbound-route": "01:FacebookInboundQueue"})
    other = channel("facebook", "x", **private, **{"inbound-route": "x:FacebookInboundQueue"})
    endpoints = {"endpoints:1": {"FacebookInboundQueue": "Facebook Inbound Queue"}}
    add_app(db_url, "DMS_1", "DigitalMessagingServer", {**zero, **other, **endpoints, **RECORDS})
    add_app(db_url, "ChatServer_1", "ChatServer", {"endpoint:1": endpoints["endpoints:1"]})
    install_bp(db_url, "facebook-bp")
    code, report = doctor()
    assert code == 3, report
    assert [(f["check"], f["message"]) for f in report["findings"]] == [
        (
            "private-messaging-route",
            "DMS_1 [channel-facebook] fetches private messages, but DMS_1 has no "
            "[endpoints:01] FacebookInboundQueue (inbound-route 01:FacebookInboundQueue)",
        ),
        (
            "private-messaging-route",
            "DMS_1 [channel-facebook-x] fetches private messages, but its inbound-route "
            "'x:FacebookInboundQueue' names no tenant DBID (<tenant dbid>:<access point>)",
        ),
    ]
    for fix in fixes(report):
        result = run_cli(*shlex.split(fix)[1:])
        assert result.exit_code == 0, result.stderr
    code, report = doctor()
    assert code == 0, report


def test_a_channel_reaches_the_business_process_the_intake_routes_it_to(db_url: str) -> None:
    """With Twitter BP and Threaded Routing installed, a channel whose route names
    01:twitter_queue reaches Threaded Routing through [endpoints:01], as the intake routes
    it; doctor read [endpoints:1], found no BP and left its grouping timeout unchecked."""
    twitter = channel("twitter", **{"inbound-route": "01:twitter_queue"})
    endpoints = {"endpoints:01": {"twitter_queue": "Twitter TR Inbound Queue"}}
    add_app(db_url, "DMS_1", "DigitalMessagingServer", {**twitter, **endpoints, **RECORDS})
    install_bp(db_url, "twitter-bp", "twitter-bp-tr")
    code, report = doctor()
    assert code == 3, report
    assert [(f["check"], f["message"].split(":")[0]) for f in report["findings"]] == [
        ("grouping-timeout", "DMS_1 [channel-twitter] grouping-timeout is not set")
    ]


def test_the_grouping_timeout_of_a_channel_without_its_driver_is_checked(db_url: str) -> None:
    """The intake groups a channel's tweets by the grouping-timeout of its section whether or
    not the section names the driver (driver-classname): doctor checked the driver's channels
    only, so a Threaded Routing channel without it that groups nothing was healthy. It is
    found; its fix is `options set` (configure twitter-tr takes the driver's channels)."""
    install_bp(db_url, "twitter-bp-tr")
    bare = channel("twitter", "bare", **{"grouping-timeout": "5"})
    del bare["channel-twitter-bare"]["driver-classname"]
    endpoints = {"endpoints:1": {"twitter_queue": "Twitter TR Inbound Queue"}}
    grouping = channel("twitter", **{"grouping-timeout": "60"})
    add_app(db_url, "DMS_1", "DigitalMessagingServer", {**grouping, **bare, **endpoints})
    _code, report = doctor()
    found = [f for f in report["findings"] if f["check"] == "grouping-timeout"]
    assert found == [
        {
            "check": "grouping-timeout",
            "severity": "error",
            "message": "DMS_1 [channel-twitter-bare] grouping-timeout is '5', not a whole "
            "number from 10 to 3600: Threaded Routing groups nothing and works as Twitter BP",
            "fix": "gsetup options set --app DMS_1 channel-twitter-bare/grouping-timeout SECONDS",
        }
    ]
    fix = shlex.split(found[0]["fix"].replace("SECONDS", "60"))
    assert run_cli(*fix[1:]).exit_code == 0
    _code, after = doctor()
    assert not [f for f in after["findings"] if f["check"] == "grouping-timeout"]
