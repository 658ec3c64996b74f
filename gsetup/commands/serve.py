"""``gsetup route run``: serve one tenant's routing runtime until SIGTERM.

The process runs two things: the engine's loop (turns, then outbox deliveries) in a worker
thread, and the HTTP API (:mod:`gsetup.runtime.http`) on uvicorn in the main thread. On
SIGTERM (or Ctrl-C) uvicorn stops accepting, answers the requests waiting for offers at once
and finishes the requests in flight; then the loop finishes its turn and stops, and the
runtime's record as running is removed. All of that within :func:`stop_bound`: past it, the
process exits whatever still waits on the store (:class:`_StopBound`): 0, or as the loop's
failure, if it failed, would have ended it.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gsetup.errors import BadInputError
from gsetup.fileio import quote_prefix
from gsetup.numbers import whole_number

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from gsetup.context import Context
    from gsetup.runtime.api import Runtime

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8470"  # loopback: nobody else gets in unless told otherwise


@dataclass(frozen=True)
class Listen:
    """Where to listen: host and port (0: any free port)."""

    host: str
    port: int

    def url(self, port: int | None = None) -> str:
        """The base URL clients use."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port if port is None else port}"


def parse_listen(text: str | None) -> Listen:
    """``HOST:PORT`` (``[::1]:8470`` for IPv6; None: the default) -> :class:`Listen`."""
    text = DEFAULT_LISTEN if text is None else text
    host, sep, given = text.rpartition(":")
    host = host.strip("[]")
    port = whole_number(given, signed=False)
    if not sep or not host or port is None or not 0 <= port <= 65535:
        raise BadInputError(f"--listen {quote_prefix(text)}: use HOST:PORT, e.g. 127.0.0.1:8470")
    return Listen(host, port)


def bind(listen: Listen) -> socket.socket:
    """A listening socket; a clear error when the address is taken or not this host's."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen.host, listen.port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise BadInputError(
            f"--listen {listen.host}:{listen.port}: cannot listen there: {exc.strerror}"
        ) from None
    return sock


def serve(
    runtime: Runtime,
    config: Engine,
    listen: Listen,
    *,
    store_url: str | None,
    ready: Callable[[str], None],
    failed: Callable[[Exception], int],
    log_level: str,
) -> None:
    """Serve ``runtime`` on ``listen`` until SIGTERM, logging at ``log_level``; ``ready(url)``
    is called once clients can connect. ``store_url`` (``--store``) is recorded as used only
    then: a refused start (an address in use, a worker id taken) records nothing. The loop's
    failure is raised; ``failed`` reports it and returns the exit status instead when the
    stop is abandoned, which this function never returns from."""
    from gsetup.runtime.endpoints import forget_endpoint, record_endpoint, record_store
    from gsetup.runtime.http import Api, Server
    from gsetup.runtime.logs import logging_to_stderr
    from gsetup.runtime.sessions import create_session_table
    from gsetup.runtime.store import default_store_url
    from gsetup.sigterm import stop_on_sigterm

    store = runtime.store.engine
    create_session_table(store)
    ctx = runtime.engine.ctx
    api = Api(runtime, config, ctx.metrics.registry, ctx.settings.max_body)
    sock = bind(listen)
    url = listen.url(sock.getsockname()[1])
    server = Server(api, access_log=False)
    loop = _Loop(runtime, server, refresh=lambda: runtime.refresh(config))

    def abandoned() -> int:
        return 0 if loop.failure is None else failed(loop.failure)

    bound = _StopBound(runtime.tenant, server.in_flight, abandoned)
    server.stopping = bound.start
    try:
        record_endpoint(store, runtime.tenant, ctx.worker_id, url, lease=ctx.settings.lease)
        if store_url is not None:
            default = default_store_url(config.url.render_as_string(hide_password=False))
            try:
                record_store(default, runtime.tenant, store_url)
            except BaseException:
                forget_endpoint(store, runtime.tenant, ctx.worker_id)
                raise
    except BaseException:
        sock.close()
        raise
    previous = stop_on_sigterm(server)
    with logging_to_stderr(log_level):
        try:
            loop.thread.start()
            ready(url)
            server.run(sockets=[sock])
        finally:
            bound.start()  # a start that failed never began uvicorn's shutdown
            loop.worker.stop()
            loop.thread.join()
            _forget(store, runtime.tenant, ctx.worker_id)
            bound.cancel()
            sock.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    if loop.failure is not None:
        raise loop.failure


def _forget(store: Engine, tenant: str, worker_id: str) -> None:
    """Remove the record of this process running. With the store down (a SIGTERM while
    PostgreSQL restarts) it stays, and clients pass it over as a dead process's: the stop
    is still clean (exit 0), as the worker's own retirement is."""
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.configdb.database import first_line
    from gsetup.runtime.endpoints import forget_endpoint

    try:
        forget_endpoint(store, tenant, worker_id)
    except SQLAlchemyError as exc:
        log.warning("event=forget-failed tenant=%r reason=%r", tenant, first_line(exc))


class _StopBound:
    """Ends the process (``event=stop-abandoned``, exit ``status()``) once :func:`stop_bound`
    has passed since the stop began. Not even the store's own timeouts answer when its server
    is stopped (SIGSTOP): the engine's turn and the HTTP requests waiting on it never return,
    and their threads cannot be interrupted. The turn's transaction, never committed, ends
    with this process's connections, and the record as running is passed over as a dead
    one's."""

    def __init__(self, tenant: str, requests: Callable[[], int], status: Callable[[], int]) -> None:
        self.tenant, self.requests, self.status = tenant, requests, status
        self.timer: threading.Timer | None = None

    def start(self) -> None:
        """Start counting, once."""
        from gsetup.runtime.store import stop_bound
        from gsetup.runtime.worker import give_up_after

        if self.timer is None:
            self.timer = give_up_after(stop_bound(), self.tenant, self.requests, self.status)

    def cancel(self) -> None:
        """Stopped in time."""
        if self.timer is not None:
            self.timer.cancel()


class _Loop:
    """The engine's worker loop in a thread. If it fails, the server stops too: a runtime
    that accepts but never routes would hide the failure."""

    def __init__(self, runtime: Runtime, server: Any, refresh: Callable[[], None]) -> None:
        from gsetup.runtime.worker import Worker

        self.worker, self.server = Worker(runtime, refresh=refresh), server
        self.failure: Exception | None = None
        self.thread = threading.Thread(target=self.run, name="engine", daemon=True)

    def run(self) -> None:
        """The worker's turns until stopped."""
        try:
            self.worker.run()
        except Exception as exc:
            self.failure = exc
            self.server.should_exit = True


def run_tenant(
    ctx: Context,
    tenant: str,
    *,
    store: str | None,
    listen: Listen,
    worker_id: str | None,
    ready: Callable[[str], None],
    failed: Callable[[Exception], int],
    log_level: str,
) -> None:
    """Load the tenant's runtime (refusing a broken strategy or a tenant with no Business
    Process before anything listens) and serve it (:func:`serve`)."""
    from gsetup.runtime.api import open_runtime

    ctx.identity.require(tenant, change=False)
    config_url = ctx.db.url.render_as_string(hide_password=False)
    runtime = open_runtime(
        tenant, config_url=config_url, store_url=store, worker_id=worker_id, record_use=False
    )
    try:
        serve(
            runtime,
            ctx.db.engine,
            listen,
            store_url=store,
            ready=ready,
            failed=failed,
            log_level=log_level,
        )
    finally:
        runtime.close()
