"""Start a command line detached from gsetup:
``python -m gsetup.process.launch CWD LOG PIDFILE -- ARGV``.

This short-lived process starts the application in a session of its own with its output in
LOG, records its pid in PIDFILE, prints it and exits, so the application is not gsetup's
child (it neither dies with gsetup nor lingers as gsetup's zombie). It records the pid
itself: gsetup interrupted or killed while it runs does not lose track of the application.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gsetup.process.pids import write_pid_file


def main(argv: list[str]) -> int:
    """Start ``argv[4:]`` in ``argv[0]`` with output appended to ``argv[1]``; record its pid
    in ``argv[2]`` and print it."""
    cwd, log, pid_file, separator, *command = argv
    if separator != "--" or not command:
        print(
            "usage: python -m gsetup.process.launch CWD LOG PIDFILE -- COMMAND...",
            file=sys.stderr,
        )
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
    write_pid_file(Path(pid_file), child.pid)
    print(child.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
