"""The installer's side of rule files: the shipped defaults placed under a Business Process's
install home (``<install home>/Rules``), where users edit them; uninstall removes those that
nobody changed. Both only say what to write or remove: the install's file swap
(:class:`gsetup.plan.pending.FileSwap`) does it, all-or-nothing with the transaction."""

from __future__ import annotations

from pathlib import Path

from gsetup.fileio import same_content
from gsetup.runtime.classify.rules import DEFAULTS, RULES_DIR


def rules_to_place(home_dir: Path) -> dict[Path, str]:
    """Each shipped rule file that is not there yet, with its content (an existing one, edited
    or not, is kept)."""
    target = home_dir / RULES_DIR
    found = {}
    for source in sorted(DEFAULTS.glob("*.yaml")):
        path = target / source.name
        if not path.exists():
            found[path] = source.read_text(encoding="utf-8")
    return found


def shipped_rules(home_dir: Path) -> list[Path]:
    """The placed rule files still as shipped: what an uninstall removes."""
    target = home_dir / RULES_DIR
    return [
        target / source.name
        for source in sorted(DEFAULTS.glob("*.yaml"))
        if same_content(target / source.name, source.read_text(encoding="utf-8"))
    ]
