"""Conventions users bring from other tools: help, placeholders, completion, JSON, schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gsetup.errors import EXIT_BAD_INPUT
from gsetup.wording import a_or_an
from tests.helpers import run_cli
from tests.test_safety import EXAMPLES, gsetup


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the CLI with its click command."""
    from gsetup.cli.app import app
    from gsetup.cli.placeholders import build_command

    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(path: tuple[str, ...], command: Any) -> None:
        subs = getattr(command, "commands", None)
        if subs is None:
            found.append((path, command))
            return
        for name, sub in subs.items():
            walk((*path, name), sub)

    walk((), build_command(app))
    return found


# Commands that change something without a plan of their own (files, accounts, the schema).
CHANGING = {
    ("db", "init"),
    ("db", "upgrade"),
    ("db", "unlock"),
    ("account", "create"),
    ("account", "grant"),
    ("sql", "export"),
    ("options", "export"),
}


# Read commands that print a document (JSON Schema, SQL script) rather than a result, and
# servers, which run until stopped.
DOCUMENTS = {("answers", "schema"), ("sql", "show"), ("dms", "run"), ("route", "run")}


def test_help_placeholders_read_as_words_and_changing_commands_show_an_example() -> None:
    for path, command in _commands():
        result = run_cli(*path, "-h")
        assert result.exit_code == 0, path
        assert "<str>" not in result.stdout and "<list" not in result.stdout, path
        assert "{" not in result.stdout.splitlines()[0], path  # usage: NAME, not {name}
        changes = any(p.name in ("dry_run", "yes") for p in command.params)
        if changes or path in CHANGING:
            assert "Example: " in result.stdout, path
        elif path not in DOCUMENTS:  # a read command: --json for scripts
            assert "--json" in result.stdout, path


def test_root_help_and_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    short = gsetup("-h")
    assert short.returncode == 0 and short.stdout == gsetup("--help").stdout
    assert "--install-completion" in short.stdout and "--db URL" in short.stdout
    # Without a parent shell to detect (a CI runner), typer's own switch names the shell.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    script = gsetup("--show-completion", "bash")
    assert script.returncode == 0 and "_GSETUP_COMPLETE" in script.stdout
    env = {
        **os.environ,
        "_GSETUP_COMPLETE": "complete_bash",
        "COMP_WORDS": "gsetup opt",
        "COMP_CWORD": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "gsetup"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.stdout.split() == ["options"]


def test_version_json_hides_the_password() -> None:
    url = "postgresql+psycopg://deployer:s3cret@db.example.com/gsetup"
    result = gsetup("--db", url, "version", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"gsetup", "schema", "python", "sqlalchemy", "database"}
    assert data["database"] == "postgresql+psycopg://deployer:***@db.example.com/gsetup"
    assert "s3cret" not in result.stdout


def test_sql_list_json() -> None:
    scripts = json.loads(gsetup("sql", "list", "--json", "--package", "twitter").stdout)
    assert [s["order"] for s in scripts] == list(range(1, len(scripts) + 1))
    assert {s["package"] for s in scripts} == {"twitter"}
    assert "postgresql" in scripts[0]["dbms"]


def _schema_for(example: Path) -> dict[str, Any]:
    stem = example.stem
    if stem.startswith("driver-"):
        args: tuple[str, ...] = ("answers", "schema", "--driver", stem.removeprefix("driver-"))
    else:
        args = ("answers", "schema", "twitter-bp" if example.suffix == ".ini" else stem)
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    return dict(result.json())


def test_the_answers_schema_validates_every_example_and_rejects_unknown_keys() -> None:
    import jsonschema

    from gsetup.wizards.answers import load_answers_file

    examples = sorted(p for p in EXAMPLES.iterdir() if p.is_file())  # scenarios/: not answers
    assert len(examples) >= 10
    for example in examples:
        schema = _schema_for(example)
        jsonschema.Draft202012Validator.check_schema(schema)
        values = dict(load_answers_file(example).values)
        if example.suffix == ".ini":
            values["tenant"] = "Environment"  # given with --tenant, as a response file has none
        jsonschema.Draft202012Validator(schema).validate(values)
        with pytest.raises(jsonschema.ValidationError, match="colour"):
            jsonschema.validate({**values, "colour": "blue"}, schema)
    schema = _schema_for(EXAMPLES / "twitter-bp.yaml")
    with pytest.raises(jsonschema.ValidationError, match="tenant"):
        jsonschema.validate({"install_home": "/srv/x"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tenant": "Environment", "password": "in clear"}, schema)


def test_answers_check_needs_what_a_run_without_prompts_needs(tmp_path: Path) -> None:
    partial = tmp_path / "partial.yaml"
    partial.write_text("iwd_custom_properties: true\n")
    result = run_cli("answers", "check", str(partial), "--package", "twitter-bp", "--json")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "no answer for 'tenant'" in result.stderr
    assert result.json() == {"file": str(partial), "valid": False, "error": result.json()["error"]}
    install = run_cli("install", "twitter-bp", "--answers", str(partial), "--yes")
    assert install.exit_code == EXIT_BAD_INPUT and "'tenant'" in install.stderr
    driver = tmp_path / "driver.yaml"
    driver.write_text("tenant: Environment\naccept_terms: true\n")
    refused = run_cli("answers", "check", str(driver), "--driver", "facebook")
    assert refused.exit_code == EXIT_BAD_INPUT and "'dms'" in refused.stderr


def test_section_headers_are_printed_not_eaten_as_markup(db_url: str) -> None:
    assert run_cli("app", "create", "DMS_1", "--type", "DigitalMessagingServer").exit_code == 0
    assert (
        run_cli(
            "options", "set", "channel-facebook/x", "[bold]y[/bold]", "--app", "DMS_1"
        ).exit_code
        == 0
    )
    for args in (("app", "show", "DMS_1"), ("object", "show", "Environment/Applications/DMS_1")):
        shown = gsetup(*args)
        assert "[channel-facebook]" in shown.stdout, args
        assert "x: [bold]y[/bold]" in shown.stdout, args
    listed = gsetup("app", "list")
    assert "DMS_1" in listed.stdout


def test_a_long_plan_is_summarised_per_section_and_all_lists_it(
    db_url: str, tmp_path: Path
) -> None:
    assert run_cli("app", "create", "DMS_1", "--type", "DigitalMessagingServer").exit_code == 0
    cfg = tmp_path / "many.cfg"
    lines = ["[channel-facebook]", *(f"k{i} = v{i}" for i in range(150)), "[hub]", "url = x"]
    cfg.write_text("\n".join(lines) + "\n")
    dry = run_cli("options", "import", str(cfg), "--app", "DMS_1", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert len(dry.stdout.splitlines()) < 60
    assert "Environment/Applications/DMS_1 [channel-facebook]: 100 to create" in dry.stdout
    assert "Environment/Applications/DMS_1 [hub]: 1 to create" in dry.stdout
    assert "101 more changes" in dry.stdout and "--all lists every one" in dry.stdout
    assert "151 to create" in dry.stdout
    every = run_cli("options", "import", str(cfg), "--app", "DMS_1", "--dry-run", "--all")
    assert all(f"] k{i}  = 'v{i}'" in every.stdout for i in range(150))


def test_history_pages_and_shows_changes_when_asked(db_url: str) -> None:
    for i in range(11):  # 22 entries: a tenant's creation, then its application's
        assert run_cli("tenant", "create", f"T{i}").exit_code == 0
        assert run_cli("app", "create", "A", "--type", "ChatServer", "-t", f"T{i}").exit_code == 0
    entries = run_cli("history", "--json").json()
    assert len(entries) == 20  # the default page
    assert entries[0]["tenant"] == "T10" and "changes" not in entries[0]
    paged = run_cli("history", "--json", "--limit", "3", "--changes").json()
    assert [e["tenant"] for e in paged] == ["T10", "T10", "T9"]
    assert paged[0]["changes"][0]["path"] == "T10/Applications/A"
    table = run_cli("history", "--limit", "1", "--changes")
    assert "Changes of entry" in table.stdout and "create T10/Applications/A" in table.stdout


def test_driver_install_takes_tenant_like_the_other_commands(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The example's secret references must resolve before anything else is checked.
    monkeypatch.setenv("GSETUP_HUB_API_KEY", "hub-key")
    password = Path.home() / ".config" / "gsetup" / "hub-password"
    password.parent.mkdir(parents=True, exist_ok=True)
    password.write_text("hub-password\n", encoding="utf-8")
    answers = str(EXAMPLES / "driver-facebook.yaml")
    result = run_cli("driver", "install", "facebook", "--tenant", "Nope", "-a", answers, "--yes")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "key 'tenant': 'Nope' is not one of the choices: Environment" in result.stderr


@pytest.mark.parametrize(
    ("noun", "phrase"),
    [
        ("InteractionServer", "an InteractionServer"),
        ("DigitalMessagingServer", "a DigitalMessagingServer"),
        ("Application", "an Application"),
        ("Attribute Value", "an Attribute Value"),
        ("'if' block", "an 'if' block"),
        ("'while' block", "a 'while' block"),
        ("UniversalContactServer", "a UniversalContactServer"),
        ("user", "a user"),
        ("operator", "an operator"),
    ],
)
def test_messages_put_the_article_a_name_takes(noun: str, phrase: str) -> None:
    assert a_or_an(noun) == phrase
