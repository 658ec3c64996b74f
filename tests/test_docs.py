"""The examples of docs/cli.md run as documented, and the docs describe every command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _examples(page: str) -> list[tuple[list[str], int]]:
    """``$ gsetup ...`` lines of a page with the exit code a ``# exits N`` comment gives."""
    found = []
    for line in re.findall(r"^\$ gsetup (.+)$", (DOCS / page).read_text(), flags=re.MULTILINE):
        command, _, comment = line.partition("  # ")
        expected = re.match(r"exits (\d+)", comment)
        found.append((shlex.split(command), int(expected.group(1)) if expected else 0))
    return found


def test_cli_page_examples_run_in_order(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    examples = _examples("cli.md")
    assert len(examples) >= 15
    for args, expected in examples:
        result = run_cli(*args)
        assert result.exit_code == expected, (args, result.stdout, result.stderr)
    shown = run_cli("app", "show", "DMS_Primary", "--json").json()
    assert shown["attrs"]["backup"] == "Applications/DMS_Backup"


def test_runtime_quick_start_runs_as_written_on_a_fresh_machine(tmp_path: Path) -> None:
    """docs/runtime.md's first block, up to ``route run``, run line by line by a shell from
    the checkout with a new home: its DMS working directory did not exist (``driver install``
    refused it), nor did the Hub password file the example answer file reads."""
    import os
    import subprocess
    import sys

    page = (DOCS / "runtime.md").read_text()
    block = page.split("## From an install", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    lines = block.replace("=... ", "=test-secret-1 ").splitlines()
    lines = lines[: next(i for i, line in enumerate(lines) if line.startswith("gsetup route run"))]
    assert lines[0].startswith("mkdir") and len(lines) >= 8
    gsetup = f'gsetup() {{ "{sys.executable}" -m gsetup "$@"; }}'
    env = {**os.environ, "HUB_PASSWORD": "hub-pw-1", "PYTHONPATH": str(DOCS.parent)}
    for line in lines:
        done = subprocess.run(
            ["bash", "-c", f"{gsetup}\n{line}"],
            cwd=DOCS.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0 or line.startswith("gsetup doctor"), (line, done.stderr)
    home = Path(os.environ["HOME"])
    assert (home / ".config/gsetup/hub-password").stat().st_mode & 0o077 == 0
    drivers = run_cli("driver", "list", "--json").json()
    assert [(d["dms"], d["driver"], d["directory"]) for d in drivers] == [
        ("DMS_1", "facebook", str(home / "dms/media-channel-drivers/channel-facebook"))
    ]


def test_every_command_is_documented_in_cli_page() -> None:
    from gsetup.cli.app import app

    page = (DOCS / "cli.md").read_text()
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    missing = [n for n in names if n and f"`gsetup {n}" not in page]
    assert missing == []


def test_answers_page_lists_every_key_and_shows_the_real_example() -> None:
    from ruamel.yaml import YAML

    from gsetup.packages import catalogue
    from gsetup.wizards.bp import LOGIN_QUESTIONS, bp_questions

    page = (DOCS / "answers.md").read_text()
    keys = {q.key for p in catalogue() for q in (*LOGIN_QUESTIONS, *bp_questions(p, None))}
    assert {k for k in keys if f"| `{k}` |" not in page} == set()
    shown = page.split("`examples/facebook-bp.yaml`:\n\n```yaml\n", 1)[1].split("```", 1)[0]
    example = DOCS.parent / "examples" / "facebook-bp.yaml"
    yaml = YAML(typ="safe")
    assert yaml.load(shown) == yaml.load(example.read_text())
    for package in catalogue():
        assert f"examples/{package.name}.yaml" in page


def test_prerendered_root_help_is_current() -> None:
    """`gsetup --help` prints a cached text; regenerate with python -m gsetup.cli.helptext."""
    from gsetup.cli.helptext import HELP_FILE, render_root_help

    current = render_root_help()
    assert HELP_FILE.read_text(encoding="utf-8") == current, "run python -m gsetup.cli.helptext"


def test_console_script_fast_paths_match_the_cli() -> None:
    import subprocess
    import sys

    fast = subprocess.run(
        [sys.executable, "-m", "gsetup", "--help"], capture_output=True, text=True, check=True
    )
    slow = run_cli("--help")
    assert fast.stdout == slow.stdout
    version = subprocess.run(
        [sys.executable, "-m", "gsetup", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout == run_cli("--version").stdout


def _synopses(page: str) -> list[tuple[list[str], set[str]]]:
    """A page's ``gsetup COMMAND ... [--option ...]`` synopses (their indented ``[--``
    continuation lines included): the words before the first option, and the options."""
    found = []
    lines = (DOCS / page).read_text().splitlines()
    for n, line in enumerate(lines):
        words = re.match(r"\s*gsetup ((?:[a-z][a-z-]* )+)", line)
        block = [line]
        while n + len(block) < len(lines) and re.match(r"\s+\[--", lines[n + len(block)]):
            block.append(lines[n + len(block)])
        if words and "[--" in " ".join(block):
            found.append(
                (words.group(1).split(), set(re.findall(r"(?<![\w-])--[a-z-]+", " ".join(block))))
            )
    return found


def _command_options(words: list[str]) -> set[str]:
    """The ``--`` options of the command ``words`` names (its arguments after it ignored)."""
    from typer.main import get_command

    from gsetup.cli.app import app

    command: Any = get_command(app)
    for word in words:
        sub = command.get_command(None, word) if hasattr(command, "get_command") else None
        if sub is None:
            break
        command = sub
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o[:2] == "--"}


@pytest.mark.parametrize(
    "page", ["drivers.md", "upgrades.md", "traffic.md", "simulate.md", "runtime.md"]
)
def test_synopses_name_real_options(page: str) -> None:
    """A synopsis names only options its command has; the drivers' and replay's, all of them
    (runtime.md's show the ones their section is about)."""
    synopses = _synopses(page)
    assert synopses
    for words, shown in synopses:
        options = _command_options(words) - {"--help"}
        assert shown <= options, (words, shown - options)
        if page != "runtime.md":
            assert shown == options, (words, options - shown)


def test_a_test_said_to_run_on_both_stores_is_not_marked_sqlite_only() -> None:
    """A guarantee table's ``tests/X.py::test_y`` (SQLite and PostgreSQL) names a test that
    runs on both: one parametrized to ``["sqlite"]`` only made the claim false."""
    import ast

    claim = re.compile(r"`(tests/\w+\.py)::(\w+)`[^|`]*\(SQLite and PostgreSQL\)")
    found = [m.groups() for page in DOCS.glob("*.md") for m in claim.finditer(page.read_text())]
    assert found
    for path, name in found:
        source = (DOCS.parent / path).read_text()
        [test] = [
            node
            for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef) and node.name == name
        ]
        marks = [ast.get_source_segment(source, d) or "" for d in test.decorator_list]
        assert not any(re.search(r"\[\s*[\"']sqlite[\"']\s*\]|SQLITE_ONLY", m) for m in marks), (
            f"{path}::{name} is said to run on SQLite and PostgreSQL but runs on SQLite only"
        )
