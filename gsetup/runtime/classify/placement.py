"""The installer's side of rule files: the shipped defaults placed under a Business Process's
install home (``<install home>/Rules``), where users edit them; uninstall removes those that
nobody changed. Both only say what to write or remove: gsetup.installer.home plans it and the
install's file swap (:class:`gsetup.plan.pending.FileSwap`) does it, all-or-nothing with the
transaction."""

from __future__ import annotations

from pathlib import Path

from gsetup.fileio import same_content
from gsetup.runtime.classify.rules import DEFAULTS, RULES_DIR


def rule_files(home_dir: Path) -> dict[Path, str]:
    """Where each shipped rule file goes under ``home_dir``, with its shipped content."""
    target = home_dir / RULES_DIR
    return {
        target / source.name: source.read_text(encoding="utf-8")
        for source in sorted(DEFAULTS.glob("*.yaml"))
    }


def shipped_rules(home_dir: Path) -> list[Path]:
    """The placed rule files still as shipped: what an uninstall removes."""
    return [path for path, text in rule_files(home_dir).items() if same_content(path, text)]
