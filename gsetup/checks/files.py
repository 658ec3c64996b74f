"""The files an install placed: each installed package's strategy files and its install home's
scripts and rule files are still there (someone may delete them by hand), and the strategy
files hold what gsetup recorded writing. Installing again re-creates what is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from gsetup.checks.findings import Finding, command
from gsetup.configure.snapshot import Snapshot
from gsetup.deployment import InstalledPackage
from gsetup.installer.files import digest
from gsetup.installer.home import SCRIPTS_DIR, placed_files
from gsetup.packages.catalogue import get_package
from gsetup.runtime.classify.rules import RULES_DIR

CHECK = "installed-files"


def installed_files(snap: Snapshot) -> Iterator[Finding]:
    """Missing strategy, script and rule files, and strategy files changed by hand."""
    for name, installed in sorted(snap.packages.items()):
        fix = command(snap, "install", name)
        yield from _strategy_files(installed, fix)
        if installed.home:
            yield from _home_files(installed, Path(installed.home), fix)


def _strategy_files(installed: InstalledPackage, fix: str) -> Iterator[Finding]:
    """The files whose SHA-256 the install recorded, in the strategy directory."""
    if not installed.files:
        return
    directory = Path(installed.strategy_dir)
    if not directory.is_dir():
        yield _missing(installed, f"strategy directory {directory}", len(installed.files), fix)
        return
    for name, recorded in sorted(installed.files.items()):
        path = directory / name
        try:
            changed = digest(path.read_text(encoding="utf-8")) != recorded
        except FileNotFoundError:
            yield _missing(installed, f"strategy file {path}", 0, fix)
            continue
        except (OSError, UnicodeDecodeError):  # unreadable: not what gsetup wrote either
            changed = True
        if changed:
            yield Finding(
                CHECK,
                "warning",
                f"{installed.name}: strategy file {path} was changed since gsetup wrote it "
                "(installing again puts gsetup's back and keeps this one in a backup)",
                fix,
            )


def _home_files(installed: InstalledPackage, home: Path, fix: str) -> Iterator[Finding]:
    """The scripts (``Scripts/``) and rule files (``Rules/``) placed under the install home:
    a whole directory missing is one finding, not one per file."""
    placed = sorted(placed_files(get_package(installed.name), home))
    if not home.is_dir():
        yield _missing(installed, f"install home {home}", len(placed), fix)
        return
    for top in (SCRIPTS_DIR, RULES_DIR):
        under = [p for p in placed if p.is_relative_to(home / top)]
        if under and not (home / top).is_dir():
            yield _missing(installed, f"directory {home / top}", len(under), fix)
            continue
        for path in under:
            if not path.is_file():
                yield _missing(installed, f"file {path}", 0, fix)


def _missing(installed: InstalledPackage, what: str, files: int, fix: str) -> Finding:
    held = f" (it held {files} of its files)" if files else ""
    return Finding(
        CHECK,
        "error",
        f"{installed.name}: its {what} is missing{held}; installing again re-creates it",
        fix,
    )
