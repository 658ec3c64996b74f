"""A SIGKILL at any file operation of an install, upgrade or uninstall changes nothing by half.

Each scenario is run once with the file-operation trace on, to learn its sites in order; then,
from the same starting point, a real subprocess is killed at the first operation of every
distinct site (all of them with ``--run-slow``); the other runs are in-process, for speed.
After the kill, the database and every file are at the before or the after state (only
temporary names may be left); after the next run, everything is at the after state and no
temporary name is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.fileio import CRASH_AT_ENV, TRACE_ENV, is_temp_name
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent
# The example installs in the user's data directory; here, in the work directory the test
# compares.
EXAMPLE = (ROOT / "examples" / "facebook-bp.yaml").read_text(encoding="utf-8") + (
    "install_home: gsetup-work/facebook-bp\nstrategy_dir: gsetup-work/facebook-bp/Strategies\n"
)
MOVED = EXAMPLE.replace("iwd_custom_properties: false", "iwd_custom_properties: true").replace(
    "strategy_dir: gsetup-work/facebook-bp/Strategies", "strategy_dir: gsetup-work/moved"
)
STRATEGIES = Path("gsetup-work/facebook-bp/Strategies")


@dataclass(frozen=True)
class Scenario:
    """How to reach the starting point, and the command that is killed."""

    setup: Callable[[Path], None]
    command: tuple[str, ...]


def _install(answers: str) -> Callable[[Path], None]:
    def setup(work: Path) -> None:
        (work / "answers.yaml").write_text(answers, encoding="utf-8")
        result = run_cli("install", "facebook-bp", "--answers", "answers.yaml", "--yes")
        assert result.exit_code == 0, result.stderr

    return setup


def _installed_then(change: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(work: Path) -> None:
        _install(EXAMPLE)(work)
        change(work)

    return setup


def _answers(answers: str) -> Callable[[Path], None]:
    def change(work: Path) -> None:
        (work / "answers.yaml").write_text(answers, encoding="utf-8")

    return change


def _lose_a_strategy(work: Path) -> None:
    next((work / STRATEGIES).iterdir()).unlink()


def _dms_with_driver_answers(work: Path) -> None:
    """DMS_1 working in ``work/SMServer``, and the answers installing the Facebook driver."""
    for name in ("key", "password"):
        (work / name).write_text(f"{name}-S3cret\n", encoding="utf-8")
    example = (ROOT / "examples" / "driver-facebook.yaml").read_text(encoding="utf-8")
    answers = example.replace("{env: GSETUP_HUB_API_KEY}", f"{{file: {work / 'key'}}}").replace(
        "{file: ~/.config/gsetup/hub-password}", f"{{file: {work / 'password'}}}"
    )
    (work / "answers.yaml").write_text(answers, encoding="utf-8")
    (work / "SMServer").mkdir()
    result = run_cli(
        "app", "create", "DMS_1", "--type", "DigitalMessagingServer", "--host",
        "dms1.example.com", "--port", "4000", "--working-dir", str(work / "SMServer"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr


DRIVER_INSTALL = ("driver", "install", "facebook", "--answers", "answers.yaml", "--yes")


def _driver_installed(work: Path) -> None:
    _dms_with_driver_answers(work)
    result = run_cli(*DRIVER_INSTALL)
    assert result.exit_code == 0, result.stderr


INSTALL = ("install", "facebook-bp", "--answers", "answers.yaml", "--yes")
SCENARIOS = {
    "install": Scenario(_answers(EXAMPLE), INSTALL),
    # New strategy directory (the old one removed) and the iWD scripts added.
    "upgrade": Scenario(_installed_then(_answers(MOVED)), INSTALL),
    # A strategy file deleted by hand: the directory is replaced (one atomic exchange).
    "repair": Scenario(_installed_then(_lose_a_strategy), INSTALL),
    "uninstall": Scenario(_installed_then(lambda _w: None), ("uninstall", "facebook-bp", "--yes")),
    "driver-install": Scenario(_dms_with_driver_answers, DRIVER_INSTALL),
    "driver-uninstall": Scenario(
        _driver_installed, ("driver", "uninstall", "facebook", "--dms", "DMS_1", "--yes")
    ),
}


def _database(url: str, work: Path) -> dict[str, Any]:
    """The configuration by readable names (ids differ when a rolled-back run used some).

    Values naming the work directory are made relative, to compare runs in different ones.
    """
    engine = create_engine(url, poolclass=NullPool)
    queries = {
        "objects": "SELECT kind, path FROM cfg_object",
        "options": "SELECT o.path, p.section, p.key, p.value, p.managed_by FROM cfg_option p "
        "JOIN cfg_object o ON o.id = p.object_id",
        "managed": "SELECT o.path, m.package FROM managed m "
        "JOIN cfg_object o ON o.id = m.object_id",
        "history": "SELECT count(*) FROM install_history",
        "locks": "SELECT count(*) FROM apply_lock",
    }
    try:
        with engine.connect() as conn:
            return {
                k: sorted(
                    tuple(v.replace(str(work), "<work>") if isinstance(v, str) else v for v in row)
                    for row in conn.execute(text(q))
                )
                for k, q in queries.items()
            }
    finally:
        engine.dispose()


def _files(work: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(work)): p.read_bytes()
        for p in sorted(work.rglob("*"))
        if p.is_file() and p.name != "answers.yaml"
    }


def _directories(work: Path) -> set[str]:
    return {str(p.relative_to(work)) for p in work.rglob("*") if p.is_dir()}


def _leftovers(work: Path) -> list[str]:
    return [str(p.relative_to(work)) for p in work.rglob("*") if is_temp_name(p.name)]


def _killed(command: tuple[str, ...], point: int) -> subprocess.CompletedProcess[str]:
    """Run gsetup in a real process that kills itself at file operation ``point``."""
    return subprocess.run(
        [sys.executable, "-m", "gsetup", *command],
        env={**os.environ, CRASH_AT_ENV: str(point)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Starts:
    """Fresh work directories and databases at a scenario's starting point."""

    base: Path
    new_db_url: Callable[[], str]
    monkeypatch: pytest.MonkeyPatch

    def start(self, scenario: Scenario, name: str) -> tuple[Path, str]:
        """A new work directory (the current one) and database (GSETUP_DB), set up."""
        work = self.base / name
        work.mkdir()
        self.monkeypatch.chdir(work)
        url = self.new_db_url()
        self.monkeypatch.setenv("GSETUP_DB", url)
        scenario.setup(work)
        return work, url


def _kill_points(starts: Starts, scenario: Scenario, every: bool) -> list[int]:
    work, _url = starts.start(scenario, "traced")
    trace = starts.base / "trace"
    starts.monkeypatch.setenv(TRACE_ENV, str(trace))
    result = run_cli(*scenario.command)
    starts.monkeypatch.delenv(TRACE_ENV)
    assert result.exit_code == 0, result.stderr
    sites = trace.read_text(encoding="utf-8").split()
    assert sites, "the scenario writes no file"
    assert not _leftovers(work)
    if every:
        return list(range(1, len(sites) + 1))
    return sorted({sites.index(site) + 1 for site in sites})


@pytest.fixture
def starts(
    tmp_path: Path, new_db_url: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Starts:
    """Starting points for one test's runs."""
    return Starts(tmp_path, new_db_url, monkeypatch)


# The file steps are the same on both backends (the record is one row): every scenario runs
# on SQLite, the one with the most sites on PostgreSQL too; --run-slow runs all of them.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "name",
    # A driver's sites take a DMS and a driver install each (tests/test_driver_cli.py kills
    # an uninstall after its commit): with --run-slow.
    [
        pytest.param(name, marks=pytest.mark.slow) if name.startswith("driver") else name
        for name in sorted(SCENARIOS)
    ],
)
def test_sigkill_at_each_file_site_leaves_before_or_after(starts: Starts, name: str) -> None:
    _check_kills(starts, name, every=False)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_sigkill_at_each_file_site_of_an_upgrade_on_postgresql(starts: Starts) -> None:
    _check_kills(starts, "upgrade", every=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_sigkill_at_every_file_operation_leaves_before_or_after(starts: Starts, name: str) -> None:
    _check_kills(starts, name, every=True)


def _check_kills(starts: Starts, name: str, *, every: bool) -> None:
    scenario = SCENARIOS[name]
    points = _kill_points(starts, scenario, every)
    before_work, url = starts.start(scenario, "before")
    before = _database(url, before_work), _files(before_work)
    assert run_cli(*scenario.command).exit_code == 0
    after = _database(url, before_work), _files(before_work)
    after_directories = _directories(before_work)
    assert before != after
    for point in points:
        work, db_url = starts.start(scenario, f"kill-{point}")
        killed = _killed(scenario.command, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        database = _database(db_url, work)
        assert _without_lock(database) in (_without_lock(before[0]), _without_lock(after[0]))
        files = {k: v for k, v in _files(work).items() if not _has_temp_part(k)}
        for path in set(files) | set(before[1]) | set(after[1]):
            assert files.get(path) in (before[1].get(path), after[1].get(path)), (point, path)
        rerun = run_cli(*scenario.command)
        # An uninstall that committed before its kill is done: its re-run finishes the files
        # and says there is nothing left to uninstall.
        done = _without_lock(database) == _without_lock(after[0]) and name.endswith("uninstall")
        assert rerun.exit_code == (2 if done else 0), (point, rerun.stderr)
        assert (_database(db_url, work), _files(work)) == after, point
        assert not _leftovers(work), point
        # No directory a staging made, or an uninstall emptied, is left either.
        assert _directories(work) == after_directories, point


def _without_lock(database: dict[str, Any]) -> dict[str, Any]:
    # A killed process leaves its lock row; the next run takes it over (checked after it).
    return {k: v for k, v in database.items() if k != "locks"}


def _has_temp_part(relative: str) -> bool:
    return any(is_temp_name(part) for part in Path(relative).parts)
