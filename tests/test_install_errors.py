"""Every bad input to the installers: one clear message, exit 2, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import run_cli, snapshot, write_tree

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_tree(
        tmp_path,
        {
            "unknown-key.yaml": "tenant: Environment\ncolour: blue\n",
            "bad-bool.yaml": "tenant: Environment\niwd_custom_properties: maybe\n",
            "bad-tenant.yaml": "tenant: Nowhere\nstrategy_dir: s\n",
            "bad-rule.yaml": "tenant: Environment\nstrategy_dir: s\ncapacity_rule: Gold\n",
            "list.yaml": "- tenant\n",
            "broken.yaml": "tenant: [Environment\n",
            "clear-password.yaml": "tenant: Environment\nuser: bob\npassword: hunter2\n",
            "a-file": "I am a file",
            "file-dir.yaml": "tenant: Environment\nstrategy_dir: a-file\n",
            "unknown.ini": "[ConfigServer]\nUser=x\n[Other]\nKey=v\n",
            "slash-tenant.yaml": "tenant: a/b\n",
        },
    )
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("install", "myspace-bp", "--yes"),
            "no package 'myspace-bp'; the packages are: facebook-bp",
        ),
        (
            ("install", "facebook-bp-iwd", "--set", "tenant=Environment", "--yes"),
            "facebook-bp-iwd requires facebook-bp in tenant 'Environment'",
        ),
        (
            ("install", "rss-bp", "--answers", "unknown-key.yaml", "--yes"),
            "unknown-key.yaml: unknown key 'colour'; known keys: ",
        ),
        (
            ("install", "rss-bp", "--answers", "bad-bool.yaml", "--yes"),
            "bad-bool.yaml: key 'iwd_custom_properties': 'maybe' is not true or false",
        ),
        (
            ("install", "rss-bp", "--answers", "bad-tenant.yaml", "--yes"),
            "bad-tenant.yaml: key 'tenant': 'Nowhere' is not one of the choices: Environment",
        ),
        (
            ("install", "rss-bp", "--answers", "bad-rule.yaml", "--yes"),
            "bad-rule.yaml: key 'capacity_rule': 'Gold' is not one of the choices: "
            "Default_Social_Media_Capacity_rule",
        ),
        (
            ("install", "rss-bp", "--answers", "list.yaml", "--yes"),
            "list.yaml: an answers file is a mapping",
        ),
        (
            ("install", "rss-bp", "--answers", "broken.yaml", "--yes"),
            "broken.yaml: line 2: not valid YAML",
        ),
        (
            ("install", "rss-bp", "--answers", "missing.yaml", "--yes"),
            "answers file missing.yaml: no such file",
        ),
        (
            ("install", "rss-bp", "--answers", "file-dir.yaml", "--yes"),
            "file-dir.yaml: key 'strategy_dir': ",
        ),
        (
            ("install", "rss-bp", "--answers", "unknown.ini", "--yes"),
            "unknown.ini: unknown key [Other] Key; known keys: [ConfigServer] ApplicationName, "
            "[ConfigServer] Host, [ConfigServer] Password, [ConfigServer] Port, [ConfigServer] "
            "User, [IPCommon] DataModel, [IPCommon] InstallPath",  # sorted: the same every run
        ),
        (("install", "rss-bp", "--set", "tenant", "--yes"), "--set 'tenant': use --set key=value"),
        (
            ("install", "rss-bp", "--set", "tenant=Environment", "--set", "size=3", "--yes"),
            "--set: unknown key 'size'",
        ),
        (("uninstall", "rss-bp"), "rss-bp is not installed in tenant 'Environment'"),
        (("uninstall", "rss-bp", "-t", "Nope"), "unknown tenant 'Nope'"),
    ],
)
def test_bad_input(db_url: str, files: Path, args: tuple[str, ...], message: str) -> None:
    before = snapshot(db_url)
    listing = sorted(p.name for p in files.iterdir())
    result = run_cli(*args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(db_url) == before
    assert sorted(p.name for p in files.iterdir()) == listing


def test_clear_password_in_yaml_is_refused_and_not_echoed(
    server_db_url: str, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GSETUP_USER")
    monkeypatch.delenv("GSETUP_PASSWORD")
    result = run_cli("install", "rss-bp", "--answers", "clear-password.yaml", "--yes")
    assert result.exit_code == 2
    assert "clear-password.yaml: key 'password': give a secret as {env: NAME}" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_a_missing_password_says_how_it_can_be_given(
    server_db_url: str, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--set never takes a secret (it would be a clear text on the command line), so the
    refusal of a missing password does not send the user there."""
    from tests.helpers import PG_ADMIN

    monkeypatch.delenv("GSETUP_PASSWORD")
    missing = run_cli("install", "rss-bp", "--set", "tenant=Environment", "--yes")
    assert missing.exit_code == 2
    assert missing.stderr == (
        "gsetup: error: no answer for 'password' (Password): give it in the answers file as "
        "{env: NAME} or {file: PATH}\n"
    )
    assert "--set" not in missing.stderr
    refused = run_cli("install", "rss-bp", "--set", "tenant=Environment", "--set", "password=x")
    assert refused.exit_code == 2 and "give a secret as {env: NAME}" in refused.stderr
    monkeypatch.setenv("DEPLOY_PW", "x")
    (files / "pw.yaml").write_text(f"user: {PG_ADMIN}\npassword: {{env: DEPLOY_PW}}\n")
    wrong = run_cli("install", "rss-bp", "--answers", "pw.yaml", "--set", "tenant=Environment")
    assert wrong.exit_code == 2 and "no answer for" not in wrong.stderr  # a failed login


def test_server_login_from_answers_secret_reference(
    server_db_url: str, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import PG_ADMIN, PG_ADMIN_PASSWORD

    monkeypatch.delenv("GSETUP_USER")
    monkeypatch.delenv("GSETUP_PASSWORD")
    monkeypatch.setenv("DEPLOY_PW", PG_ADMIN_PASSWORD)
    (files / "login.yaml").write_text(
        f"tenant: Environment\nstrategy_dir: s\nuser: {PG_ADMIN}\npassword: {{env: DEPLOY_PW}}\n"
    )
    result = run_cli("install", "rss-bp", "--answers", "login.yaml", "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert PG_ADMIN_PASSWORD not in result.stdout
    history = run_cli("--user", PG_ADMIN, "history", "--json")
    assert history.exit_code == 2  # no password in the environment any more: refused
    monkeypatch.setenv("GSETUP_PASSWORD", PG_ADMIN_PASSWORD)
    entries = run_cli("--user", PG_ADMIN, "history", "--json").json()
    assert entries[0]["package"] == "rss-bp" and "password" not in entries[0]["answers"]
    assert entries[0]["account"] == PG_ADMIN


def test_a_viewer_cannot_install(
    server_db_url: str, files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GSETUP_NEW_PASSWORD", "viewer-password")
    assert run_cli("account", "create", "vic").exit_code == 0
    assert (
        run_cli("account", "grant", "vic", "-t", "Environment", "--role", "viewer").exit_code == 0
    )
    monkeypatch.setenv("GSETUP_USER", "vic")
    monkeypatch.setenv("GSETUP_PASSWORD", "viewer-password")
    before = snapshot(server_db_url)
    result = run_cli("install", "rss-bp", "--set", "tenant=Environment", "--yes")
    assert result.exit_code == 2
    assert "is a viewer in tenant 'Environment' and may not change it" in result.stderr
    assert snapshot(server_db_url) == before
    assert not (files / "s").exists()


def test_unwritable_destination(db_url: str, files: Path) -> None:
    # /proc refuses new files even to root, whatever its permission bits say.
    result = run_cli(
        "install",
        "rss-bp",
        "--set",
        "tenant=Environment",
        "--set",
        "strategy_dir=/proc/gsetup-strategies",
        "--yes",
    )
    assert result.exit_code == 2
    assert "key 'strategy_dir': /proc is not writable" in result.stderr


def test_an_answer_nobody_wrote_is_named_by_its_key_alone(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A default's refusal reads `strategy_dir: ...` (docs/answers.md), not `default: key
    'strategy_dir': ...`, and so does an answer typed at the prompt."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from gsetup.wizards.collect import Prompter, collect
    from gsetup.wizards.questions import Question

    home = tmp_path / "home-with-a-file"
    home.mkdir()
    (home / "Strategies").write_text("not a directory")
    before = snapshot(db_url)
    given = ("--set", "tenant=Environment", "--set", f"install_home={home}")
    result = run_cli("install", "rss-bp", *given, "--yes")
    assert (result.exit_code, result.stderr) == (
        2,
        f"gsetup: error: strategy_dir: {home}/Strategies is a file, not a directory\n",
    )
    assert snapshot(db_url) == before

    def whole(value: str) -> int:
        if not value.isdigit():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)

    question = Question("port", "Port:", "A port.", validate=whole)
    with create_pipe_input() as keys:
        keys.send_text("x\r4000\r")  # refused, asked again, then taken
        prompter = Prompter(input=keys, output=DummyOutput())
        assert collect([question], [], prompter=prompter, yes=False) == {"port": 4000}
    assert capsys.readouterr().err == "port: 'x' is not a whole number\n"


def test_answers_check(files: Path) -> None:
    ok = run_cli("answers", "check", str(EXAMPLES / "facebook-bp.yaml"), "--json")
    assert ok.exit_code == 0, ok.stderr
    assert ok.json()["answers"]["tenant"] == "Environment"
    # What `install --answers FILE --yes` needs: the response file names no tenant.
    silent = run_cli("answers", "check", str(EXAMPLES / "genesys_silent.ini"), "--json")
    assert silent.exit_code == 2
    assert "no answer for 'tenant'" in silent.stderr
    assert silent.json()["valid"] is False and "'tenant'" in silent.json()["error"]
    # ... which the install is given with --tenant or --set, as answers check is.
    for given in (("--tenant", "Environment"), ("--set", "tenant=Environment")):
        with_tenant = run_cli("answers", "check", str(EXAMPLES / "genesys_silent.ini"), *given)
        assert with_tenant.exit_code == 0, with_tenant.stderr
    told = ("--set", "tenant=Acme", "--set", "strategy_dir=/srv/s", "--json")
    over = run_cli("answers", "check", str(EXAMPLES / "facebook-bp.yaml"), *told).json()
    assert (over["answers"]["tenant"], over["answers"]["strategy_dir"]) == ("Acme", "/srv/s")
    both = run_cli("answers", "check", "bad-bool.yaml", "-t", "A", "--set", "tenant=B")
    assert both.exit_code == 2 and "--tenant and --set tenant both given" in both.stderr
    wrong = run_cli("answers", "check", str(EXAMPLES / "facebook-bp.yaml"), "--set", "colour=x")
    assert wrong.exit_code == 2 and "--set: unknown key 'colour'" in wrong.stderr
    bad = run_cli("answers", "check", "bad-bool.yaml")
    assert bad.exit_code == 2 and "'maybe' is not true or false" in bad.stderr
    unknown = run_cli("answers", "check", "unknown-key.yaml", "--package", "twitter-bp")
    assert unknown.exit_code == 2 and "unknown key 'colour'" in unknown.stderr
    # No tenants to choose from without a database, but a name no tenant can have is refused.
    for kind in (("--package", "facebook-bp"), ("--driver", "twitter")):
        slash = run_cli("answers", "check", "slash-tenant.yaml", *kind)
        assert slash.exit_code == 2
        assert slash.stderr == (
            "gsetup: error: slash-tenant.yaml: key 'tenant': invalid tenant name 'a/b': use 1 "
            "to 255 characters without '/', control characters or surrounding spaces\n"
        )


def test_answers_check_of_driver_files(files: Path) -> None:
    for driver in ("facebook", "twitter"):
        ok = run_cli(
            "answers",
            "check",
            str(EXAMPLES / f"driver-{driver}.yaml"),
            "--driver",
            driver,
            "--json",
        )
        assert ok.exit_code == 0, ok.stderr
        assert ok.json()["answers"]["gsa_api_key"] == "(env secret)"  # not read, only checked
        told = ("--tenant", "Acme", "--set", "rpc_cache_timeout=120", "--json")
        over = run_cli(
            "answers", "check", str(EXAMPLES / f"driver-{driver}.yaml"), "--driver", driver, *told
        )
        assert over.exit_code == 0, over.stderr
        answers = over.json()["answers"]
        assert (answers["tenant"], answers["rpc_cache_timeout"]) == ("Acme", 120)
    example = (EXAMPLES / "driver-twitter.yaml").read_text()
    cases = {
        "range.yaml": (
            example.replace("grouping-timeout: 60", "grouping-timeout: 5"),
            "grouping-timeout",
        ),
        "terms.yaml": (
            example.replace("accept_terms: true", "accept_terms: false"),
            "accept_terms",
        ),
        "clear.yaml": (
            re.sub(r"(?m)^gsa_password: .*$", "gsa_password: hunter2", example),
            "give a secret as {env: NAME}",
        ),
        "unknown.yaml": (example + "colour: blue\n", "unknown key 'colour'"),
        "rpc.yaml": (
            example.replace("rpc_cache_timeout: 90", "rpc_cache_timeout: -1"),
            "rpc_cache_timeout",
        ),
    }
    for name, (text, message) in cases.items():
        (files / name).write_text(text)
        bad = run_cli("answers", "check", name, "--driver", "twitter")
        assert bad.exit_code == 2, name
        assert message in bad.stderr and f"{name}" in bad.stderr, (name, bad.stderr)
        assert "hunter2" not in bad.stderr


def test_a_strategy_dir_holding_the_configuration_database_is_refused(
    files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strategy directory is replaced as a whole: the database file would go with it."""
    from gsetup.configdb.database import open_database

    database = files / "state" / "db" / "gsetup.db"
    database.parent.mkdir(parents=True)
    url = f"sqlite:///{database}"
    open_database(url)
    monkeypatch.setenv("GSETUP_DB", url)
    before, listing = snapshot(url), sorted(database.parent.parent.rglob("*"))
    for directory in (database.parent, database.parent.parent):
        result = run_cli(
            "install", "rss-bp", "--set", "tenant=Environment", "--set",
            f"strategy_dir={directory}", "--yes",
        )  # fmt: skip
        assert result.exit_code == 2, result.stdout
        assert result.stderr == (
            f"gsetup: error: --set: key 'strategy_dir': {directory} holds the configuration "
            f"database {database}; give a directory of its own\n"
        )
    assert snapshot(url) == before and sorted(database.parent.parent.rglob("*")) == listing


@pytest.mark.parametrize(
    ("package", "base", "key", "value"),
    [
        ("facebook-bp-iwd", "facebook-bp", "capacity_rule", "Default_Social_Media_Capacity_rule"),
        ("twitter-bp-iwd", "twitter-bp", "iwd_custom_properties", "false"),
    ],
)
def test_an_add_on_refuses_the_answers_it_does_not_ask(
    db_url: str, files: Path, package: str, base: str, key: str, value: str
) -> None:
    """An add-on asks neither the capacity rule (its base package's applies) nor the iWD
    checkbox (it always adds the properties): an answer to either was taken and ignored. The
    known keys listed are every one install takes, the login's too, as answers check lists."""
    assert run_cli("install", base, "--tenant", "Environment", "--yes").exit_code == 0
    (files / "add-on.yaml").write_text(f"tenant: Environment\n{key}: {value}\n")
    before = snapshot(db_url)
    for given, where in (
        (("--answers", "add-on.yaml"), "add-on.yaml"),
        (("--tenant", "Environment", "--set", f"{key}={value}"), "--set"),
    ):
        result = run_cli("install", package, *given, "--yes")
        assert (result.exit_code, result.stderr) == (
            2,
            f"gsetup: error: {where}: unknown key '{key}'; known keys: user, password, tenant, "
            "install_home, strategy_dir\n",
        )
    assert snapshot(db_url) == before
    checked = run_cli("answers", "check", "add-on.yaml", "--package", package)
    assert checked.exit_code == 2
    assert checked.stderr == (
        f"gsetup: error: add-on.yaml: unknown key '{key}'; known keys: user, password, tenant, "
        "install_home, strategy_dir\n"
    )
    assert key not in run_cli("answers", "schema", package).json()["properties"]
    # Without --package the file may be for any package: a base package asks the key.
    assert run_cli("answers", "check", "add-on.yaml").exit_code == 0
