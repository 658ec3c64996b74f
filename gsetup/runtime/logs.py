"""The runtime's log on standard error (``route run --log-level``, the worker's too)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

LEVELS = ("debug", "info", "warning", "error")


@contextmanager
def logging_to_stderr(level: str) -> Iterator[None]:
    """While the block runs, the ``gsetup`` loggers' lines of ``level`` (one of
    :data:`LEVELS`) and above go to standard error, each a ``key=value`` line led by its UTC
    time and level. Without it Python shows warnings only (its last-resort handler), so the
    debug lines of every state change could not be seen at all."""
    handler = logging.StreamHandler()
    formatter = logging.Formatter(
        "time=%(asctime)s.%(msecs)03dZ level=%(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logger = logging.getLogger("gsetup")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
