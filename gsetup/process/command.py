"""The command adapter: configured start, stop and status command lines (systemctl, ssh...).

Each runs in a session of its own, with the configured timeout: one that does not finish in
time is killed with its process group and reported. Output goes to a temporary file, not a
pipe, so a start command that leaves a daemon behind does not keep gsetup waiting.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile

from gsetup.errors import BadInputError
from gsetup.process.config import SECTION, ProcessConfig, environment


class CommandAdapter:
    """Start, stop and ask about an application through its configured command lines."""

    def __init__(self, config: ProcessConfig) -> None:
        self.config = config
        self.output = ""

    def running(self) -> tuple[bool, int | None]:
        """The status command's answer: exit status 0 means running."""
        return self._run("status") == 0, None

    def start(self) -> None:
        """Run the start command; a non-zero exit status is an error."""
        self._check("start")

    def stop(self) -> None:
        """Run the stop command; a non-zero exit status is an error."""
        self._check("stop")

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the last command printed."""
        return "\n".join(self.output.strip().splitlines()[-lines:])

    def _check(self, which: str) -> None:
        status = self._run(which)
        if status != 0:
            raise BadInputError(
                f"application {self.config.app!r}: the {which} command exited with status "
                f"{status}: {self.log_tail() or '(no output)'}"
            )

    def _run(self, which: str) -> int:
        line = str(getattr(self.config, which))
        where = f"application {self.config.app!r}: the {which} command ([{SECTION}] {which})"
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise BadInputError(f"{where} cannot be split: {exc}") from exc
        with tempfile.TemporaryFile() as out:
            try:
                process = subprocess.Popen(
                    argv,
                    cwd=self.config.working_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=environment(self.config, argv),
                )
            except OSError as exc:
                raise BadInputError(f"{where} cannot run: {exc.strerror}: {argv[0]}") from exc
            try:
                status = process.wait(timeout=self.config.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                raise BadInputError(
                    f"{where} did not finish within {self.config.timeout:g} s and was killed; "
                    f"fix it or raise [{SECTION}] timeout"
                ) from None
            out.seek(0)
            self.output = out.read().decode(errors="replace")
        return status
