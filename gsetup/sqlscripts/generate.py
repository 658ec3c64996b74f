"""Rewrite the generated scripts: ``python -m gsetup.sqlscripts.generate [REPO_ROOT]``.

Writes sql/<dbms>/<script> at the repository root (for DBAs browsing the repository) and the
same bytes into the package data that the commands ship and run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gsetup.sqlscripts.catalog import DBMSES, GROUPS, scripts_in_run_order
from gsetup.sqlscripts.render import render_script
from gsetup.sqlscripts.shipped import DATA_DIR

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent.parent


def expected_files(repo_root: Path = REPO_ROOT) -> dict[Path, str]:
    """Every generated file and the text the generator makes for it now."""
    files: dict[Path, str] = {}
    for dbms in DBMSES:
        for script in scripts_in_run_order(list(GROUPS)):
            text = render_script(script, dbms.name)
            files[repo_root / "sql" / dbms.name / script.name] = text
            files[PACKAGE_DIR / DATA_DIR / dbms.name / script.name] = text
    return files


def write_all(repo_root: Path = REPO_ROOT) -> list[Path]:
    """Write every generated file; return the paths written."""
    written: list[Path] = []
    for path, text in expected_files(repo_root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        # newline="\n": the checked-in bytes must not depend on the generating platform.
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    """Entry point: regenerate and list what was written."""
    root = Path(argv[0]).resolve() if argv else REPO_ROOT
    for path in write_all(root):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
