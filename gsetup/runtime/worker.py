"""The worker loop: run turns and deliver the outbox until told to stop.

``python -m gsetup.runtime.worker --tenant T [--config URL] [--store URL] [--worker-id ID]
[--log-level LEVEL]`` runs one worker without the HTTP API (tests kill such processes with
SIGKILL); ``gsetup route run`` runs the same loop beside its HTTP server. SIGTERM (or SIGINT)
finishes the turn in flight, commits it and exits 0; within the same bound as ``route run``'s
(2 x GSETUP_STORE_TIMEOUT + 5 s), also when the store no longer answers at all.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from gsetup.configdb.database import first_line
from gsetup.errors import EXIT_BAD_INPUT, EXIT_FAILURE, GsetupError, error_line
from gsetup.numbers import decimal_number, whole_number
from gsetup.runtime.api import Runtime
from gsetup.runtime.engine import Engine
from gsetup.runtime.logs import LEVELS, logging_to_stderr
from gsetup.runtime.store import stop_bound

log = logging.getLogger("gsetup.runtime.worker")


@dataclass
class Worker:
    """Runs ``runtime``'s engine until ``stopping`` is set."""

    runtime: Runtime
    # Seconds to sleep when nothing was due, unless this process commits work first
    # (``Runtime.work``): what the poll waits for is other processes' work and due times.
    poll: float = 0.05
    stopping: threading.Event = field(default_factory=threading.Event)
    # Reads the configuration that may change while the worker runs (the applications and
    # their options; the agents removed, logged out), every ``refresh_every`` seconds;
    # None: never.
    refresh: Callable[[], None] | None = None
    refresh_every: float = 10.0
    # Turns failing in a row (the store down, e.g. PostgreSQL restarting) double the wait
    # before the next up to this: a line a second in the log, not one a poll.
    retry_max: float = 1.0

    def run(self) -> None:
        """Loop: a turn, then outbox deliveries; sleep only when both found nothing."""
        from sqlalchemy.exc import OperationalError

        engine, work = self.runtime.engine, self.runtime.work
        self.runtime.listen()
        refresh_at = time.monotonic() + self.refresh_every
        failures = 0
        while not self.stopping.is_set():
            if self.refresh is not None and time.monotonic() >= refresh_at:
                self._refresh(self.refresh)
                refresh_at = time.monotonic() + self.refresh_every
            work.clear()  # work committed from now on is seen by this turn or wakes the wait
            try:
                # Again at once only if the turn may have left work due now, or the outbox
                # had some: a turn that ran a few interactions leaves none, and finding
                # that out would cost an empty turn.
                engine.run_turn()
                again = bool(engine.deliver(self.stopping)) or engine.more_due
                failures = 0
            except OperationalError as exc:
                # A lost connection or a deadlock victim: the turn rolled back, nothing was
                # acknowledged; try again shortly.
                log.warning("event=turn-failed reason=%r", first_line(exc))
                again, failures = False, failures + 1
            if failures:
                work.wait(min(self.poll * 2 ** min(failures, 16), self.retry_max))
            elif not again:
                work.wait(self.poll)
        self._retire(engine)

    @staticmethod
    def _retire(engine: Engine) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            engine.retire()
        except SQLAlchemyError as exc:  # the row then ages out as a killed worker's does
            log.warning("event=retire-failed reason=%r", first_line(exc))

    @staticmethod
    def _refresh(refresh: Callable[[], None]) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from gsetup.errors import GsetupError

        try:
            refresh()
        except (SQLAlchemyError, GsetupError) as exc:  # the configuration read so far stays
            log.warning("event=refresh-failed reason=%r", first_line(exc))

    def stop(self) -> None:
        """Finish the turn in flight, then return from :meth:`run`."""
        self.stopping.set()
        self.runtime.work.set()


def _positive(parse: Callable[..., float | None], kind: str) -> Callable[[str], float]:
    """An argparse type: ``kind`` of number above 0, plain ASCII decimal (:mod:`gsetup.numbers`)
    without a sign, as on gsetup's command line."""

    def convert(text: str) -> float:
        value = parse(text, signed=False)
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}; allowed: {kind} above 0")
        return value

    return convert


class _Parser(argparse.ArgumentParser):
    """Refuses its arguments as gsetup's command line does: one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        _refuse(f"{message} ({self.prog} -h shows the usage)")
        sys.exit(EXIT_BAD_INPUT)


def _refuse(message: str) -> None:
    from gsetup.configdb.database import scrub

    print(error_line(scrub(message)), file=sys.stderr)


def give_up_after(
    seconds: float,
    tenant: str,
    requests: Callable[[], int] | None = None,
    status: Callable[[], int] | None = None,
) -> threading.Timer:
    """Exit 0 in ``seconds`` unless the returned timer is cancelled first: a store whose
    server stopped answering (SIGSTOP) fires none of its own timeouts, and no thread waiting
    on it can be interrupted. The turn, never committed, ends with this process's
    connections, and the worker's row ages out as a killed worker's does. ``requests``: how
    many HTTP requests are still being answered (``route run``), for the log line;
    ``status``: the exit status instead of 0, having reported why (``route run``'s failed
    loop, which the process would otherwise end with)."""

    def give_up() -> None:
        pending = "" if requests is None else f" requests={requests()}"
        log.warning("event=stop-abandoned tenant=%r waited=%.0f%s", tenant, seconds, pending)
        os._exit(0 if status is None else status())

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True  # a loop that stops in time exits without waiting for it
    timer.start()
    return timer


def main(argv: Sequence[str] | None = None) -> int:
    """Run one worker in this process until SIGTERM."""
    from gsetup.configdb.database import (
        explain_failure,
        open_database,
        resolve_url,
        unexpected_failure,
    )
    from gsetup.runtime.api import open_runtime
    from gsetup.runtime.context import Settings

    parser = _Parser(prog="python -m gsetup.runtime.worker")
    parser.add_argument("--tenant", default="Environment")
    parser.add_argument("--config", default=None, help="configuration database URL")
    parser.add_argument("--store", default=None, help="interaction store URL")
    parser.add_argument("--worker-id", default=None)
    parser.add_argument(
        "--batch-size",
        type=_positive(whole_number, "a whole number"),
        default=200,
        help="interactions per turn",
    )
    parser.add_argument(
        "--lease",
        type=_positive(decimal_number, "a plain decimal number"),
        default=30.0,
        help="seconds an outbox claim is held",
    )
    parser.add_argument("--log-level", choices=LEVELS, default="warning")
    args = parser.parse_args(argv)
    try:
        runtime = open_runtime(
            args.tenant,
            config_url=args.config,
            store_url=args.store,
            worker_id=args.worker_id,
            settings=Settings(batch_size=args.batch_size, lease=args.lease),
        )
    except GsetupError as exc:
        _refuse(str(exc))
        return exc.exit_code
    config = open_database(resolve_url(args.config)).engine
    worker = Worker(runtime, refresh=lambda: runtime.refresh(config))

    def stop(*_: object) -> None:
        if not worker.stopping.is_set():
            give_up_after(stop_bound(), args.tenant)
        worker.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    try:
        with logging_to_stderr(args.log_level):
            worker.run()
    except Exception as exc:  # ended as route run's failed loop: one line, not a traceback
        explained = explain_failure(exc)
        _refuse(unexpected_failure(exc) if explained is None else str(explained))
        return EXIT_FAILURE if explained is None else explained.exit_code
    finally:
        runtime.close()
        config.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
