"""Start a command line detached from gsetup: ``python -m gsetup.process.launch CWD LOG -- ARGV``.

This short-lived process starts the application in a session of its own with its output in
LOG, prints the application's pid and exits, so the application is not gsetup's child (it
neither dies with gsetup nor lingers as gsetup's zombie).
"""

from __future__ import annotations

import subprocess
import sys


def main(argv: list[str]) -> int:
    """Start ``argv[3:]`` in ``argv[0]`` with output appended to ``argv[1]``; print its pid."""
    cwd, log, separator, *command = argv
    if separator != "--" or not command:
        print("usage: python -m gsetup.process.launch CWD LOG -- COMMAND...", file=sys.stderr)
        return 2
    try:
        with open(log, "ab") as out:
            child = subprocess.Popen(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as exc:
        print(f"cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
        return 2
    print(child.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
