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
    from gsetup.cli import app

    page = (DOCS / "cli.md").read_text()
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    missing = [n for n in names if n and f"`gsetup {n}" not in page]
    assert missing == []
