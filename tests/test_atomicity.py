"""Crashes and concurrent applies leave the database before or after, never between."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gsetup.configdb.database import open_database
from gsetup.plan.apply import Operation, apply_state
from tests.helpers import snapshot

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table
    from sqlalchemy.engine import Engine
from tests.worker import build

ROOT = Path(__file__).resolve().parent.parent


def _worker(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.worker", url, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


# Points 1-3 fall between the batched writes; 4 is after the history row, just before commit.
@pytest.mark.parametrize("crash_after", [1, 2, 3, 4])
def test_sigkill_mid_apply_leaves_before_state(db_url: str, crash_after: int) -> None:
    db = open_database(db_url)
    apply_state(db.engine, build("old", 3, 5, False), Operation("seed", "t"))
    before = snapshot(db_url)
    proc = _worker(db_url, "new", "20", "50", env={"GSETUP_TEST_CRASH_AFTER": str(crash_after)})
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(db_url) == before
    # The lock the dead process left is taken over, and the apply then completes.
    done = _worker(db_url, "new", "20", "50")
    _out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    after = snapshot(db_url)
    assert len(after["cfg_object"]) == len(before["cfg_object"]) + 20
    assert len(after["cfg_option"]) == len(before["cfg_option"]) + 20 * 50


def test_concurrent_applies_lose_and_duplicate_nothing(db_url: str) -> None:
    open_database(db_url)  # migrate once, before the race
    procs = [_worker(db_url, prefix, "30", "20", "shared") for prefix in ("a", "b", "c")]
    for proc in procs:
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    rows = snapshot(db_url)
    paths = [r[3] for r in rows["cfg_object"]]
    assert len(paths) == len(set(paths)) == 1 + 3 * 30 + 1
    shared_options = {(r[2], r[3]) for r in rows["cfg_option"] if r[2] in ("a", "b", "c")}
    assert shared_options == {("a", "k"), ("b", "k"), ("c", "k")}
    assert len(rows["cfg_option"]) == 3 * 30 * 20 + 3


def test_waiting_applier_names_the_lock_holder(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gsetup.plan.lock import tenant_lock

    db = open_database(db_url)
    with db.engine.connect() as conn, tenant_lock(conn, "Environment", "alice@ops"):
        proc = _worker(db_url, "x", "1", "1", env={"GSETUP_LOCK_TIMEOUT": "1"})
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1  # the worker has no CLI error mapping: the error propagates
    assert "locked by alice@ops (pid" in err
    assert "waiting for tenant 'Environment', locked by alice@ops" in err


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_lock_released_as_it_is_looked_at_is_taken_without_a_busy_wait(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a lock row released between a failed insert and the read of its holder
    made the waiter say "the configuration database is busy" (SQLite's message for a file
    another program holds) and sleep: seen with eight installs at once. It tries again."""
    from datetime import UTC, datetime

    from sqlalchemy import delete, insert, select

    from gsetup.configdb.tables import apply_lock, tenant
    from gsetup.plan import lock

    engine = open_database(db_url).engine
    with engine.begin() as conn:
        tid = conn.execute(select(tenant.c.id).where(tenant.c.name == "Environment")).scalar()
        held = {"holder": "bob@ops", "host": "ops-host-2", "pid": 4242}
        conn.execute(insert(apply_lock).values(tenant_id=tid, since=datetime.now(UTC), **held))
    read_holder, reads = lock._holder, []

    def released_meanwhile(conn: Connection, slot: object) -> object:
        reads.append(slot)
        if len(reads) == 2:  # after the first look and the failed insert: the holder's release
            with engine.begin() as other:
                other.execute(delete(apply_lock))
        return read_holder(conn, slot)  # type: ignore[arg-type]

    monkeypatch.setattr(lock, "_holder", released_meanwhile)
    said: list[str] = []
    with engine.connect() as conn, lock.tenant_lock(conn, "Environment", "alice@ops", said.append):
        taken = conn.execute(select(apply_lock.c.holder)).scalars().all()
        conn.rollback()
    assert taken == ["alice@ops"]
    assert said == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_readers_never_wait_and_writers_name_the_holder(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3
    import time

    from gsetup.plan.lock import tenant_lock
    from tests.helpers import run_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GSETUP_LOCK_TIMEOUT", "1")
    answers = str(ROOT / "examples" / "facebook-bp.yaml")
    db = open_database(db_url)
    with db.engine.connect() as conn, tenant_lock(conn, "Environment", "alice@ops"):
        # alice is inside her apply transaction: SQLite's write lock is hers.
        writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            assert run_cli("object", "list").exit_code == 0
            assert (
                run_cli("install", "facebook-bp", "--answers", answers, "--dry-run").exit_code == 0
            )
            assert time.monotonic() - started < 30  # reads did not wait for the writer
            started = time.monotonic()
            install = ["install", "facebook-bp", "--yes", "--answers", answers]
            result = subprocess.run(
                [sys.executable, "-m", "gsetup", *install],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            waited = time.monotonic() - started
        finally:
            writer.rollback()
            writer.close()
    assert result.returncode == 2
    assert "waiting for tenant 'Environment', locked by alice@ops (pid" in result.stderr
    assert "tenant 'Environment' is locked by alice@ops" in result.stderr
    assert "database is locked" not in result.stderr
    assert waited < 30  # GSETUP_LOCK_TIMEOUT=1, not SQLite's own wait
    assert not (tmp_path / "gsetup-work").exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_install_whose_transaction_cannot_start_removes_its_staged_files(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program takes SQLite's write lock after the install staged its files and
    keeps it past GSETUP_LOCK_TIMEOUT: the refusal said nothing was written but left the
    staged copies (hidden temporary names) in the install home."""
    import sqlite3

    from gsetup.fileio import is_temp_name
    from gsetup.plan import apply
    from tests.helpers import run_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GSETUP_LOCK_TIMEOUT", "0.5")
    writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    real = apply.checkpoint

    def staged_then_locked_out(site: str) -> None:
        real(site)
        if site == "recorded":  # the tenant's lock is held, the transaction not begun
            writer.execute("BEGIN IMMEDIATE")

    monkeypatch.setattr(apply, "checkpoint", staged_then_locked_out)
    answers = str(ROOT / "examples" / "rss-bp.yaml")
    home = tmp_path / "rss-home"
    try:
        result = run_cli(
            "install", "rss-bp", "--answers", answers, "--set", f"install_home={home}", "--yes"
        )
    finally:
        writer.rollback()
        writer.close()
    assert result.exit_code == 2, result.stderr
    assert "the configuration database is busy" in result.stderr
    assert "longer than GSETUP_LOCK_TIMEOUT (0.5 s)" in result.stderr  # not "(0 s)"
    assert [p.name for p in tmp_path.rglob("*") if is_temp_name(p.name)] == []
    monkeypatch.setattr(apply, "checkpoint", real)
    again = run_cli(
        "install", "rss-bp", "--answers", answers, "--set", f"install_home={home}", "--yes"
    )
    assert again.exit_code == 0, again.stderr  # the lock and record left are taken over


# Another program's write transaction on the SQLite file, held until its stdin closes.
_SQLITE_HOLDER = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "db.execute('BEGIN EXCLUSIVE')\n"
    "print('held', flush=True)\n"
    "sys.stdin.read()\n"
)


@contextmanager
def _sqlite_held(db_url: str) -> Iterator[None]:
    """A second process holds SQLite's write lock on the database for the block."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _SQLITE_HOLDER, db_url.removeprefix("sqlite:///")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.communicate(timeout=30)  # closes its stdin: it rolls back and ends


def _leftovers(db_url: str) -> dict[str, int]:
    """The rows of the lock and pending-files tables."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.pool import NullPool

    from gsetup.configdb.tables import apply_lock, install_homes_lock, pending_files

    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as conn:
        counts = {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (apply_lock, install_homes_lock, pending_files)
        }
    engine.dispose()
    return counts


NO_ROWS = {"apply_lock": 0, "install_homes_lock": 0, "pending_files": 0}
BUSY = (
    "gsetup: error: the configuration database is busy: another process kept it locked longer "
    "than GSETUP_LOCK_TIMEOUT (1 s); try again when it is done"
)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_install_refused_for_a_database_another_program_holds_leaves_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program (not gsetup) holds SQLite's write lock past GSETUP_LOCK_TIMEOUT: the
    install is refused after one timeout as the database being busy (it was told as a tenant
    locked by another gsetup, with a `db unlock` that had nothing to remove), writing nothing."""
    import time

    from gsetup.fileio import is_temp_name
    from tests.helpers import run_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GSETUP_LOCK_TIMEOUT", "1")
    answers = str(ROOT / "examples" / "rss-bp.yaml")
    home = tmp_path / "rss-home"
    with _sqlite_held(db_url):
        started = time.monotonic()
        result = run_cli(
            "install", "rss-bp", "--answers", answers, "--set", f"install_home={home}", "--yes"
        )
        waited = time.monotonic() - started
    assert result.exit_code == 2, result.stderr
    assert [line for line in result.stderr.splitlines() if "error" in line] == [BUSY]
    assert "db unlock" not in result.stderr and "another gsetup" not in result.stderr
    assert 1 <= waited < 2.5
    assert _leftovers(db_url) == NO_ROWS
    assert not home.exists()
    assert [p.name for p in tmp_path.rglob("*") if is_temp_name(p.name)] == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_install_whose_database_is_taken_after_its_lock_is_refused_after_one_timeout(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another program takes SQLite's write lock once the install holds its locks and has
    recorded its files, and keeps it past GSETUP_LOCK_TIMEOUT: the begin of the transaction
    waited the timeout, then each cleanup write (pending-files record, install-homes lock,
    tenant lock) waited it again, the refusal taking four timeouts."""
    import time

    from gsetup.fileio import is_temp_name
    from gsetup.plan import apply
    from tests.helpers import run_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GSETUP_LOCK_TIMEOUT", "1")
    real = apply.checkpoint
    held: list[contextlib.AbstractContextManager[None]] = []

    def recorded_then_taken(site: str) -> None:
        real(site)
        if site == "recorded":
            held.append(_sqlite_held(db_url))
            held[0].__enter__()

    monkeypatch.setattr(apply, "checkpoint", recorded_then_taken)
    answers = str(ROOT / "examples" / "rss-bp.yaml")
    home = tmp_path / "rss-home"
    started = time.monotonic()
    try:
        result = run_cli(
            "install", "rss-bp", "--answers", answers, "--set", f"install_home={home}", "--yes"
        )
        waited = time.monotonic() - started
    finally:
        for holder in held:
            holder.__exit__(None, None, None)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines() == [BUSY]
    assert 1 <= waited < 2.5
    assert [p.name for p in tmp_path.rglob("*") if is_temp_name(p.name)] == []


def test_install_homes_lock_of_a_gone_process_is_named_and_removed_by_db_unlock(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process on another host that died installing in Acme holds Acme's lock and the
    install-homes lock: an install in Environment waits for it, names it and the tenant to
    unlock, and gives up after GSETUP_LOCK_TIMEOUT; ``db unlock --tenant Acme`` frees both."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, insert, select
    from sqlalchemy.pool import NullPool

    from gsetup.configdb.tables import apply_lock, install_homes_lock, tenant
    from tests.helpers import run_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GSETUP_LOCK_TIMEOUT", "1")
    assert run_cli("tenant", "create", "Acme").exit_code == 0
    gone = {"holder": "bob@ops", "host": "elsewhere", "pid": 4242, "since": datetime.now(UTC)}
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.begin() as conn:
        acme = conn.execute(select(tenant.c.id).where(tenant.c.name == "Acme")).scalar_one()
        conn.execute(insert(apply_lock).values(tenant_id=acme, **gone))
        conn.execute(insert(install_homes_lock).values(name="install-homes", tenant="Acme", **gone))
    before = snapshot(db_url)
    answers = str(ROOT / "examples" / "facebook-bp.yaml")
    install = ("install", "facebook-bp", "--answers", answers, "--set", "install_home=h", "--yes")

    refused = run_cli(*install)
    assert refused.exit_code == 2, refused.stdout
    waited, error = refused.stderr.splitlines()
    assert waited.startswith("gsetup: waiting for the install homes, locked by bob@ops (pid 4242 ")
    assert error.startswith("gsetup: error: the install homes are locked by bob@ops (pid 4242 ")
    assert error.endswith(
        "; wait for it to finish, or run `gsetup db unlock --tenant Acme` if that process is gone"
    )
    assert snapshot(db_url) == before and not (tmp_path / "h").exists()

    unlocked = run_cli("db", "unlock", "--tenant", "Acme")
    assert (unlocked.exit_code, unlocked.stdout) == (0, "tenant 'Acme': lock removed\n")
    with engine.connect() as conn:
        for table in (apply_lock, install_homes_lock):
            assert conn.execute(select(table)).all() == []
    engine.dispose()
    assert run_cli(*install).exit_code == 0


def test_the_unlock_command_named_after_a_lock_wait_can_be_run_as_shown(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant name with a space was pasted into the command unquoted (``--tenant Acme
    Corp``: the shell passes ``Corp`` as an argument of its own)."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, insert, select
    from sqlalchemy.pool import NullPool

    from gsetup.configdb.tables import apply_lock, tenant
    from tests.helpers import run_cli

    monkeypatch.setenv("GSETUP_LOCK_TIMEOUT", "0.5")
    assert run_cli("tenant", "create", "Acme Corp").exit_code == 0
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.begin() as conn:
        acme = conn.execute(select(tenant.c.id).where(tenant.c.name == "Acme Corp")).scalar_one()
        conn.execute(
            insert(apply_lock).values(
                tenant_id=acme, holder="bob", host="elsewhere", pid=4242, since=datetime.now(UTC)
            )
        )
    engine.dispose()
    refused = run_cli("agent", "add", "alice", "--no-login", "--tenant", "Acme Corp")
    assert refused.exit_code == 2
    assert "run `gsetup db unlock --tenant 'Acme Corp'` if that process is gone" in refused.stderr


def test_db_unlock_refuses_the_lock_of_a_process_still_running_here(db_url: str) -> None:
    """A holder on this host whose process runs is applying: removing its lock would let a
    second apply run beside it. ``db unlock`` refuses, naming it; once it is gone, it unlocks."""
    import socket
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, insert, select
    from sqlalchemy.pool import NullPool

    from gsetup.configdb.tables import apply_lock, install_homes_lock, tenant
    from tests.helpers import run_cli

    assert run_cli("tenant", "create", "Acme").exit_code == 0
    running = subprocess.Popen(["sleep", "60"])
    try:
        held = {
            "holder": "bob@ops",
            "host": socket.gethostname(),
            "pid": running.pid,
            "since": datetime.now(UTC),
        }
        engine = create_engine(db_url, poolclass=NullPool)
        with engine.begin() as conn:
            acme = conn.execute(select(tenant.c.id).where(tenant.c.name == "Acme")).scalar_one()
            conn.execute(insert(apply_lock).values(tenant_id=acme, **held))
            conn.execute(
                insert(install_homes_lock).values(name="install-homes", tenant="Acme", **held)
            )
        before = {t.name: _rows(engine, t) for t in (apply_lock, install_homes_lock)}
        refused = run_cli("db", "unlock", "--tenant", "Acme")
        assert refused.exit_code == 2, refused.stdout
        assert f"bob@ops (pid {running.pid} on {held['host']}" in refused.stderr
        assert "still running" in refused.stderr
        assert {t.name: _rows(engine, t) for t in (apply_lock, install_homes_lock)} == before
    finally:
        running.kill()
        running.wait()
    unlocked = run_cli("db", "unlock", "--tenant", "Acme")
    assert (unlocked.exit_code, unlocked.stdout) == (0, "tenant 'Acme': lock removed\n")
    assert {t.name: _rows(engine, t) for t in (apply_lock, install_homes_lock)} == {
        "apply_lock": [],
        "install_homes_lock": [],
    }
    engine.dispose()


def _rows(engine: Engine, table: Table) -> list[tuple[object, ...]]:
    from sqlalchemy import select

    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(table))]
