"""The layer contracts (pyproject.toml, `lint-imports`) hold, and catch an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the copy of gsetup under ``root`` (found first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """gsetup and its contracts copied to a scratch directory."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "gsetup", root / "gsetup", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("module", "upward", "contract"),
    [
        ("deployment/model.py", "gsetup.commands.install", "Layers"),
        ("configdb/kinds.py", "gsetup.plan.run", "Layers"),
        ("runtime/__init__.py", "gsetup.commands.doctor", "routing runtime"),
        ("strategy/model.py", "gsetup.packages.catalogue", "strategy file format"),
        ("commands/history.py", "gsetup.configdb.models", "query the configuration tables"),
    ],
)
def test_an_upward_import_breaks_a_contract(
    copy: Path, module: str, upward: str, contract: str
) -> None:
    source = copy / "gsetup" / module
    original = source.read_text(encoding="utf-8")
    source.write_text(f"{original}\nimport {upward}  # noqa\n", encoding="utf-8")
    try:
        result = _lint(copy)
    finally:
        source.write_text(original, encoding="utf-8")
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout
    assert upward in result.stdout


def test_the_code_keeps_every_contract(copy: Path) -> None:
    result = _lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
