"""Ctrl-C held off while work that must not stop half-way finishes; SIGHUP at a question,
SIGTERM and SIGHUP during a run, stopping it as Ctrl-C does."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType
from typing import Any


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Run the block to its end even if Ctrl-C comes; the interrupt is raised after it.

    Used around a commit and the file renames that must follow it, and around releasing a
    lock: stopping there would leave a committed install with its files half in place.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def _note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGINT, _note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


class HungUp(BaseException):
    """SIGHUP (the terminal closed) at a question: the wizard stops as at Ctrl-C (catch
    :data:`STOPS`), but exits 129. Not a KeyboardInterrupt: typer turns one into a silent 130."""


class Terminated(BaseException):
    """SIGTERM during work that stops as at Ctrl-C (:func:`signals_stop`): exits 143."""


STOPS = (KeyboardInterrupt, HungUp)  # what stops a wizard where it is, answers given kept

# Raises the exception of a signal received whose raise was lost: Python drops an exception
# raised in a finalizer or a weak reference's callback (SQLAlchemy's run at any time), and the
# handler raises once only.
Stopped = Callable[[], None]


def hang_up_stops() -> AbstractContextManager[Stopped]:
    """SIGHUP in the block raises :class:`HungUp` (by default it ended the process at once:
    no answers saved, not a word). Later SIGHUPs are ignored while gsetup stops."""
    return _raising({signal.SIGHUP: HungUp})


def signals_stop() -> AbstractContextManager[Stopped]:
    """SIGTERM and SIGHUP in the block stop it as Ctrl-C does (:class:`Terminated`,
    :class:`HungUp`): by default they ended the process at once, its clean-up (a throw-away
    directory) never run. Later ones are ignored while gsetup stops. The block calls the
    :data:`Stopped` it gets between steps of its work."""
    return _raising({signal.SIGHUP: HungUp, signal.SIGTERM: Terminated})


@contextmanager
def _raising(raised: dict[signal.Signals, type[BaseException]]) -> Iterator[Stopped]:
    """Each signal of ``raised`` in the block raises its exception, the first one only: a
    second must not break off the clean-up the first started."""
    received: list[signal.Signals] = []

    def stopped() -> None:
        if received:
            raise raised[received[0]]

    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if not received:
            received.append(signal.Signals(signum))
            stopped()

    def _unraisable(lost: Any) -> None:
        if lost.exc_type not in raised.values():  # a lost stop: raised again by stopped()
            hook(lost)

    previous = {signum: signal.signal(signum, _stop) for signum in raised}
    hook, sys.unraisablehook = sys.unraisablehook, _unraisable
    try:
        yield stopped
        stopped()  # the block ended, the stop lost on the way
    finally:
        sys.unraisablehook = hook
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if received else handler)
