"""Test helpers: run the CLI in-process, snapshot a database, build files from a dict."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest
    from sqlalchemy import Connection

PG_ADMIN = "admin"
PG_ADMIN_PASSWORD = "admin-secret-123"


def quick_hash(password: str) -> str:
    """A password hash gsetup verifies like its own, at a cost of 2**10 rather than 2**15:
    for the logins the suite makes thousands of times (the template's admin, agents), where
    each verification at gsetup's cost takes 50-100 ms of CPU. gsetup's own hashing is what
    the tests of accounts and agent logins check."""
    import base64
    import hashlib

    salt = b"gsetup-test-salt"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**10, r=8, p=1, dklen=32)
    encoded = (base64.b64encode(part).decode() for part in (salt, digest))
    return "scrypt$1024$8$1$" + "$".join(encoded)


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point home and data directories at ``home`` (made here); forget gsetup's variables."""
    import os

    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for name in list(os.environ):
        if name.startswith("GSETUP_") and not name.startswith("GSETUP_TEST_"):
            monkeypatch.delenv(name)


@dataclass
class CliResult:
    """What a gsetup invocation printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.stdout)


def run_cli(*args: str) -> CliResult:
    """Run ``gsetup ARGS`` in this process through the same error mapping as the console script."""
    from gsetup.cli.app import app
    from gsetup.cli.errors import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(app, list(args))
    return CliResult(code, out.getvalue(), err.getvalue())


# Tables whose rows describe configuration (history, locks and accounts are left out).
CONFIG_TABLES = (
    "tenant",
    "cfg_object",
    "cfg_option",
    "managed",
    "tenant_settings",
    "business_attribute",
    "attribute_value",
    "capacity_rule",
    "application",
    "business_process",
    "interaction_queue",
    "strategy",
    "person",
    "skill",
    "agent_group",
)


def snapshot(url: str, tables: tuple[str, ...] = CONFIG_TABLES) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the configuration tables, sorted, for before/after comparisons."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                t: sorted((tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))), key=repr)
                for t in tables
            }
    finally:
        engine.dispose()


def until_waiting_on_a_lock(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Return once a session of PostgreSQL database ``url`` waits on a lock (``process``, the
    only other client, blocked by the test's open transaction); fail if ``process`` ends or
    ``timeout`` passes first."""
    import time

    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    waits = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + timeout
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as watch:
            while not watch.execute(waits).scalar():
                watch.rollback()
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the process never waited on a lock"
                time.sleep(0.05)
    finally:
        engine.dispose()


def sql_rows(
    url: str, statement: str, params: dict[str, object] | None = None
) -> list[tuple[object, ...]]:
    """The rows ``statement`` (with ``params``) reads from database ``url``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(statement), params or {})]
    finally:
        engine.dispose()


def option_row(url: str, path: str, section: str, key: str) -> tuple[str, bool] | None:
    """(value, secret flag) of the option row ``[section] key`` of object ``path``, or None."""
    rows = sql_rows(
        url,
        "SELECT o.value, o.secret FROM cfg_option o JOIN cfg_object c "
        "ON c.id = o.object_id WHERE c.path = :p AND o.section = :s AND o.key = :k",
        {"p": path, "s": section, "k": key},
    )
    return (str(rows[0][0]), bool(rows[0][1])) if rows else None


def run_behind_a_lock(
    url: str, held: Connection, args: list[str], env: dict[str, str]
) -> CliResult:
    """``gsetup ARGS`` in a process of its own, let wait on a lock of PostgreSQL database
    ``url`` that connection ``held`` holds in its open transaction, which is then committed."""
    from tests.test_safety import GSETUP

    process = subprocess.Popen(
        [GSETUP, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        until_waiting_on_a_lock(url, process)
        held.commit()
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    return CliResult(process.returncode, out, err)


def refusal_without_waiting(load: Callable[[], object], timeout: float = 10.0) -> str:
    """The BadInputError message of ``load()``, run in a thread so that a load that waits
    (for a FIFO's writer) fails the test instead of hanging it."""
    import threading

    from gsetup.errors import BadInputError

    refusals: list[str] = []

    def run() -> None:
        try:
            load()
        except BadInputError as exc:
            refusals.append(str(exc))

    loader = threading.Thread(target=run, daemon=True)
    loader.start()
    loader.join(timeout)
    assert refusals, f"not refused within {timeout} s"
    return refusals[0]


def in_a_terminal(shell: str, db_url: str, cwd: Path) -> Any:
    """A ``pexpect`` child running ``shell`` in a pseudo-terminal (``$GSETUP`` is gsetup, so
    the command line may redirect its outputs); every read is bounded by its timeout."""
    import os
    import sys

    import pexpect

    env = {**os.environ, "GSETUP_DB": db_url, "COLUMNS": "120"}
    env["GSETUP"] = f"{sys.executable} -m gsetup"
    return pexpect.spawn(
        "/bin/sh", ["-c", shell], env=env, cwd=str(cwd), encoding="utf-8", timeout=30,
        dimensions=(40, 120),
    )  # fmt: skip


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_tree(root: Path, files: dict[str, str]) -> None:
    """Create files under ``root`` from ``{relative path: content}``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def store_unchecked(url: str, app: str, section: str, key: str, value: str) -> None:
    """Replace the value of application ``app``'s option (tenant Environment; the row must
    exist) in the database directly, as a gsetup that did not check it left it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            updated = conn.execute(
                text(
                    "UPDATE cfg_option SET value = :value WHERE section = :section AND "
                    "key = :key AND object_id = (SELECT c.id FROM cfg_object c JOIN tenant t "
                    "ON t.id = c.tenant_id WHERE t.name = 'Environment' AND c.path = :path)"
                ),
                {"value": value, "section": section, "key": key, "path": f"Applications/{app}"},
            )
            assert updated.rowcount == 1, (app, section, key)
    finally:
        engine.dispose()


def stopped(pid: int) -> bool:
    """Whether process ``pid`` is stopped (at a ``GSETUP_TEST_STOP_AT`` site)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().rpartition(")")[2].split()[0] == "T"


def gsetup_process(
    args: list[str],
    stop_at: str | None,
    stderr: Path,
    *,
    env: Mapping[str, str] | None = None,
    stdout: Path | None = None,
) -> subprocess.Popen[str]:
    """``gsetup ARGS`` in a process of its own, stopped (SIGSTOP) at the file site
    ``stop_at`` when given; its standard error goes to ``stderr``, its output to ``stdout``
    (else nowhere). ``env`` adds to or replaces variables of this process's environment."""
    import os
    import sys

    from gsetup.fileio import STOP_AT_ENV

    variables = {**os.environ, **(env or {}), **({STOP_AT_ENV: stop_at} if stop_at else {})}
    with stderr.open("w") as err, (stdout or Path(os.devnull)).open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "gsetup", *args],
            env=variables,
            stdout=out,
            stderr=err,
            text=True,
        )


def second_host_waits(
    first: tuple[list[str], Mapping[str, str]],
    second: tuple[list[str], Mapping[str, str]],
    folder: Path,
) -> str:
    """Two gsetups as on two hosts (``(args, env)`` each): the first stopped at its
    ``recorded`` file site, holding the tenant's lock; the second started then and seen
    waiting for that lock before the first goes on. Both must succeed; the second's output."""
    import os
    import signal
    import time

    errors, output = [folder / "first.err", folder / "second.err"], folder / "second.out"
    held = gsetup_process(first[0], "recorded", errors[0], env=first[1])
    waiting: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 60
        while not stopped(held.pid):
            assert held.poll() is None, errors[0].read_text()
            assert time.monotonic() < deadline, "the first gsetup never got its lock"
            time.sleep(0.05)
        waiting = gsetup_process(second[0], None, errors[1], env=second[1], stdout=output)
        while waiting.poll() is None and "waiting" not in errors[1].read_text():
            assert time.monotonic() < deadline, "the second gsetup neither waited nor finished"
            time.sleep(0.05)
        os.kill(held.pid, signal.SIGCONT)
        assert held.wait(timeout=60) == 0, errors[0].read_text()
        assert waiting.wait(timeout=60) == 0, errors[1].read_text()
    finally:
        for proc in (held, waiting):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    return output.read_text()
