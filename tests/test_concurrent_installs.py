"""Concurrent installs and uninstalls on one database, as real processes: eight installs
started at once all succeed, each package once, no strays; an uninstall and another tenant's
install into the same home wait for each other."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.fileio import is_temp_name
from tests.helpers import gsetup_process, second_host_waits, stopped

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


@pytest.mark.parametrize(
    ("paused", "stop_at"),
    [
        ("uninstall", "committed"),  # its rows gone, its file removals still to come
        ("install", "recorded"),  # planned (the home's files already there), not committed
    ],
)
def test_an_uninstall_and_another_tenants_install_into_the_same_home_keep_its_files(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paused: str, stop_at: str
) -> None:
    """Acme uninstalls facebook-bp from a home while Environment installs it there: one is
    stopped half-way while the other runs. The shared-home check ran under each tenant's own
    lock, so the uninstall deleted the files the install counted on; now the second waits."""
    from tests.helpers import run_cli

    monkeypatch.chdir(tmp_path)
    home = tmp_path / "shared"
    answers = str(EXAMPLES / "facebook-bp.yaml")
    assert run_cli("tenant", "create", "Acme").exit_code == 0
    acme = run_cli(
        "install", "facebook-bp", "--answers", answers, "--tenant", "Acme", "--set",
        f"install_home={home}", "--set", f"strategy_dir={tmp_path / 'acme'}", "--yes",
    )  # fmt: skip
    assert acme.exit_code == 0, acme.stderr
    placed = sorted(p for p in home.rglob("*") if p.is_file())
    assert placed

    commands = {
        "uninstall": ["uninstall", "facebook-bp", "--tenant", "Acme", "--yes"],
        "install": [
            "install", "facebook-bp", "--answers", answers, "--set", f"install_home={home}",
            "--set", f"strategy_dir={tmp_path / 'environment'}", "--yes",
        ],
    }  # fmt: skip
    other = next(name for name in commands if name != paused)
    errors = {name: tmp_path / f"{name}.err" for name in commands}
    first = gsetup_process(commands[paused], stop_at, errors[paused])
    second: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 120
        while not stopped(first.pid):
            assert first.poll() is None, errors[paused].read_text()
            assert time.monotonic() < deadline, f"{paused} never reached {stop_at}"
            time.sleep(0.05)
        second = gsetup_process(commands[other], None, errors[other])
        while second.poll() is None and "waiting" not in errors[other].read_text():
            assert time.monotonic() < deadline, f"{other} neither waited nor finished"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGCONT)
        assert first.wait(timeout=120) == 0, errors[paused].read_text()
        assert second.wait(timeout=120) == 0, errors[other].read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)

    assert sorted(p for p in home.rglob("*") if p.is_file()) == placed  # Environment's
    assert [line for line in errors[other].read_text().splitlines() if "waiting" not in line] == []
    assert errors[paused].read_text() == ""
    in_tenant = (
        "SELECT t.name FROM business_process bp JOIN cfg_object o ON o.id = bp.id "
        "JOIN tenant t ON t.id = o.tenant_id WHERE bp.package = 'facebook-bp'"
    )
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert [r[0] for r in conn.execute(text(in_tenant))] == ["Environment"]
    finally:
        engine.dispose()
    for table in ("apply_lock", "install_homes_lock", "pending_files"):
        assert _count(db_url, f"SELECT count(*) FROM {table}") == 0
    again = run_cli("install", "facebook-bp", "--yes", "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout  # the files are where the database says


def test_an_install_that_waited_for_another_hosts_plans_on_its_home(
    db_url: str, tmp_path: Path
) -> None:
    """Two hosts (two home directories) install facebook-bp at once, neither answering
    install_home. The one that waited read the last install's answers before the lock, found
    none, and moved the package from the first one's home to its own default one; it answers
    again once it holds the lock, finds the first one's home, and changes nothing."""
    hosts = [tmp_path / "host-a", tmp_path / "host-b"]
    envs = [{"HOME": str(h), "XDG_DATA_HOME": str(h / "share")} for h in hosts]
    args = ["install", "facebook-bp", "--answers", str(EXAMPLES / "facebook-bp.yaml"), "--yes"]
    output = second_host_waits((args, envs[0]), ([*args, "--json"], envs[1]), tmp_path)
    summary = json.loads(output)["summary"]
    assert (summary["create"], summary["update"], summary["delete"]) == (0, 0, 0), summary
    assert _count(db_url, "SELECT count(*) FROM install_history") == 1  # the first's alone
    home = hosts[0] / "share" / "gsetup" / "installs" / "Environment" / "facebook-bp"
    assert sorted(p.name for p in home.iterdir()) == ["Rules", "Scripts", "Strategies"]
    assert not (hosts[1] / "share").exists()
    for table in ("apply_lock", "install_homes_lock", "pending_files"):
        assert _count(db_url, f"SELECT count(*) FROM {table}") == 0


def test_answers_taken_again_under_the_lock_are_applied_only_as_shown(
    db_url: str, tmp_path: Path
) -> None:
    """The plan confirmed was made with the default install home; another install recorded
    its own home while the question was asked. Answered again under the lock, the install
    would change nothing: not what was shown, so it is refused (exit 2), nothing written."""
    from gsetup.cli.confirm import Confirmation
    from gsetup.errors import EXIT_BAD_INPUT, ConflictError
    from gsetup.wizards.bp import InstallRequest, answer_sources, login, run_install
    from gsetup.wizards.collect import Prompter
    from tests.helpers import run_cli, snapshot

    answers = EXAMPLES / "facebook-bp.yaml"
    other = tmp_path / "other-home"
    seen: list[dict[str, list[tuple[object, ...]]]] = []

    def another_install_then_yes(_question: str, _default: bool) -> bool:
        done = run_cli("install", "facebook-bp", "--answers", str(answers), "--yes",
                       "--set", f"install_home={other}")  # fmt: skip
        assert done.exit_code == 0, done.stderr
        seen.append(snapshot(db_url))
        return True

    prompter = Prompter()  # no terminal: install_home is the default
    assert not prompter.interactive
    request = InstallRequest("facebook-bp", answers)
    sources = answer_sources(request)
    ctx = login(None, None, sources, prompter, yes=False)
    confirm = Confirmation(wizard=True, terminal=lambda: True, ask=another_install_then_yes)
    with pytest.raises(ConflictError) as refused:
        run_install(ctx, request, sources, prompter, confirm)
    assert refused.value.exit_code == EXIT_BAD_INPUT
    assert str(refused.value).startswith(
        "the configuration of tenant 'Environment' changed after the plan was shown (now: "
        "0 to create, 0 to update, 0 to delete, "
    )
    assert snapshot(db_url) == seen[0]
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "gsetup").exists()
    assert sorted(p.name for p in other.iterdir()) == ["Rules", "Scripts", "Strategies"]
