"""The installer's side of rule files: the shipped defaults placed under a Business Process's
install home (``<install home>/Rules``), where users edit them; uninstall removes those that
nobody changed."""

from __future__ import annotations

from pathlib import Path

from gsetup.runtime.classify.rules import DEFAULTS, RULES_DIR


def place_rules(home_dir: Path) -> list[Path]:
    """Write each shipped rule file that is not there yet (an edited one is kept); returns
    the paths written."""
    target = home_dir / RULES_DIR
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(DEFAULTS.glob("*.yaml")):
        path = target / source.name
        if not path.exists():
            path.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
            written.append(path)
    return written


def remove_placed_rules(home_dir: Path) -> None:
    """Delete the placed rule files still as shipped, then the folder if it is empty."""
    target = home_dir / RULES_DIR
    for source in DEFAULTS.glob("*.yaml"):
        path = target / source.name
        if path.is_file() and path.read_text(encoding="utf-8") == source.read_text("utf-8"):
            path.unlink()
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
