"""``gsetup route check`` and ``gsetup route replay`` on an installed Business Process (its
rule files placed under the install home), and bad traffic refused line by line."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from gsetup.runtime.classify.rules import RULES_DIR
from tests.bp_support import TRAFFIC
from tests.helpers import run_cli
from tests.runtime_support import install_facebook_bp, stop_mid_run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DOCS = EXAMPLES.parent / "docs"
MONITOR = "channel-facebook-monitor-page"  # a Facebook monitor section (genesys-facts.md)


@pytest.fixture
def installed(db_url: str, tmp_path: Path) -> Path:
    """facebook-bp installed in Environment, a DMS routing channel-facebook to it and an
    agent ann; returns the install home."""
    # No channel, though it has a route: the intake refuses it.
    return install_facebook_bp(
        db_url, tmp_path, ("ann",), {MONITOR: {"inbound-route": "1:facebook_queue"}}
    )


def test_check_and_replay_an_installed_business_process(installed: Path) -> None:
    rules = installed / RULES_DIR
    assert sorted(p.name for p in rules.iterdir()) == [
        "actionability.yaml",
        "english-sentiment.yaml",
        "screening.yaml",
    ]
    checked = run_cli("route", "check", "--json")
    assert checked.exit_code == 0, checked.stderr
    [process] = checked.json()["processes"]
    assert (process["package"], process["strategies"], process["subroutines"]) == (
        "facebook-bp",
        8,
        4,
    )
    assert process["rules"] == str(rules)

    replayed = run_cli("route", "replay", str(TRAFFIC / "fb-question.jsonl"), "--json")
    assert replayed.exit_code == 0, replayed.stderr
    report = replayed.json()
    outcome = {
        i["ref"]: (i["state"], i["stop_reason"], i["offered_to"]) for i in report["interactions"]
    }
    assert outcome == {"q-1": ("stopped", "question", []), "s-1": ("offered", None, ["ann"])}
    assert report["agents"] == {"ann": {"facebook": 1}}
    # docs/traffic.md shows this file and (shortened) this output.
    page = (DOCS / "traffic.md").read_text()
    shown_file = page.split("```jsonl\n", 1)[1].split("```", 1)[0]
    assert shown_file == (TRAFFIC / "fb-question.jsonl").read_text()
    shown = json.loads(page.split("(shortened):\n\n```json\n", 1)[1].split("```", 1)[0])
    assert {k: v for k, v in report.items() if k != "interactions"} == {
        k: v for k, v in shown.items() if k != "interactions"
    }
    for documented, actual in zip(shown["interactions"], report["interactions"], strict=True):
        assert {k: actual[k] for k in documented} == documented
    shown = run_cli("route", "replay", str(TRAFFIC / "fb-question.jsonl"))
    assert shown.exit_code == 0 and "question" in shown.stdout

    # The runtime reads the rule files of the install home: an edit that breaks one is
    # refused by check and replay alike, naming the file, the rule and the line.
    screening = rules / "screening.yaml"
    text = screening.read_text()
    line = text[: text.index("sentiment: positive")].count("\n") + 1
    screening.write_text(text.replace("sentiment: positive", "sentiment: glad"))
    for args in (("route", "check"), ("route", "replay", str(TRAFFIC / "fb-question.jsonl"))):
        refused = run_cli(*args)
        assert refused.exit_code == 2
        assert f"{screening}: line {line}: rule 'praise': sentiment is negative or positive" in (
            refused.stderr
        )
        assert "Traceback" not in refused.stderr


LONG = "x" * 3000  # a value of the file quoted in a message is cut to its first 40 characters
CUT = "'" + "x" * 40 + "'... (3000 characters)"
GOOD = json.loads((TRAFFIC / "fb-question.jsonl").read_text().splitlines()[2])
BAD_LINES = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "a line is a JSON object, not an array"),
    ('{"at": 0.5}', "out of order: at 0.5 is before the previous line's 1.0"),
    ('{"at": "soon"}', "at (seconds from the start, a number) is missing or not a number"),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "media_type": "fax"}}),
        "unknown media type 'fax'; the media types are: facebook, facebookprivatemessage, "
        "facebooksession",
    ),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "channel": "channel-x"}}),
        "unknown channel 'channel-x' of DMS_1; its channels are: channel-facebook",
    ),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "channel": MONITOR}}),
        f"unknown channel '{MONITOR}' of DMS_1; its channels are: channel-facebook",
    ),
    (
        json.dumps(
            {
                **GOOD,
                "inbound": {
                    **GOOD["inbound"],
                    "attached_data": {
                        **GOOD["inbound"]["attached_data"],
                        "_facebookItxType": "two",
                    },
                },
            }
        ),
        "wrong attached data type: attached_data._facebookItxType is an integer, not 'two'",
    ),
    (
        json.dumps(
            {
                **GOOD,
                "inbound": {
                    **GOOD["inbound"],
                    "attached_data": {**GOOD["inbound"]["attached_data"], "_facebookPostId": 17},
                },
            }
        ),
        "wrong attached data type: attached_data._facebookPostId is a string, not 17",
    ),
    ('{"at": 2, "agent": "zed", "action": "ready"}', "unknown agent 'zed'; the agents are: ann"),
    ('{"at": 2, "agent": ["ann"], "action": "ready"}', "unknown agent ['ann']; the agents"),
    ('{"at": 2, "agent": "ann", "action": "dance"}', "action is one of login, ready"),
    (
        '{"at": 2, "agent": "ann", "action": "accept", "interaction": {"id": 1}}',
        "interaction {'id': 1} is neither the external_id of an earlier inbound line",
    ),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "external_id": "x" * 256}}),
        "inbound.external_id is a non-empty string of at most 255 characters",
    ),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "channel": " "}}),
        "inbound.channel is a non-empty string of at most 255 characters",
    ),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "text": "caf\udce9"}}),
        "a string holds a lone surrogate (\\udce9); text is UTF-8 characters",
    ),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "text": "caf\u0000"}}),
        "a string holds U+0000 (NUL), which PostgreSQL text cannot hold",
    ),
    (
        '{"at": 2, "agent": "ann", "action": "accept", "interaction": "nope"}',
        "interaction 'nope' is neither the external_id of an earlier inbound line",
    ),
    ('{"at": 2, "driver": {"method": "Send", "ok": true}}', "driver.method is one of"),
    (
        '{"at": 2, "agent": "ann", "action": "reply", "text": "hi", "as": 5}',
        "as must be a non-empty string (the reply's name)",
    ),
    (
        '{"at": 2, "agent": "ann", "action": "done", "as": "r1"}',
        "as (a name) goes only with a reply or a draft",
    ),
    # A value of the file quoted in the reason is cut (it was echoed whole).
    (json.dumps({**GOOD, LONG: 1}), f"unknown key {CUT} here; the keys are: "),
    (json.dumps({**GOOD, "app": LONG}), f"app {CUT} is not a Digital Messaging Server"),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], LONG: 1}}),
        f"inbound: unknown field {CUT}; the fields are: ",
    ),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "media_type": "m" * 255}}),
        "unknown media type '" + "m" * 40 + "'... (255 characters); the media types are: ",
    ),
    (
        json.dumps({**GOOD, "inbound": {**GOOD["inbound"], "channel": "m" * 255}}),
        "unknown channel '" + "m" * 40 + "'... (255 characters) of DMS_1; its channels are: ",
    ),
    (json.dumps({"at": 2, "agent": LONG, "action": "ready"}), f"unknown agent {CUT}; the agents"),
    (
        json.dumps({"at": 2, "agent": ["a"] * 1000, "action": "ready"}),
        "unknown agent ['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',... (5000 characters); the agents",
    ),
    (
        json.dumps({"at": 2, "agent": "ann", "action": LONG}),
        f"action is one of login, ready, not_ready, logout, accept, reject, reply, draft, done, "
        f"not {CUT}",
    ),
    (
        json.dumps({"at": 2, "agent": "ann", "action": "accept", "interaction": LONG}),
        f"interaction {CUT} is neither the external_id of an earlier inbound line",
    ),
    (
        json.dumps({"at": 2, "driver": {"method": LONG, "ok": True}}),
        f"driver.method is one of SendMessage, SubmitPost, SubmitComment, not {CUT}",
    ),
]


def test_bad_traffic_lines_name_the_line_and_reason(installed: Path, tmp_path: Path) -> None:
    head = (TRAFFIC / "fb-question.jsonl").read_text().splitlines()[:3]
    traffic, store = tmp_path / "bad.jsonl", tmp_path / "kept.db"
    for line, reason in BAD_LINES:
        traffic.write_text("\n".join([*head, "", line]) + "\n")
        result = run_cli("route", "replay", str(traffic), "--store", f"sqlite:///{store}")
        assert result.exit_code == 2, (line, result.stdout)
        assert f"{traffic}: line 5: {reason}" in result.stderr, result.stderr
        assert len(result.stderr) < 1000 and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
        assert not store.exists()  # nothing ran
    # An action the runtime refuses is reported with the runtime's reason, and the run goes on.
    traffic.write_text("\n".join([*head[:2], '{"at": 1, "agent": "ann", "action": "done"}']))
    done = run_cli("route", "replay", str(traffic), "--json")
    assert done.exit_code == 0, done.stderr
    assert [(r["line"], r["status"], r["reason"]) for r in done.json()["refused"]] == [
        (3, 409, "agent 'ann' has no interaction that it holds")
    ]
    # A leading byte order mark is skipped, as option and answers files skip it.
    traffic.write_text("\ufeff" + "\n".join(head) + "\n", encoding="utf-8")
    marked = run_cli("route", "replay", str(traffic), "--json")
    assert marked.exit_code == 0, marked.stderr
    # A file whose lines only move the clock has no event: refused, nothing run.
    for ticks in ("", '{"at": 0}\n\n{"at": 5, "#": "only the clock"}\n'):
        traffic.write_text(ticks)
        result = run_cli("route", "replay", str(traffic), "--store", f"sqlite:///{store}")
        assert result.exit_code == 2, result.stdout
        assert result.stderr.startswith(f"gsetup: error: {traffic}: no events in the file")
        assert not store.exists()
    traffic.write_bytes(b'{"\xff": 1}\n')
    unreadable = {
        tmp_path / "missing.jsonl": f"traffic file {tmp_path / 'missing.jsonl'}: no such file",
        tmp_path: f"traffic file {tmp_path} is a directory, not a regular file",
        traffic: f"traffic file {traffic} is not UTF-8 text (byte 2)",
    }
    for path, message in unreadable.items():
        result = run_cli("route", "replay", str(path), "--store", f"sqlite:///{store}")
        assert result.exit_code == 2, path
        assert result.stderr == f"gsetup: error: {message}\n"
        assert not store.exists()


def test_intake_refuses_attached_data_of_the_wrong_type(tmp_path: Path) -> None:
    from gsetup.runtime.api import IntakeError, open_runtime
    from tests.bp_support import deployment

    deployed = deployment({"facebook-bp": "channel-facebook"}, tmp_path, agents={})
    runtime = open_runtime(
        "Environment", store_url=f"sqlite:///{tmp_path / 's.db'}", deployment=deployed
    )
    try:
        body = {**GOOD["inbound"], "attached_data": {"_facebookXML": ["<post/>"]}}
        with pytest.raises(
            IntakeError, match=r"attached_data\._facebookXML is a string"
        ) as refused:
            runtime.submit("Environment", "DMS_1", body)
        assert refused.value.status == 400
        nested = {**GOOD["inbound"], "attached_data": {"extra": {"list": [1]}}}
        with pytest.raises(
            IntakeError,
            match=r"a value is a string, a number or a JSON object \(a KV list\), not an array",
        ):
            runtime.submit("Environment", "DMS_1", nested)
        assert runtime.status("Environment").states == {}
    finally:
        runtime.close()


def test_iwd_packages_create_the_adapter_queue_only_when_missing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gsetup.configdb.database import open_database
    from gsetup.packages.stages import IWD_ADAPTER_QUEUE
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.state import DesiredObject, DesiredState, object_path

    monkeypatch.chdir(tmp_path)
    adapter = f"Environment/{object_path('queue', IWD_ADAPTER_QUEUE)}"

    def install(package: str) -> None:
        answers = EXAMPLES / f"{package}.yaml"
        result = run_cli("install", package, "--answers", str(answers), "--yes")
        assert result.exit_code == 0, result.stderr

    def queues() -> set[str]:
        return {o["path"] for o in run_cli("object", "list", "--json").json()}

    install("facebook-bp")
    install("facebook-bp-iwd")
    assert adapter in queues()
    checked = run_cli("route", "check", "--json")
    assert checked.exit_code == 0, checked.stderr
    assert [p["package"] for p in checked.json()["processes"]] == ["facebook-bp", "facebook-bp-iwd"]
    assert run_cli("uninstall", "facebook-bp-iwd", "-t", "Environment", "--yes").exit_code == 0
    assert adapter not in queues()  # the package made it: it goes with the package

    # A queue the iWD installation made is used as it is and survives the uninstall.
    db = open_database(db_url)
    try:
        state = DesiredState("Environment")
        state.add(DesiredObject("queue", object_path("queue", IWD_ADAPTER_QUEUE), {}))
        apply_state(db.engine, state, Operation("the iWD installation", "tests"))
    finally:
        db.engine.dispose()
    install("facebook-bp-iwd")
    assert run_cli("uninstall", "facebook-bp-iwd", "-t", "Environment", "--yes").exit_code == 0
    assert adapter in queues()


def test_replay_refuses_a_kept_store_that_is_not_empty(installed: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'kept.db'}"
    args = ("route", "replay", str(TRAFFIC / "fb-question.jsonl"), "--store", store)
    assert run_cli(*args).exit_code == 0
    again = run_cli(*args)  # the first run's rows would make every line a duplicate
    assert again.exit_code == 2, again.stdout
    assert again.stderr == (
        f"gsetup: error: --store {store}: the store holds 2 interactions; "
        "a replay needs an empty one\n"
    )


def test_a_long_replay_shows_its_progress_on_a_terminal_only(
    installed: Path, tmp_path: Path
) -> None:
    """An offer left unanswered for two virtual days: on a terminal, a bar (standard error)
    follows the virtual clock; piped, nothing but the report."""
    import subprocess
    import sys

    import pexpect

    post = {
        "media_type": "facebook",
        "channel": "channel-facebook",
        "external_id": "p-1",
        "text": "Where is my parcel?",
        "attached_data": {"_facebookPostId": "p-1", "_facebookActorId": "u-1"},
    }
    traffic = tmp_path / "idle.jsonl"
    lines = [
        {"at": 0, "agent": "ann", "action": "login"},
        {"at": 0, "agent": "ann", "action": "ready"},
        {"at": 1, "inbound": post},
        {"at": 2 * 86400, "agent": "ann", "action": "logout"},
    ]
    traffic.write_text("".join(json.dumps(line) + "\n" for line in lines))
    gsetup = str(Path(sys.executable).with_name("gsetup"))
    child = pexpect.spawn(gsetup, ["route", "replay", str(traffic)], encoding="utf-8", timeout=300)
    child.expect(r"Replaying.*virtual seconds")
    child.expect("Replay of Environment: 172800 virtual seconds")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    piped = subprocess.run(
        [gsetup, "route", "replay", str(traffic), "--json"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert piped.returncode == 0, piped.stderr
    assert "Replaying" not in piped.stdout + piped.stderr
    [itx] = json.loads(piped.stdout)["interactions"]
    assert itx["ref"] == "p-1" and itx["offered_to"][:2] == ["ann", "ann"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sighup_stops_a_replay_as_ctrl_c_does(installed: Path, tmp_path: Path) -> None:
    """The terminal closed mid-replay (SIGHUP): exit 129 and one line, the throw-away store
    removed."""
    import signal

    posts = [
        {"at": n, "inbound": {"media_type": "facebook", "channel": "channel-facebook",
                              "external_id": f"p-{n}", "text": "Where is my parcel?"}}
        for n in range(50)
    ]  # fmt: skip
    traffic = tmp_path / "idle.jsonl"  # left unanswered for a month: minutes of work
    lines = [*posts, {"at": 30 * 86400}]
    traffic.write_text("".join(json.dumps(line) + "\n" for line in lines))
    scratch = tmp_path / "tmp"
    status, out, err = stop_mid_run(["route", "replay", str(traffic)], scratch, signal.SIGHUP)
    assert (status, out, err) == (129, "", "\ninterrupted: the terminal was closed (SIGHUP)\n")
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_large_rule_file_shows_a_spinner_while_it_loads(installed: Path) -> None:
    """Over LARGE_FILE, a rule file takes seconds to load: on a terminal a spinner names it
    (standard error); piped, nothing is added. (LARGE_FILE is lowered to 64 KB here: a file
    of 1 MB takes about 15 s to load twice.)"""
    import subprocess
    import sys

    import pexpect

    from gsetup.runtime.classify.rules import LARGE_FILE_ENV

    large = 64 * 1024
    lexicon = "".join(f"  word{n}: {n % 9 - 4}\n" for n in range(large // 14))
    big = installed / RULES_DIR / "big.yaml"
    big.write_text(
        f"format: gsetup-rules/1\nname: BigLexicon\nkind: sentiment\nlexicon:\n{lexicon}"
    )
    assert big.stat().st_size >= large
    env = {**os.environ, LARGE_FILE_ENV: str(large)}
    gsetup = str(Path(sys.executable).with_name("gsetup"))
    child = pexpect.spawn(gsetup, ["route", "check"], encoding="utf-8", timeout=600, env=env)
    child.expect(r"Loading the rule file big\.yaml \(0\.\d MB\)")
    child.expect("rule files: .*big.yaml")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    piped = subprocess.run(
        [gsetup, "route", "check", "--json"], check=False, capture_output=True, text=True, env=env
    )
    assert piped.returncode == 0, piped.stderr
    assert "Loading" not in piped.stdout + piped.stderr
    [process] = json.loads(piped.stdout)["processes"]
    assert "big.yaml" in process["rule_files"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_store_in_the_configuration_database_file_is_refused(
    installed: Path, db_url: str, tmp_path: Path
) -> None:
    """Every --store naming the embedded configuration database's file, however its path is
    spelt, is refused before anything is written: the runtime's tables would go among the
    configuration's."""
    import sqlite3
    import subprocess
    import sys

    config = tmp_path / "config.db"
    assert db_url == f"sqlite:///{config}"
    (tmp_path / "link.db").symlink_to(config)

    def tables() -> list[str]:
        with contextlib.closing(sqlite3.connect(config)) as conn:
            return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master"))

    before = tables()
    traffic = str(TRAFFIC / "fb-question.jsonl")
    default = f"sqlite:///{tmp_path / 'gsetup-runtime.db'}"
    for spelt in (config, tmp_path / "sub" / ".." / "config.db", tmp_path / "link.db"):
        store = f"sqlite:///{spelt}"
        refusal = (
            f"gsetup: error: --store {store} is the configuration database's file: the "
            f"interaction store needs a file of its own, e.g. {default}\n"
        )
        for args in (
            ("route", "replay", traffic, "--store", store),
            ("route", "status", "--store", store),
            ("agent", "remove", "ann", "--store", store, "--yes"),
        ):
            result = run_cli(*args)
            assert (result.exit_code, result.stderr) == (2, refusal), args
        # in a process of its own: were it not refused, it would serve until stopped
        run = subprocess.run(
            [sys.executable, "-m", "gsetup", "route", "run", "--listen", "127.0.0.1:0",
             "--store", store],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert (run.returncode, run.stderr) == (2, refusal)
    assert tables() == before
    assert "ann" in {a["name"] for a in run_cli("agent", "list", "--json").json()}
    # Another file beside it is a store of its own.
    result = run_cli("route", "replay", traffic, "--store", f"sqlite:///{tmp_path / 'kept.db'}")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_store_under_a_regular_file_names_the_file_in_the_way(
    installed: Path, tmp_path: Path
) -> None:
    (tmp_path / "file.txt").write_text("not a directory\n")
    traffic = str(TRAFFIC / "fb-question.jsonl")
    for store in (tmp_path / "file.txt" / "store.db", tmp_path / "file.txt" / "sub" / "s.db"):
        result = run_cli("route", "replay", traffic, "--store", f"sqlite:///{store}")
        assert (result.exit_code, result.stderr) == (
            2,
            f"gsetup: error: cannot create the interaction store {store}: "
            f"{tmp_path / 'file.txt'} is not a directory\n",
        )
    assert (tmp_path / "file.txt").read_text() == "not a directory\n"
