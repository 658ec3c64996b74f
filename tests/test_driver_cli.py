"""``gsetup driver install/upgrade/uninstall/list`` from answer files, on both backends."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.helpers import run_cli, snapshot, write_tree

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
API_KEY, HUB_PASSWORD = "key-Sup3rS3cret", "pw-V3ryS3cret"
# What the DMS holds before any driver: a user's values in the channel section and elsewhere.
EXISTING = {
    "channel-facebook": {"ucs-in-use": "true", "x-user-note": "mine"},
    "channel-twitter": {"ucs-in-use": "true"},
    "endpoints:1": {"facebook_queue": "Facebook Inbound Queue"},
    "log": {"verbose": "all"},
}


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def _options(url: str, app: str = "DMS_1") -> dict[tuple[str, str], tuple[int, str]]:
    """The application's option rows: (section, key) -> (row id, value)."""
    sql = (
        "SELECT o.section, o.key, o.id, o.value FROM cfg_option o JOIN cfg_object c "
        f"ON c.id = o.object_id WHERE c.path = 'Applications/{app}'"
    )
    return {(s, k): (i, v) for s, k, i, v in _rows(url, sql)}


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text() if p.is_file() else "<dir>"
        for p in sorted(root.rglob("*"))
    }


def _add_dms(url: str, name: str, working: Path, backup: str | None = None) -> None:
    from gsetup.configdb.database import open_database
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.state import DesiredObject, DesiredState, options

    working.mkdir(parents=True, exist_ok=True)
    attrs = {
        "app_type": "DigitalMessagingServer",
        "host": "dms1.example.com",
        "port": 4000,
        "working_dir": str(working),
        "start_cmd": f"gsetup dms run --app {name}",
        "backup": f"Applications/{backup}" if backup else None,
    }
    state = DesiredState("Environment")
    state.add(DesiredObject("application", f"Applications/{name}", attrs, options(EXISTING)))
    apply_state(open_database(url).engine, state, Operation("user edit", "someone"))


@pytest.fixture
def dms(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DMS_1 holding options and a working directory with files of its own."""
    working = tmp_path / "SMServer"
    write_tree(working, {"logs/dms.log": "started\n", "media-channel-drivers/channel-rss/x": "r"})
    _add_dms(db_url, "DMS_1", working)
    monkeypatch.setenv("GSETUP_HUB_API_KEY", API_KEY)
    secret_file = Path.home() / ".config" / "gsetup" / "hub-password"
    write_tree(secret_file.parent, {secret_file.name: HUB_PASSWORD + "\n"})
    return working


def _install(driver: str, *extra: str) -> Any:
    example = str(EXAMPLES / f"driver-{driver}.yaml")
    return run_cli("driver", "install", driver, "--answers", example, "--yes", *extra)


def _history(url: str) -> list[dict[str, Any]]:
    rows = _rows(url, "SELECT operation, answers, changes FROM install_history ORDER BY id")
    return [{"operation": o, "answers": _json(a), "changes": _json(c)} for o, a, c in rows]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@pytest.mark.parametrize("driver", ["facebook", "twitter"])
def test_install_from_the_example_keeps_existing_options(
    db_url: str, dms: Path, tmp_path: Path, driver: str
) -> None:
    before = _options(db_url)
    saved = tmp_path / "saved.yaml"
    result = _install(driver, "--json", "--save-answers", str(saved))
    assert result.exit_code == 0, result.stderr
    after = _options(db_url)

    # Every option the DMS had is still there, row by row, with its value.
    assert {key: after[key] for key in before} == before
    section = f"channel-{driver}"
    assert after[(section, "driver-classname")][1].endswith("Driver")
    assert after[(section, "inbound-route")][1] == f"1:{driver}_queue"
    assert after[(section, "gsa-account-name")][1] == "ACME XYZ123 Corp."
    assert after[(section, "gsa-api-key")][1] == API_KEY
    assert after[(section, "password")][1] == HUB_PASSWORD
    assert after[(section, "reconnection-timeout")][1] == "300"  # options: in the answers
    assert after[(section, "ucs-in-use")][1] == "true"  # the user's, not overwritten
    assert after[(f"gsetup-driver-{driver}", "version")][1] == "gsetup-builtin-1"
    if driver == "twitter":
        assert after[(section, "grouping-timeout")][1] == "60"
    files = dms / "media-channel-drivers" / section
    assert (files / f"driver-for-{driver}-options.cfg").is_file()

    # Secrets: masked in the JSON plan and the history, absent from the saved answers.
    assert API_KEY not in result.stdout and HUB_PASSWORD not in result.stdout
    data = result.json()
    file_changes = [c for c in data["changes"] if c["target"] == "file"]
    assert {c["action"] for c in file_changes} == {"create"}
    assert {c["after"] for c in data["changes"] if c.get("key") == "password"} == {"********"}
    history = _history(db_url)[-1]
    dumped = json.dumps(history)
    assert API_KEY not in dumped and HUB_PASSWORD not in dumped
    assert history["operation"] == "driver install"
    recorded = [c for c in history["changes"] if isinstance(c, dict) and c["target"] == "file"]
    assert recorded == file_changes  # the files the plan showed, recorded with it
    assert history["answers"]["terms"]["version"] == "9.0.0"
    assert history["answers"]["terms"]["accepted_by"]
    assert history["answers"]["accept_terms"] is True
    text_saved = saved.read_text()
    assert "gsa_account_name: ACME XYZ123 Corp." in text_saved
    assert "gsa_api_key" not in text_saved.split("\n", 1)[1] and API_KEY not in text_saved
    assert HUB_PASSWORD not in text_saved
    shown = run_cli("app", "show", "DMS_1", "--json")
    assert API_KEY not in shown.stdout and HUB_PASSWORD not in shown.stdout


def test_install_twice_plans_nothing_the_second_time(db_url: str, dms: Path) -> None:
    assert _install("facebook").exit_code == 0
    again = _install("facebook", "--dry-run", "--detailed-exitcode", "--json")
    assert again.exit_code == 0, again.stderr
    summary = again.json()["summary"]
    assert summary["create"] == summary["update"] == summary["delete"] == 0
    assert {c["action"] for c in again.json()["changes"]} == {"keep"}
    applied = _install("facebook")
    assert applied.exit_code == 0
    assert "0 to create, 0 to update, 0 to delete" in applied.stdout


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # the same lock on both
def test_an_install_that_waited_for_another_plans_its_files_after_the_wait(
    db_url: str, dms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two installs of the same driver at once: the second planned the driver's files before
    waiting for the tenant, so after the first it "created" them again and recorded a
    second install; planned under the lock, it finds everything in place."""
    import signal
    import time

    from gsetup.plan import lock
    from tests.helpers import gsetup_process, stopped

    example = str(EXAMPLES / "driver-facebook.yaml")
    err = tmp_path / "first.err"
    args = ["driver", "install", "facebook", "--answers", example, "--yes"]
    first = gsetup_process(args, "recorded", err)  # holding the tenant, files not yet staged
    try:
        deadline = time.monotonic() + 60
        while not stopped(first.pid):
            assert first.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
        holder = lock._holder

        def seen_then_resumed(*args: Any) -> Any:  # the second waits: the first goes on
            first.send_signal(signal.SIGCONT)
            return holder(*args)

        monkeypatch.setattr(lock, "_holder", seen_then_resumed)
        second = _install("facebook", "--json")
        assert first.wait(timeout=60) == 0, err.read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    assert second.exit_code == 0, second.stderr
    assert "waiting for tenant 'Environment'" in second.stderr
    assert second.json()["summary"]["create"] == 0
    assert [h["operation"] for h in _history(db_url)] == ["user edit", "driver install"]


def test_an_install_that_waited_for_another_hosts_takes_its_hub_answers(
    db_url: str, dms: Path, tmp_path: Path
) -> None:
    """Two hosts install the driver again at once: host A with a new channel name, host B
    giving only its secrets (the Hub answers are the last install's). B read the last
    install's answers before waiting for A's lock and set the old name back over A's; it
    reads them again once it holds the lock, finds A's, and changes nothing. (Uninstalled
    first, so that A has files to stage: it stops there, holding the lock.)"""
    from tests.helpers import second_host_waits

    assert _install("facebook").exit_code == 0
    gone = run_cli("driver", "uninstall", "--yes", "facebook", "--dms", "DMS_1")
    assert gone.exit_code == 0, gone.stderr
    hosts = [tmp_path / "host-a", tmp_path / "host-b"]
    envs = [{"HOME": str(h), "XDG_DATA_HOME": str(h / "share")} for h in hosts]
    for host in hosts:
        write_tree(host / ".config" / "gsetup", {"hub-password": HUB_PASSWORD + "\n"})
    secrets_only = tmp_path / "b.yaml"
    secrets_only.write_text(
        "dms: DMS_1\naccept_terms: true\ngsa_api_key: {env: GSETUP_HUB_API_KEY}\n"
        "gsa_password: {file: ~/.config/gsetup/hub-password}\n"
    )
    example = str(EXAMPLES / "driver-facebook.yaml")
    args_a = ["driver", "install", "facebook", "--answers", example, "--yes",
              "--set", "gsa_channel_name=ACME Page 2"]  # fmt: skip
    args_b = ["driver", "install", "facebook", "--answers", str(secrets_only), "--yes", "--json"]
    output = second_host_waits((args_a, envs[0]), (args_b, envs[1]), tmp_path)

    summary = json.loads(output)["summary"]
    assert (summary["create"], summary["update"], summary["delete"]) == (0, 0, 0), summary
    assert _options(db_url)[("channel-facebook", "gsa-channel-name")][1] == "ACME Page 2"
    history = _history(db_url)
    assert [h["operation"] for h in history][1:] == ["driver install", "driver uninstall",
                                                     "driver install"]  # fmt: skip
    assert history[-1]["answers"]["gsa_channel_name"] == "ACME Page 2"  # A's, B's none


def test_two_channels_share_the_files_until_the_last_is_removed(
    db_url: str, dms: Path, tmp_path: Path
) -> None:
    assert _install("facebook").exit_code == 0
    # --channel wins over the answers file's channel, as any flag over the file
    answers = tmp_path / "other-channel.yaml"
    answers.write_text((EXAMPLES / "driver-facebook.yaml").read_text() + "channel: other\n")
    acme = run_cli(
        "driver", "install", "facebook", "--answers", str(answers), "--yes",
        "--channel", "acme", "--set", "gsa_channel_name=ACME Page 2",
    )  # fmt: skip
    assert acme.exit_code == 0, acme.stderr
    options = _options(db_url)
    assert options[("channel-facebook-acme", "gsa-channel-name")][1] == "ACME Page 2"
    assert options[("channel-facebook", "gsa-channel-name")][1] == "ACME Facebook Service"
    assert options[("channel-facebook-acme", "reconnection-timeout")][1] == "300"
    listed = run_cli("driver", "list", "--json").json()
    assert [(d["driver"], d["sections"]) for d in listed] == [
        ("facebook", ["channel-facebook", "channel-facebook-acme"])
    ]
    files = dms / "media-channel-drivers" / "channel-facebook"

    gone = run_cli(
        "driver", "uninstall", "--yes", "facebook", "--dms", "DMS_1", "--channel", "acme"
    )
    assert gone.exit_code == 0, gone.stderr
    assert files.is_dir()  # still used by [channel-facebook]
    assert not any(s == "channel-facebook-acme" for s, _k in _options(db_url))
    assert ("channel-facebook", "gsa-api-key") in _options(db_url)


def test_an_option_out_of_range_is_refused_and_nothing_written(
    db_url: str, dms: Path, tmp_path: Path
) -> None:
    before, tree = snapshot(db_url), _tree(dms)
    low = _install("facebook", "--set", "option.reconnection-timeout=5")
    assert low.exit_code == 2
    assert "reconnection-timeout" in low.stderr and "at least 10" in low.stderr
    answers = tmp_path / "answers.yaml"
    example = (EXAMPLES / "driver-twitter.yaml").read_text()
    answers.write_text(example.replace("grouping-timeout: 60", "grouping-timeout: 5000"))
    high = run_cli("driver", "install", "twitter", "--answers", str(answers), "--yes")
    assert high.exit_code == 2
    assert "grouping-timeout" in high.stderr and "from 10 to 3600" in high.stderr
    secret = _install("facebook", "--set", "option.gsa-api-key=clear")
    assert secret.exit_code == 2 and "gsa_api_key" in secret.stderr
    foreign = _install("twitter", "--set", "option.x-submit-comments-itx=true")
    assert foreign.exit_code == 2
    assert "x-submit-comments-itx is an option of the facebook driver's" in foreign.stderr
    rpc = _install("facebook", "--set", "rpc_cache_timeout=4000")
    assert rpc.exit_code == 2
    assert "key 'rpc_cache_timeout'" in rpc.stderr and "from 0 to 3600" in rpc.stderr
    assert snapshot(db_url) == before and _tree(dms) == tree


@pytest.mark.parametrize("answer", ["false", None, "yes", "1", "on", '"yes"'])
def test_the_terms_must_be_accepted(
    db_url: str, dms: Path, tmp_path: Path, answer: str | None
) -> None:
    before, tree = snapshot(db_url), _tree(dms)
    text_ = (EXAMPLES / "driver-facebook.yaml").read_text()
    replaced = f"accept_terms: {answer}" if answer else ""
    answers = tmp_path / "answers.yaml"
    answers.write_text(text_.replace("accept_terms: true", replaced))
    result = run_cli("driver", "install", "facebook", "--answers", str(answers), "--yes")
    assert result.exit_code == 2
    assert "accept_terms" in result.stderr
    assert result.stderr.strip().count("\n") == 0  # one line, also for a missing answer
    if answer is None:
        assert "no answer for 'accept_terms' (Do you accept these terms)" in result.stderr
    assert snapshot(db_url) == before and _tree(dms) == tree


def test_install_then_uninstall_leaves_the_dms_as_before(db_url: str, dms: Path) -> None:
    before, tree = snapshot(db_url), _tree(dms)
    assert _install("facebook").exit_code == 0
    assert _install("twitter").exit_code == 0
    # The user changes a driver option and adds one after the install: both must survive.
    _user_option(db_url, "channel-facebook", "x-added-later", "kept")
    for driver in ("facebook", "twitter"):
        gone = run_cli("driver", "uninstall", "--yes", driver, "--dms", "DMS_1", "--json")
        assert gone.exit_code == 0, gone.stderr
        removed = [c for c in gone.json()["changes"] if c["target"] == "file"]
        assert {c["action"] for c in removed} == {"delete"}
        recorded = _history(db_url)[-1]["changes"]
        assert [c for c in recorded if isinstance(c, dict) and c["target"] == "file"] == removed
    assert _options(db_url).pop(("channel-facebook", "x-added-later"))[1] == "kept"
    _user_option(db_url, "channel-facebook", "x-added-later", None)
    assert snapshot(db_url) == before
    assert _tree(dms) == tree
    # Installing again after the uninstall works and plans the same as the first time.
    assert _install("facebook").exit_code == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the same file steps on both
def test_an_uninstall_killed_after_its_commit_has_its_files_removed_by_the_next_run(
    db_url: str, dms: Path
) -> None:
    """The files were deleted after the commit, outside the pending-files record: killed
    there, the driver's files stayed for good, since a re-run found no channel to remove."""
    import os
    import signal
    import subprocess
    import sys

    from gsetup.fileio import CRASH_AT_ENV

    assert _install("facebook").exit_code == 0
    args = ["driver", "uninstall", "facebook", "--dms", "DMS_1", "--yes"]
    killed = subprocess.run(
        [sys.executable, "-m", "gsetup", *args],
        env={**os.environ, CRASH_AT_ENV: "committed"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (dms / "media-channel-drivers" / "channel-facebook").is_dir()  # as before the commit
    again = run_cli(*args)
    assert again.exit_code == 2 and "no facebook driver channel" in again.stderr
    assert _tree(dms) == {
        "logs": "<dir>",
        "logs/dms.log": "started\n",
        "media-channel-drivers": "<dir>",
        "media-channel-drivers/channel-rss": "<dir>",
        "media-channel-drivers/channel-rss/x": "r",
    }
    assert [h["operation"] for h in _history(db_url)] == [
        "user edit",
        "driver install",
        "driver uninstall",
    ]


def test_uninstall_sets_back_the_values_the_install_replaced(db_url: str, dms: Path) -> None:
    # Before the driver, the user had Hub options of their own in the channel section.
    _user_option(db_url, "channel-facebook", "gsa-user-name", "old-admin@acme.example")
    _user_option(db_url, "channel-facebook", "reconnection-timeout", "60")
    _user_option(db_url, "channel-facebook", "password", "old-pw", secret=True)
    before, record = snapshot(db_url), "gsetup-driver-facebook-replaced"
    assert _install("facebook").exit_code == 0
    installed = _options(db_url)
    assert installed[("channel-facebook", "gsa-user-name")][1] == "social-admin@acme.example"
    assert installed[("channel-facebook", "password")][1] == HUB_PASSWORD
    earlier = {
        "channel-facebook/gsa-user-name": "old-admin@acme.example",
        "channel-facebook/reconnection-timeout": "60",
        "channel-facebook/password": "old-pw",
    }
    assert {k: v for (s, k), (_i, v) in installed.items() if s == record} == earlier
    digests = {k: v for (s, k), (_i, v) in installed.items() if s == record + "-by"}
    assert digests["channel-facebook/gsa-user-name"] == (
        hashlib.sha256(b"social-admin@acme.example").hexdigest()
    )
    assert HUB_PASSWORD not in str(digests) and set(digests) == set(earlier)
    secret = _rows(db_url, f"SELECT key FROM cfg_option WHERE section = '{record}' AND secret")
    assert secret == [("channel-facebook/password",)]
    # A re-install does not replace the earlier values with the first install's.
    assert _install("facebook").exit_code == 0
    assert {k: v for (s, k), (_i, v) in _options(db_url).items() if s == record} == earlier

    dry = run_cli("driver", "uninstall", "facebook", "--dms", "DMS_1", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    updates = {c["key"]: c for c in dry.json()["changes"] if c["action"] == "update"}
    assert updates["gsa-user-name"]["after"] == "old-admin@acme.example"
    assert updates["password"]["before"] == updates["password"]["after"] == "********"
    assert "old-pw" not in dry.stdout and HUB_PASSWORD not in dry.stdout
    gone = run_cli("driver", "uninstall", "--yes", "facebook", "--dms", "DMS_1")
    assert gone.exit_code == 0, gone.stderr
    assert snapshot(db_url) == before


def test_the_digest_of_a_replaced_secret_is_never_printed(db_url: str, dms: Path) -> None:
    # An unsalted SHA-256 of a password can be looked up or guessed offline: the digest row
    # of a secret the install set over the user's is a secret too, masked wherever shown.
    _user_option(db_url, "channel-facebook", "password", "old-pw", secret=True)
    shown = hashlib.sha256(HUB_PASSWORD.encode()).hexdigest()
    outputs = [
        _install("facebook", "--dry-run", "--json"),
        _install("facebook", "--json"),
        run_cli("app", "show", "DMS_1"),
        run_cli("options", "export", "--app", "DMS_1"),
        run_cli(
            "options",
            "get",
            "--app",
            "DMS_1",
            "gsetup-driver-facebook-replaced-by/channel-facebook/password",
        ),
        run_cli("history", "--changes"),
    ]
    for result in outputs:
        assert result.exit_code == 0, result.stderr
        assert shown not in result.stdout + result.stderr
    digest_row = "gsetup-driver-facebook-replaced-by"
    secret = _rows(db_url, f"SELECT key FROM cfg_option WHERE section = '{digest_row}' AND secret")
    assert secret == [("channel-facebook/password",)]
    # The uninstall still recognises the value the install set, and sets the user's back.
    gone = run_cli("driver", "uninstall", "--yes", "facebook", "--dms", "DMS_1")
    assert gone.exit_code == 0, gone.stderr
    assert _options(db_url)[("channel-facebook", "password")][1] == "old-pw"


def test_digests_an_older_gsetup_left_in_clear_are_masked_after_the_upgrade(
    db_url: str, dms: Path
) -> None:
    """Installs before 0.1.0 flagged no digest row secret; migration 0005 flags those of
    secret options, and leaves the digests of options in clear as they were."""
    from tests.test_configdb import _migrate_to

    _user_option(db_url, "channel-facebook", "password", "old-pw", secret=True)
    _user_option(db_url, "channel-facebook", "gsa-user-name", "old-admin@acme.example")
    assert _install("facebook").exit_code == 0
    digest_row = "gsetup-driver-facebook-replaced-by"
    assert len(_rows(db_url, f"SELECT key FROM cfg_option WHERE section = '{digest_row}'")) == 2
    _migrate_to(db_url, "0004")
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.begin() as conn:  # as an older gsetup wrote them
        conn.execute(text(f"UPDATE cfg_option SET secret = false WHERE section = '{digest_row}'"))
    engine.dispose()

    assert run_cli("db", "upgrade").exit_code == 0
    secret = _rows(db_url, f"SELECT key, secret FROM cfg_option WHERE section = '{digest_row}'")
    assert sorted((key, bool(flag)) for key, flag in secret) == [
        ("channel-facebook/gsa-user-name", False),
        ("channel-facebook/password", True),
    ]
    shown = hashlib.sha256(HUB_PASSWORD.encode()).hexdigest()
    exported = run_cli("options", "export", "--app", "DMS_1")
    assert exported.exit_code == 0 and shown not in exported.stdout


def test_uninstall_keeps_a_replaced_value_edited_since(db_url: str, dms: Path) -> None:
    _user_option(db_url, "channel-facebook", "gsa-user-name", "old-admin@acme.example")
    _user_option(db_url, "channel-facebook", "reconnection-timeout", "60")
    assert _install("facebook").exit_code == 0
    _user_option(db_url, "channel-facebook", "gsa-user-name", "edited@acme.example")
    gone = run_cli("driver", "uninstall", "--yes", "facebook", "--dms", "DMS_1")
    assert gone.exit_code == 0, gone.stderr
    after = _options(db_url)
    assert after[("channel-facebook", "gsa-user-name")][1] == "edited@acme.example"
    assert after[("channel-facebook", "reconnection-timeout")][1] == "60"
    assert not [k for k in after if k[0].startswith("gsetup-driver-facebook")]


def _user_option(
    url: str, section: str, key: str, value: str | None, *, secret: bool = False
) -> None:
    from gsetup.configdb.database import open_database
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.state import DesiredObject, DesiredState, OptionValue, Removal

    path = "Applications/DMS_1"
    if value is None:
        state = DesiredState("Environment", removals=[Removal("application", path, (section, key))])
    else:
        wanted = {(section, key): OptionValue(value, secret=secret)}
        obj = DesiredObject("application", path, options=wanted)
        state = DesiredState("Environment", [obj])
    apply_state(open_database(url).engine, state, Operation("user edit", "someone"))


def _package_v2(root: Path, driver: str = "facebook") -> Path:
    cfg = (
        f"[channel-{driver}]\ndriver-classname=com.genesyslab.NewDriver\n"
        "reconnection-timeout=120\nx-new-in-v2=yes\n"
    )
    write_tree(
        root,
        {
            "manifest.yaml": (
                f'driver: {driver}\nversion: "9.0.016.07"\nfiles:\n'
                f"  - driver-for-{driver}-options.cfg\n  - lib/{driver}-driver.jar\n"
                f"options-file: driver-for-{driver}-options.cfg\n"
            ),
            f"driver-for-{driver}-options.cfg": cfg,
            f"lib/{driver}-driver.jar": "PK-jar-v2",
        },
    )
    return root


@pytest.mark.parametrize(
    ("cfg", "words"),
    [
        ("[channel-facebook]\na=1\n[other]\ny=2\n", "section [other] is not for the facebook"),
        ("[channel-twitter]\na=1\n", "section [channel-twitter] is not for the facebook"),
        ("[channel-facebook-x]\na=1\n", "section [channel-facebook-x] is not for the"),
        ("[channel-facebook-monitor-m]\na=1\n", "no [channel-facebook] section"),
        (
            "[channel-facebook]\nreconnection-timeout=5\n",
            "[channel-facebook] reconnection-timeout: '5'",
        ),
    ],
)
def test_a_package_options_file_only_sets_its_channel(
    db_url: str, dms: Path, tmp_path: Path, cfg: str, words: str
) -> None:
    package = _package_v2(tmp_path / "driver-v2")
    (package / "driver-for-facebook-options.cfg").write_text(cfg)
    before, tree = snapshot(db_url), _tree(dms)
    result = _install("facebook", "--package", str(package))
    assert result.exit_code == 2
    assert f"(driver-for-facebook-options.cfg): {words}" in result.stderr
    assert snapshot(db_url) == before and _tree(dms) == tree


def test_an_installed_options_file_with_other_sections_is_read_as_it_is(
    db_url: str, dms: Path, tmp_path: Path
) -> None:
    """A driver installed before packages were checked may have [log] in its options file:
    another channel and an upgrade still work, and name the right file if they fail."""

    package = _package_v2(tmp_path / "driver-v2")
    assert _install("facebook", "--package", str(package)).exit_code == 0
    name = "driver-for-facebook-options.cfg"
    installed = dms / "media-channel-drivers/channel-facebook" / name

    def legacy(text: str) -> None:  # the file, and the record, as an older install left them
        installed.write_text(text)
        digest = hashlib.sha256(text.encode()).hexdigest()
        key = f"file:media-channel-drivers/channel-facebook/{name}"
        _user_option(db_url, "gsetup-driver-facebook", key, digest)

    legacy(installed.read_text() + "[log]\nverbose=all\n")
    acme = _install("facebook", "--channel", "acme")
    assert acme.exit_code == 0, acme.stderr
    assert ("channel-facebook-acme", "x-new-in-v2") in _options(db_url)
    v3 = _package_v2(tmp_path / "driver-v3")
    manifest = v3 / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("9.0.016.07", "9.0.016.08"))
    args = ["driver", "upgrade", "facebook", "--package", str(v3), "--dms", "DMS_1", "--single"]
    upgrade = run_cli(*args, "--set", "accept_terms=true", "--yes", "--dry-run")
    assert upgrade.exit_code == 0, upgrade.stderr
    legacy("[channel-facebook]\nreconnection-timeout=5\n")
    refused = run_cli(*args, "--set", "accept_terms=true", "--yes", "--dry-run")
    assert refused.exit_code == 2
    where = f"{installed.parent} ({name}): [channel-facebook] reconnection-timeout"
    assert where in refused.stderr


@pytest.mark.parametrize(
    "given",
    ["option.reconnection-timeout=5", "option.x-new-in-v2=no", "gsa_channel_name=Other",
     "channel=acme", "sku=1"],
)  # fmt: skip
def test_upgrade_refuses_a_set_it_does_not_read(
    db_url: str, dms: Path, tmp_path: Path, given: str
) -> None:
    """The upgrade reads only tenant, dms and accept_terms; a --set of anything else (a
    channel option, a Hub answer) was dropped without a word, the upgrade planned and
    applied without it. It is refused, naming it (an answers file may hold them: an
    install's is reused)."""
    assert _install("facebook").exit_code == 0
    before = _options(db_url)
    package = _package_v2(tmp_path / "driver-v2")
    args = ["driver", "upgrade", "facebook", "--package", str(package), "--dms", "DMS_1"]
    example = str(EXAMPLES / "driver-facebook.yaml")
    reused = run_cli(*args, "--single", "--answers", example, "--yes", "--dry-run")
    assert reused.exit_code == 0, reused.stderr
    result = run_cli(*args, "--single", "--set", "accept_terms=true", "--set", given, "--yes")
    assert result.exit_code == 2, result.stdout
    key = given.partition("=")[0]
    assert result.stderr == (
        f"gsetup: error: --set '{key}': the upgrade reads only tenant, dms and accept_terms "
        "(change channel options with gsetup options set)\n"
    )
    assert _options(db_url) == before


def _planned_options(plan: dict[str, Any]) -> dict[tuple[str, str], tuple[str, Any]]:
    """A dry-run plan's option changes: (section, key) -> (action, value after)."""
    return {
        (c["section"], c["key"]): (c["action"], c.get("after", c.get("before")))
        for c in plan["changes"]
        if "section" in c
    }


def test_upgrade_plans_backup_first_and_refuses_a_pair_that_is_not_running(
    db_url: str, dms: Path, tmp_path: Path
) -> None:
    """The dry run shows the pair's state, the steps and each member's plan; the real run
    needs both members running (tests/test_upgrade.py runs them)."""
    backup_dir = tmp_path / "SMServer-backup"
    _add_dms(db_url, "DMS_Backup", backup_dir)
    _add_dms(db_url, "DMS_1", dms, backup="DMS_Backup")
    for name in ("DMS_1", "DMS_Backup"):
        assert _install("facebook", "--dms", name).exit_code == 0
    package = _package_v2(tmp_path / "driver-v2")
    args = ["driver", "upgrade", "facebook", "--package", str(package), "--dms", "DMS_Backup"]

    refused = run_cli(*args, "--yes")
    assert refused.exit_code == 2 and "accept_terms" in refused.stderr

    before, tree = snapshot(db_url), _tree(dms)
    planned = run_cli(*args, "--set", "accept_terms=true", "--yes", "--dry-run", "--json")
    assert planned.exit_code == 2, planned.stderr  # the run would be refused: see problems
    report = planned.json()
    assert [(s["action"], s["dms"]) for s in report["steps"]] == [
        ("stop", "DMS_Backup"),
        ("install", "DMS_Backup"),
        ("start", "DMS_Backup"),
        ("switchover", "DMS_Backup"),
        ("stop", "DMS_1"),
        ("install", "DMS_1"),
        ("start", "DMS_1"),
    ]
    assert [(p["role"], p["dms"]) for p in report["plans"]] == [
        ("backup", "DMS_Backup"),
        ("primary", "DMS_1"),
    ]
    assert "DMS_1 is not running" in report["problems"]
    for plan in report["plans"]:
        options = _planned_options(plan)
        assert options[("channel-facebook", "x-new-in-v2")] == ("create", "yes")
        # Untouched since installed: follows the new version.
        assert options[("channel-facebook", "driver-classname")][1] == "com.genesyslab.NewDriver"
        assert ("channel-facebook", "ucs-in-use") not in options  # the user's: kept as it is
        assert options[("gsetup-driver-facebook", "version")] == ("update", "9.0.016.07")

    shown = run_cli(*args, "--set", "accept_terms=true", "--yes", "--dry-run")
    assert shown.exit_code == 2, shown.stderr
    assert "The pair now" in shown.stdout and "Plan (nothing written)" in shown.stdout
    assert "DMS_1 is not running" in shown.stdout  # what would stop the upgrade

    done = run_cli(*args, "--set", "accept_terms=true", "--yes")
    assert done.exit_code == 2
    assert "nothing was changed" in done.stderr and "DMS_Backup is not running" in done.stderr
    assert snapshot(db_url) == before and _tree(dms) == tree


def test_an_archive_with_a_path_traversal_entry_is_refused(
    db_url: str, dms: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "manifest.yaml",
            'driver: facebook\nversion: "1"\nfiles:\n  - driver-for-facebook-options.cfg\n',
        )
        zf.writestr("driver-for-facebook-options.cfg", "[channel-facebook]\n")
        zf.writestr("../../evil.txt", "gotcha")
    before, tree = snapshot(db_url), _tree(dms)
    result = _install("facebook", "--package", str(archive))
    assert result.exit_code == 2
    assert "outside the package" in result.stderr
    assert snapshot(db_url) == before and _tree(dms) == tree
    assert not list(tmp_path.rglob("evil.txt"))


def test_a_real_package_over_another_installed_version_points_to_upgrade(
    db_url: str, dms: Path, tmp_path: Path
) -> None:
    assert _install("facebook").exit_code == 0
    result = _install("facebook", "--package", str(_package_v2(tmp_path / "v2")))
    assert result.exit_code == 2 and "gsetup driver upgrade" in result.stderr


def test_list_and_unknown_names(db_url: str, dms: Path) -> None:
    assert run_cli("driver", "list", "--json").json() == []
    assert _install("twitter").exit_code == 0
    listed = run_cli("driver", "list", "--dms", "DMS_1", "--json").json()
    assert listed[0]["version"] == "gsetup-builtin-1"
    assert (
        "media-channel-drivers/channel-twitter/driver-for-twitter-options.cfg" in listed[0]["files"]
    )
    assert "channel-twitter" in run_cli("driver", "list").stdout
    assert run_cli("driver", "install", "rss", "--yes").exit_code == 2
    missing = run_cli("driver", "uninstall", "--yes", "facebook", "--dms", "DMS_1")
    assert missing.exit_code == 2 and "channel-facebook" in missing.stderr
