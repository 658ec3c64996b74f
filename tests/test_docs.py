"""The examples of docs/cli.md run as documented, and the docs describe every command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

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
