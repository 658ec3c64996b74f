"""Ctrl-C held off while work that must not stop half-way finishes; SIGHUP at a question."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


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


STOPS = (KeyboardInterrupt, HungUp)  # what stops a wizard where it is, answers given kept


@contextmanager
def hang_up_stops() -> Iterator[None]:
    """SIGHUP in the block raises :class:`HungUp` (by default it ended the process at once:
    no answers saved, not a word). Later SIGHUPs are ignored while gsetup stops."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def _hang_up(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        raise HungUp

    previous = signal.signal(signal.SIGHUP, _hang_up)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_IGN if received else previous)
