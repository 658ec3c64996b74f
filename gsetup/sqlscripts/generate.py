"""Rewrite the generated scripts: ``python -m gsetup.sqlscripts.generate [--check]``.

Writes sql/<dbms>/<script> at the repository root. The package data the commands ship and run
(gsetup/sqlscripts/data) is a symbolic link to that folder, so there is one copy of each script.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gsetup.sqlscripts.catalog import DBMSES, GROUPS, scripts_in_run_order
from gsetup.sqlscripts.render import render_script

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent


def expected_files(repo_root: Path = REPO_ROOT) -> dict[Path, str]:
    """Every generated file and the text the generator makes for it now."""
    return {
        repo_root / "sql" / dbms.name / script.name: render_script(script, dbms.name)
        for dbms in DBMSES
        for script in scripts_in_run_order(list(GROUPS))
    }


def write_all(repo_root: Path = REPO_ROOT) -> list[Path]:
    """Write every generated file; return the paths written."""
    written: list[Path] = []
    for path, text in expected_files(repo_root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        # newline="\n": the checked-in bytes must not depend on the generating platform.
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def drifted(repo_root: Path = REPO_ROOT) -> list[Path]:
    """Generated files that are missing or differ from what the generator makes now."""
    return [
        path
        for path, text in expected_files(repo_root).items()
        if not path.is_file() or path.read_bytes() != text.encode("utf-8")
    ]


def main(argv: list[str]) -> int:
    """Entry point: regenerate and list what was written; ``--check`` only reports drift."""
    if "--check" in argv:
        stale = drifted()
        for path in stale:
            print(f"out of date: {path}")
        return 1 if stale else 0
    for path in write_all():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
