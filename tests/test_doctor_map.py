"""docs/doctor.md maps every "Important" note of the guide (tests/data/important-notes.txt,
drawn once from the guide) to how gsetup honours it, and documents every doctor check."""

from __future__ import annotations

import re
from pathlib import Path

from gsetup.commands.doctor import CHECKS

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
