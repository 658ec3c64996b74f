"""docs/doctor.md maps every "Important" note of the guide (tests/data/important-notes.txt,
drawn once from the guide) to how gsetup honours it, documents every doctor check and shows
what the doctor prints."""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from pathlib import Path

from gsetup.commands.doctor import CHECKS
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "tests" / "data" / "important-notes.txt"
PAGE = (ROOT / "docs" / "doctor.md").read_text(encoding="utf-8")
MAP = PAGE.split('## The guide\'s "Important" notes, one by one', 1)[1]


def _notes() -> list[tuple[str, str]]:
    lines = NOTES.read_text(encoding="utf-8").splitlines()
    return [
        (where, words)
        for where, _, words in (line.partition(" | ") for line in lines)
        if where and not where.startswith("#")
    ]


def _rows() -> dict[tuple[str, str], str]:
    found = re.findall(r"^\| (.+?) \| (.+?) \| (.*) \|$", MAP, flags=re.MULTILINE)
    return {(where, words): how for where, words, how in found[2:]}  # after the header


def test_every_important_note_has_a_row_that_says_how_it_is_honoured() -> None:
    notes, rows = _notes(), _rows()
    assert len(notes) >= 40 and len(set(notes)) == len(notes)
    assert [n for n in notes if not rows.get(n, "").strip()] == []
    assert [r for r in rows if r not in notes] == []  # no row for a note the list lacks


def test_the_map_names_only_real_checks_and_the_page_documents_every_check() -> None:
    cited = set(re.findall(r"doctor `([a-z0-9-]+)`", MAP))
    assert cited and cited <= set(CHECKS)
    documented = set(re.findall(r"^\| `([a-z0-9-]+)`(?: \(warning\))? \|", PAGE, re.MULTILINE))
    assert documented == set(CHECKS)


def test_the_page_shows_what_doctor_prints(db_url: str, tmp_path: Path) -> None:
    """The text report and the --json example, on the tenant they describe: Single Comment
    Routing with a Facebook channel that leaves x-submit-comments-itx unset, and an Interaction
    Server without delay-updates. The text's first fix, run, leaves the JSON's one finding."""
    examples = ROOT / "examples" / "facebook-bp-single-comment.yaml"
    steps = [
        ("install", "facebook-bp-single-comment", "--answers", str(examples), "--yes"),
        ("app", "create", "DMS_1", "--type", "DigitalMessagingServer"),
        ("options", "set", "--app", "DMS_1", "channel-facebook/driver-classname", "Driver"),
        ("options", "set", "--app", "DMS_1", "channel-facebook/inbound-route", "1:fb"),
        ("options", "set", "--app", "DMS_1", "endpoints:1/fb", "Facebook SCR Inbound Queue"),
        ("app", "create", "IXN_2", "--type", "InteractionServer"),
    ]
    for step in steps:
        assert run_cli(*step).exit_code == 0, step
    text = textwrap.dedent(PAGE.split("The text report:\n\n", 1)[1].split("\n\n", 1)[0])
    report = run_cli("doctor")
    assert (report.exit_code, report.stdout) == (3, text + "\n")
    fix = text.splitlines()[1].split("fix: gsetup ", 1)[1]
    assert run_cli(*shlex.split(fix)).exit_code == 0
    shown = json.loads(PAGE.split("```json\n", 1)[1].split("```", 1)[0])
    found = run_cli("doctor", "--json")
    assert (found.exit_code, found.json()) == (3, shown)
