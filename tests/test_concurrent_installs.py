"""Eight installs started at once on one database: all succeed, each package once, no strays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.fileio import is_temp_name

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# The same package several times (the losers wait, then find it installed) and three others.
RUNS = ["facebook-bp"] * 4 + ["twitter-bp"] * 2 + ["rss-bp"] * 2


def _count(url: str, sql: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_eight_concurrent_installs_all_succeed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gsetup",
                "install",
                package,
                "--yes",
                "--answers",
                str(EXAMPLES / f"{package}.yaml"),
                "--set",
                f"install_home=gsetup-work/{package}",  # the examples install in the data dir
            ],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for package in RUNS
    ]
    results = [(proc, *proc.communicate(timeout=300)) for proc in procs]
    for proc, _out, err in results:
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    for package in sorted(set(RUNS)):
        sql = f"SELECT count(*) FROM business_process WHERE package = '{package}'"
        assert _count(db_url, sql) == 1, package
        assert _count(db_url, "SELECT count(*) FROM apply_lock") == 0
        assert _count(db_url, "SELECT count(*) FROM pending_files") == 0
    work = tmp_path / "gsetup-work"
    assert sorted(p.name for p in work.iterdir()) == ["facebook-bp", "rss-bp", "twitter-bp"]
    for package in set(RUNS):
        scripts = [] if package == "rss-bp" else ["Scripts"]
        expected = ["Rules", *scripts, "Strategies"]
        assert sorted(p.name for p in (work / package).iterdir()) == expected  # rss: no scripts
    assert not [p for p in tmp_path.rglob("*") if is_temp_name(p.name) or "backup" in p.name]
    # Each install after the first of a package changed nothing: one history row per package.
    assert _count(db_url, "SELECT count(*) FROM install_history") == 3
