"""The root ``gsetup --help`` text, kept pre-rendered so it prints without loading the CLI.

``python -m gsetup.cli.helptext`` rewrites ``root_help.txt`` from the typer app; a test fails
when the file differs from what the app prints now.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

HELP_FILE = Path(__file__).with_name("root_help.txt")


def render_root_help() -> str:
    """What typer prints for ``gsetup --help`` (click wraps it at 80 columns)."""
    from gsetup.cli.app import app
    from gsetup.cli.errors import run

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run(app, ["--help"])
    return out.getvalue()


def main() -> None:
    """Rewrite the pre-rendered help."""
    HELP_FILE.write_text(render_root_help(), encoding="utf-8")
    print(f"wrote {HELP_FILE}")


if __name__ == "__main__":
    main()
