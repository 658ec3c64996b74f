"""The console script's entry: ``--version`` and the root ``--help`` answer at once.

Importing the CLI (typer and every command module) costs several times Python's own start-up,
so the two answers that need none of it are given first: the version, and the root help text
pre-rendered by :mod:`gsetup.cli.helptext` (a test keeps it equal to typer's output). The
common read commands come next, answered by :mod:`gsetup.cli.quick` without typer or the ORM.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def main() -> None:
    """Run ``gsetup``."""
    args = sys.argv[1:]
    if args == ["--version"]:
        from gsetup import version_text

        print(version_text())
        return
    if args in (["--help"], ["-h"]):
        print(Path(__file__).with_name("cli").joinpath("root_help.txt").read_text(), end="")
        return
    try:
        if os.environ.get("GSETUP_TEST_INTERRUPT_AT") == "start":  # the interrupt tests
            os.kill(os.getpid(), signal.SIGINT)
        from gsetup.cli.quick import answer

        answered = answer(args)
        if answered is not None:
            sys.exit(answered)
        from gsetup.cli.app import main as cli_main

        cli_main()
    except KeyboardInterrupt:  # Ctrl-C while the CLI is still being imported
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
