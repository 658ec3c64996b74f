"""The local adapter: the application's command line run in the background on this machine.

The pid and the process's start time go to ``gsetup-app.pid`` in the working directory and
its output to ``gsetup-app.log``; stopping sends SIGTERM to its process group, then SIGKILL
after the configured timeout.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time

from gsetup.errors import BadInputError, GsetupError
from gsetup.interrupts import deferred_interrupt
from gsetup.process.config import ProcessConfig, environment
from gsetup.process.pids import read_pid_file, start_time

PID_FILE = "gsetup-app.pid"
LOG_FILE = "gsetup-app.log"
_POLL = 0.05


class LocalAdapter:
    """Start, stop and find the application's own process."""

    def __init__(self, config: ProcessConfig) -> None:
        assert config.working_dir is not None
        self.config = config
        self.pid_file = config.working_dir / PID_FILE
        self.log_file = config.working_dir / LOG_FILE

    def running(self) -> tuple[bool, int | None]:
        """Whether the recorded process is alive, and its pid."""
        pid = read_pid_file(self.pid_file)
        return pid is not None, pid

    def start(self) -> None:
        """Start the command line unless the application runs already."""
        if self.running()[0]:
            return
        try:
            argv = shlex.split(self.config.start_cmd)
        except ValueError as exc:
            raise BadInputError(
                f"application {self.config.app!r}: its start command cannot be split ({exc})"
            ) from exc
        launcher = [sys.executable, "-m", "gsetup.process.launch"]
        where = [str(self.config.working_dir), str(self.log_file), str(self.pid_file)]
        # The launcher records the pid and is left to finish (its own session, out of reach
        # of a terminal's Ctrl-C; a Ctrl-C here waits for it): interrupted half-way, the
        # application would run on untracked, holding its port.
        with deferred_interrupt():
            done = subprocess.run(
                [*launcher, *where, "--", *argv],
                capture_output=True,
                text=True,
                env=environment(self.config, argv),
                timeout=self.config.timeout,
                check=False,
                start_new_session=True,
            )
        if done.returncode != 0:
            raise BadInputError(
                f"application {self.config.app!r}: its start command failed: "
                f"{done.stderr.strip() or done.returncode}"
            )

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after the timeout; wait until it is gone."""
        pid = read_pid_file(self.pid_file)
        if pid is not None:
            started = start_time(pid)
            _signal_group(pid, signal.SIGTERM)
            if not _wait_gone(pid, started, self.config.timeout):
                _signal_group(pid, signal.SIGKILL)
                if not _wait_gone(pid, started, 10.0):
                    raise GsetupError(
                        f"application {self.config.app!r}: pid {pid} survived SIGKILL"
                    )
        self.pid_file.unlink(missing_ok=True)

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the application's output, for error messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def _wait_gone(pid: int, started: str | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if started is None or start_time(pid) != started:
            return True
        time.sleep(_POLL)
    return False
