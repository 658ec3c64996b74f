"""A PostgreSQL server that accepts connections and never answers (a hung server, a proxy
with nothing behind it): commands give up after the connect timeout, they do not hang."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gsetup.configdb.database import CONNECT_TIMEOUT


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 whose connections the kernel accepts and nobody answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_is_given_up(silent_server: int, tmp_path: Path) -> None:
    from tests.runtime_support import configure_tenant

    config = f"sqlite:///{tmp_path / 'config.db'}"
    configure_tenant(config, tmp_path, agents={"alice": 2})
    url = f"postgresql+psycopg://gsetup:pw@127.0.0.1:{silent_server}/gsetup"
    env = {k: v for k, v in os.environ.items() if k != "PGCONNECT_TIMEOUT"}
    env.update(GSETUP_DB=config, PGPASSWORD="pw")
    commands = (
        ("--db", url, "tenant", "list"),  # the configuration database
        ("route", "status", "--store", url),  # an interaction store, opened
        ("agent", "remove", "alice", "--dry-run", "--store", url),  # one looked at
        ("sql", "apply", "--url", url, "--yes"),  # the Interaction Server database
    )
    started = time.monotonic()
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "gsetup", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for args in commands
    ]
    try:
        for args, run in zip(commands, runs, strict=True):
            _out, err = run.communicate(timeout=CONNECT_TIMEOUT * 4)
            assert run.returncode == 2, (args, err)
            assert "connection timeout expired" in err, (args, err)
            assert err.startswith("gsetup: error: ") and "pw@" not in err, (args, err)
            assert len(err.strip().splitlines()) == 1, (args, err)
    finally:
        for run in runs:
            run.kill()
            run.wait()
    assert time.monotonic() - started >= CONNECT_TIMEOUT  # it did wait for the server
