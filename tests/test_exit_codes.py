"""Every exit code docs/cli.md publishes, produced by the real console script."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from tests.test_safety import GSETUP, gsetup

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _documented() -> set[int]:
    page = (DOCS / "cli.md").read_text()
    table = page[page.index("## Exit codes") : page.index("## Commands")]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}


def _at_the_question(key: str | signal.Signals) -> int:
    """``app delete`` in a pseudo-terminal, answering ``key`` at "Apply this plan?" (a
    signal: sent to it there)."""
    import pexpect

    child = pexpect.spawn(GSETUP, ["app", "delete", "IXN"], encoding="utf-8", timeout=300)
    child.expect("Apply this plan")
    if isinstance(key, signal.Signals):
        child.kill(key)
    else:
        child.send(key)
    child.expect(pexpect.EOF)
    child.close()
    assert isinstance(child.exitstatus, int)
    return child.exitstatus


def test_every_documented_exit_code() -> None:
    seen: dict[int, str] = {}
    assert gsetup("app", "create", "IXN", "--type", "InteractionServer").returncode == 0
    seen[0] = "app create"
    with open("/dev/full", "w") as full:  # the system failed: no space left on device
        failed = subprocess.run(
            [GSETUP, "sql", "list", "--json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    assert failed.stderr.startswith("gsetup: error: unexpected OSError")
    seen[failed.returncode] = "output to a full disk"
    usage = gsetup("tenant", "list", "--bogus")
    assert usage.stderr.startswith("gsetup: error: No such option: --bogus")
    seen[usage.returncode] = "usage error"
    pending = gsetup("app", "create", "CS", "--type", "ChatServer", "--detailed-exitcode")
    seen[pending.returncode] = "changes pending"
    seen[_at_the_question("n")] = "answered no"
    seen[_at_the_question("\x03")] = "Ctrl-C at the question"
    seen[_at_the_question(signal.SIGHUP)] = "the terminal closed at the question"
    assert set(seen) == _documented() == {0, 1, 2, 3, 4, 129, 130}, seen
    assert "IXN" in gsetup("app", "list").stdout  # neither the no, Ctrl-C nor SIGHUP deleted it
    assert os.environ.get("GSETUP_DB") is None  # the embedded database of the test's home
