"""The console script's entry: ``gsetup --version`` answers before the CLI is imported."""

from __future__ import annotations

import sys


def main() -> None:
    """Run ``gsetup``; the version needs none of typer's start-up cost."""
    if sys.argv[1:] == ["--version"]:
        from gsetup import version_text

        print(version_text())
        return
    from gsetup.cli import main as cli_main

    cli_main()
