"""The files a package places under its install home: the SQL scripts (``Scripts/<RDBMS>/``)
and the classification rule files (``Rules/``), as plan changes and file-swap steps.

One description serves the plan (a dry run shows it) and the apply (the swap writes it), so
what the plan lists is what gets written or removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gsetup.fileio import same_content
from gsetup.packages import Package
from gsetup.packages.next_steps import placed_pairs
from gsetup.plan.model import Action, Change
from gsetup.plan.pending import FileSwap
from gsetup.runtime.classify.placement import rule_files
from gsetup.runtime.classify.rules import RULES_DIR
from gsetup.sqlscripts.placement import placed_scripts

SCRIPTS_DIR = "Scripts"
LEFT_IN_PLACE = "changed since gsetup wrote it: left in place"


@dataclass
class HomeFiles:
    """What placing (or removing) a package's files under a home writes, removes and shows."""

    writes: dict[Path, str] = field(default_factory=dict)
    removals: list[Path] = field(default_factory=list)
    prunes: list[Path] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def add_to(self, swap: FileSwap) -> None:
        """Add the writes, then the removals and prunes, to ``swap``."""
        for path, text in self.writes.items():
            swap.write_file(path, text)
        for path in self.removals:
            swap.remove_file(path)
        for directory in self.prunes:
            swap.prune(directory)


def placement(package: Package, home: Path) -> HomeFiles:
    """Install: every script written as shipped (an edited one is replaced); every rule file
    that is missing (an existing one, edited or not, is the user's and kept)."""
    placed = HomeFiles()
    for path, text in _scripts(package, home).items():
        action: Action = (
            "keep" if same_content(path, text) else "update" if path.exists() else "create"
        )
        _change(placed, action, path)
        if action != "keep":
            placed.writes[path] = text
    for path, text in rule_files(home).items():
        exists = path.exists()
        _change(placed, "keep" if exists else "create", path)
        if not exists:
            placed.writes[path] = text
    return placed


def removal(package: Package, home: Path, others: Sequence[tuple[str, Package]] = ()) -> HomeFiles:
    """Uninstall, or a move to another home: remove the scripts and rule files still as shipped,
    leave edited ones and those another installation of ``home`` would place (``others``: a
    label naming it, and its package), then the emptied directories."""
    removed = HomeFiles(prunes=[home / SCRIPTS_DIR, home / RULES_DIR])
    users: dict[Path, list[str]] = {}
    for label, other in others:
        for path in placed_files(other, home):
            users.setdefault(path, []).append(label)
    for path, text in placed_files(package, home).items():
        if path in users and path.exists():
            labels = ", ".join(dict.fromkeys(users[path]))
            _change(removed, "keep", path, f"also placed by {labels}: left in place")
        elif same_content(path, text):
            _change(removed, "delete", path)
            removed.removals.append(path)
        elif path.exists():
            _change(removed, "keep", path, LEFT_IN_PLACE)
    return removed


def placed_files(package: Package, home: Path) -> dict[Path, str]:
    """Every script and rule file ``package`` places under ``home``, as shipped."""
    return {**_scripts(package, home), **rule_files(home)}


def _scripts(package: Package, home: Path) -> dict[Path, str]:
    groups: list[str] = [pair.group for pair in placed_pairs(package)]
    return placed_scripts(groups, home) if groups else {}


def _change(files: HomeFiles, action: Action, path: Path, note: str = "") -> None:
    files.changes.append(Change(action, "file", "file", str(path), note=note))
