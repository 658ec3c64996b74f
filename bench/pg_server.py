"""A throwaway PostgreSQL server for the benchmarks: its own directory and port, listening on
127.0.0.1 only, run as the ``postgres`` user when the bench runs as root (as tests/conftest.py
does), removed when the block ends. Commits are durable (fsync and synchronous_commit on, the
server's defaults), unlike the test suite's server.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_postgresql(*settings: str) -> Iterator[str]:
    """Start a server (``settings``: more ``name=value`` server settings); yields the URL of
    its ``postgres`` database."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    bindir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="gsetup-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    root.chmod(0o700)
    data, port = root / "data", _free_port()
    initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(_as_postgres([*initdb, "-E", "UTF8"]), check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=50"
    options += "".join(f" -c {setting}" for setting in settings)
    ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
    start = [*ctl, "-o", options, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([*ctl, "-m", "immediate", "stop"]), check=False, capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)
