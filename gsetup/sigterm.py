"""SIGTERM as a clean stop for the uvicorn servers (``route run``, ``dms run``)."""

from __future__ import annotations

import signal
import threading
from typing import Any


def stop_on_sigterm(server: Any) -> Any:
    """Make SIGTERM set ``server.should_exit``; returns the handler it replaced (None off the
    main thread, where no handler can be set). uvicorn handles SIGTERM while serving, then
    raises it again for the handler it found: with the default one the process would die with
    status 143 before the code after ``run`` (finishing a turn, removing a record) ran."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
