"""Write scripts to disk: for a DBA (export) and under a BP's install home (place)."""

from __future__ import annotations

from pathlib import Path

from gsetup.errors import BadInputError
from gsetup.sqlscripts.catalog import (
    DBMSES,
    Script,
    check_groups,
    get_dbms,
    scripts_in_run_order,
)
from gsetup.sqlscripts.shipped import read_script

RUN_ORDER_FILE = "run-order.txt"


def export_scripts(dbms: str, directory: Path, groups: list[str] | None = None) -> list[Path]:
    """Write the scripts of ``groups`` (all if None) for ``dbms`` into ``directory``, plus
    run-order.txt.

    The files keep the guide's names; run-order.txt numbers them in the order to run them.
    Returns the paths written, scripts in run order, run-order.txt last.
    """
    target = get_dbms(dbms)
    scripts = scripts_in_run_order(check_groups(groups))
    written = [
        _write(directory / script.name, read_script(script, target.name)) for script in scripts
    ]
    written.append(_write(directory / RUN_ORDER_FILE, _run_order(scripts, target.title)))
    return written


def place_scripts(package_groups: list[str], home_dir: Path) -> list[Path]:
    """Install the scripts of ``package_groups`` under a BP's install home, as the guide does.

    Writes ``home_dir/Scripts/<RDBMS>/<script>`` for every DBMS. The guide installs the iWD
    pair with both BPs, so a Facebook installer passes ``["iwd", "facebook"]``. Group names
    and BP package names are both accepted. Returns the paths written.
    """
    return [_write(path, text) for path, text in placed_scripts(package_groups, home_dir).items()]


def placed_scripts(package_groups: list[str], home_dir: Path) -> dict[Path, str]:
    """Where :func:`place_scripts` puts each script, and its content."""
    if not package_groups:
        raise BadInputError("place_scripts needs at least one package group.")
    scripts = scripts_in_run_order(check_groups(package_groups))
    return {
        home_dir / "Scripts" / dbms.install_dir / script.name: read_script(script, dbms.name)
        for dbms in DBMSES
        for script in scripts
    }


def remove_placed_scripts(package_groups: list[str], home_dir: Path) -> None:
    """Uninstall: delete the placed scripts nobody changed, then the folders left empty."""
    for path, text in placed_scripts(package_groups, home_dir).items():
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            path.unlink()
    for folder in (home_dir / "Scripts", *(home_dir / "Scripts").glob("*")):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    scripts = home_dir / "Scripts"
    if scripts.is_dir() and not any(scripts.iterdir()):
        scripts.rmdir()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def _run_order(scripts: list[Script], title: str) -> str:
    lines = [
        f"Interaction Server database scripts for {title}, in the order to run them.",
        "1. Stop Interaction Server and DB Server (IXN).",
        *(f"{number}. Run {script.name}" for number, script in enumerate(scripts, start=2)),
        f"{len(scripts) + 2}. Start Interaction Server and DB Server (IXN).",
        "Every script is safe to run again. CleanUp drops the columns with their values.",
    ]
    return "\n".join(lines) + "\n"
