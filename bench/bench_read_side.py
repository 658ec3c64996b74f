"""Benchmark the read side: ``gsetup list`` and ``gsetup doctor`` on a big tenant.

Run by hand: ``.venv/bin/python -m bench.bench_read_side``.

Two embedded SQLite databases in a temporary directory hold the same deployment: facebook-bp
and twitter-bp installed (tenant Environment), a Digital Messaging Server, a Chat Server, an
Interaction Server and a Workspace Desktop application. In the big one the applications also
hold 280,000 options (70,000 each, 100 keys per section, sections the checks do not look at,
as option files imported by hand leave them) and the install history 1,000 more entries (copies
of the installs' own records, plans included). What is timed is the in-process command layer:
``list_packages`` (``gsetup list``) and ``diagnose`` (``gsetup doctor``), without the CLI's
rendering. Each figure is the best of several rounds that run both databases in turn.
Goal: each command on the big tenant within 20% of the same command on the small one.
"""

from __future__ import annotations

import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_foundation import cpu_model, timed
from gsetup.commands.apps import AppSpec, create_app
from gsetup.commands.doctor import diagnose
from gsetup.commands.install import install
from gsetup.commands.packages import list_packages
from gsetup.context import Context, connect
from gsetup.packages import Answers

TENANT = "Environment"
APPS = (
    ("DMS_1", "DigitalMessagingServer"),
    ("Chat_1", "ChatServer"),
    (
        "IXN_1",
        "InteractionServer",
    ),
    ("WDE_1", "WorkspaceDesktop"),
)
OPTIONS = 280_000
HISTORY = 1_000
KEYS_PER_SECTION = 100
RUNS = 15
GOAL = 1.2


def deploy(root: Path) -> Context:
    """A database with the two packages installed and the four applications."""
    ctx = connect(f"sqlite:///{root / 'config.db'}")
    for package in ("facebook-bp", "twitter-bp"):
        answers = Answers(TENANT, False, str(root / package / "Strategies"))
        install(ctx, package, answers, root / package, dry_run=False)
    for name, app_type in APPS:
        create_app(ctx, TENANT, AppSpec(name, app_type), dry_run=False)
    return ctx


def grow(ctx: Context) -> None:
    """280,000 options on the applications and 1,000 history entries, with set-based SQL
    (the plan engine would take minutes to write what is only data to read here)."""
    from sqlalchemy import text

    per_app = OPTIONS // len(APPS)
    with ctx.db.engine.begin() as conn:
        for name, _type in APPS:
            conn.execute(
                text(
                    "WITH RECURSIVE n(i) AS"
                    " (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last)"
                    " INSERT INTO cfg_option (object_id, section, key, value, secret)"
                    " SELECT o.id, 'custom-' || (i / :per), 'option-' || i, 'value-' || i, 0"
                    " FROM n, cfg_object o WHERE o.path = :path"
                ),
                {"last": per_app - 1, "per": KEYS_PER_SECTION, "path": f"Applications/{name}"},
            )
        columns = "tenant_id, tenant_name, operation, package, version, account, at, answers, "
        columns += "summary, changes"
        rows = conn.execute(text("SELECT count(*) FROM install_history")).scalar_one()
        for _ in range(HISTORY // rows + 1):
            conn.execute(
                text(
                    f"INSERT INTO install_history ({columns}) SELECT {columns} "
                    "FROM install_history ORDER BY id LIMIT :rows"
                ),
                {"rows": rows},
            )
        conn.execute(text("DELETE FROM install_history WHERE id > :keep"), {"keep": rows + HISTORY})


def main() -> None:
    """Run the benchmark and print the figures for docs/performance.md."""
    with tempfile.TemporaryDirectory(prefix="gsetup-bench-") as tmp:
        small_root, big_root = Path(tmp) / "small", Path(tmp) / "big"
        small_root.mkdir()
        big_root.mkdir()
        small, big = deploy(small_root), deploy(big_root)
        start = time.perf_counter()
        grow(big)
        print(
            f"setup: {OPTIONS:,} options, {HISTORY:,} history entries in "
            f"{time.perf_counter() - start:.1f} s"
        )
        figures: dict[str, list[float]] = {}
        for _ in range(RUNS):
            for label, ctx in (("small", small), ("big", big)):
                figures.setdefault(f"list {label}", []).append(
                    timed(lambda ctx=ctx: list_packages(ctx))
                )
                figures.setdefault(f"doctor {label}", []).append(
                    timed(lambda ctx=ctx: diagnose(ctx, TENANT))
                )
        assert diagnose(big, TENANT).findings == diagnose(small, TENANT).findings
        _report({k: min(v) for k, v in figures.items()})


def _report(best: dict[str, float]) -> None:
    print(f"machine: {cpu_model()}, Python {platform.python_version()}, {platform.system()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d}; best of {RUNS} rounds")
    for command in ("list", "doctor"):
        small, big = best[f"{command} small"], best[f"{command} big"]
        ratio = big / small
        verdict = "met" if ratio <= GOAL else "NOT met"
        print(
            f"{command:<7} small tenant {small * 1000:7.1f} ms, big tenant {big * 1000:7.1f} ms"
            f" = {ratio:4.2f}x (goal <= {GOAL:g}x: {verdict})"
        )


if __name__ == "__main__":
    main()
