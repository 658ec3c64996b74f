"""The installer's side of rule files: the shipped defaults placed under a Business Process's
install home (``<install home>/Rules``), where users edit them; uninstall removes those that
nobody changed and no other package of that home still uses. This only says what goes where:
gsetup.installer.home plans the writes and removals and the install's file swap
(:class:`gsetup.plan.pending.FileSwap`) does them, all-or-nothing with the transaction."""

from __future__ import annotations

from pathlib import Path

from gsetup.runtime.classify.rules import DEFAULTS, RULES_DIR


def rule_files(home_dir: Path) -> dict[Path, str]:
    """Where each shipped rule file goes under ``home_dir``, with its shipped content."""
    target = home_dir / RULES_DIR
    return {
        target / source.name: source.read_text(encoding="utf-8")
        for source in sorted(DEFAULTS.glob("*.yaml"))
    }
