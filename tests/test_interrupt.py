"""Ctrl-C (a real SIGINT to a real process) at any moment: exit 130, one line, nothing half-done."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.configdb.database import open_database
from gsetup.fileio import INTERRUPT_AT_ENV
from gsetup.plan.lock import tenant_lock
from tests.helpers import snapshot

ANSWERS = Path(__file__).resolve().parent.parent / "examples" / "facebook-bp.yaml"
INSTALL = [sys.executable, "-m", "gsetup", "install", "facebook-bp", "--yes", "--answers"]


def _count(url: str, table: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _install(env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        # The example installs in the data directory; here, in the work directory.
        [*INSTALL, str(ANSWERS), "--set", "install_home=gsetup-work/facebook-bp"],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# While planning's first write, after the pending-files record, while staging the strategy
# directory, while staging the SQL scripts.
@pytest.mark.parametrize("point", ["statement-1", "recorded", "stage-directory", "stage-file"])
def test_ctrl_c_before_the_commit_changes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    monkeypatch.chdir(tmp_path)
    before = snapshot(db_url)
    _out, err = _install({INTERRUPT_AT_ENV: point}).communicate(timeout=120)
    assert err == "\ninterrupted\n"
    assert snapshot(db_url) == before
    assert _count(db_url, "apply_lock") == _count(db_url, "pending_files") == 0
    assert _files(tmp_path / "gsetup-work") == []


def test_ctrl_c_after_the_commit_finishes_the_files_first(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    proc = _install({INTERRUPT_AT_ENV: "committed"})
    _out, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (130, "\ninterrupted\n")
    assert _count(db_url, "apply_lock") == _count(db_url, "pending_files") == 0
    # The database says installed, so the files are all there: the interrupt waited for them.
    assert _count(db_url, "business_process") == 1
    assert len(_files(tmp_path / "gsetup-work" / "facebook-bp" / "Strategies")) > 1


def test_ctrl_c_while_waiting_for_the_lock(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = open_database(db_url)
    with db.engine.connect() as conn, tenant_lock(conn, "Environment", "alice@ops"):
        proc = _install()
        assert proc.stderr is not None
        line = _line_within(proc, 120)
        assert "waiting for tenant 'Environment', locked by alice@ops (pid" in line
        assert "since" in line
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (130, "\ninterrupted\n")
        assert _count(db_url, "apply_lock") == 1  # alice's, still held
    assert _count(db_url, "apply_lock") == 0
    assert _files(tmp_path / "gsetup-work") == []


def _line_within(proc: subprocess.Popen[str], seconds: float) -> str:
    assert proc.stderr is not None
    ready, _w, _x = select.select([proc.stderr], [], [], seconds)
    assert ready, "no message while waiting for the lock"
    return proc.stderr.readline()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ctrl_c_while_the_cli_loads(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    proc = _install({INTERRUPT_AT_ENV: "start"})
    _out, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (130, "\ninterrupted\n")
    assert _count(db_url, "apply_lock") == 0


def test_a_sigterm_lost_in_a_finalizer_still_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python drops an exception raised in a finalizer (SQLAlchemy's weak reference callbacks
    run at any time): the stop is raised at the run's next step, the drop not reported."""
    from gsetup.interrupts import Terminated, signals_stop

    reported: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    class Finalized:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)

    stops = (signal.SIGTERM, signal.SIGHUP)
    before = {signum: signal.getsignal(signum) for signum in stops}
    try:
        with pytest.raises(Terminated), signals_stop() as stopped:
            Finalized()  # dropped at once: the handler's raise is lost in __del__
            stopped()
        assert reported == []
        # gsetup is stopping: both ignored from now on in this process
        assert [signal.getsignal(signum) for signum in stops] == [signal.SIG_IGN] * 2
    finally:  # not for the tests this process runs next (a wizard's SIGHUP test)
        for signum, handler in before.items():
            signal.signal(signum, handler)
