"""The routing runtime's HTTP API (Starlette, served by uvicorn from ``gsetup route run``).

Nothing but that command imports this module: the engine runs without it, and tests and the
bench drive :class:`gsetup.runtime.api.Runtime` in-process. ``/healthz``, ``/openapi.json``
and the agent desk's files (:mod:`gsetup.runtime.desk`) need no credential; every other route
needs ``Authorization: Bearer TOKEN``: a DMS application's intake token for
intake and events, an agent session (``POST /agents/login``) for ``/agents/...``, either for
status and metrics. Credentials are checked before the body is read, so a refused request changes
nothing, and read from the configuration database on every request: a revoked token, or the
session of an agent whose password changed or who was removed, is refused at once.
docs/runtime.md describes every route, and ``openapi.json`` beside this module (served at
``GET /openapi.json``) describes them exactly; tests/test_openapi.py checks the two agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import uvicorn
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gsetup.configdb.database import first_line, scrub
from gsetup.fileio import quote_prefix
from gsetup.httpjson import BodyError, json_object, refusal_reason
from gsetup.numbers import decimal_number
from gsetup.runtime.config import read_agent
from gsetup.runtime.credentials import check_agent_login, find_intake_caller, login_still_holds
from gsetup.runtime.desk import desk_routes
from gsetup.runtime.errors import IntakeError, RuntimeRequestError
from gsetup.runtime.sessions import (
    ENDED_REASON,
    Session,
    end_sessions,
    find_session,
    open_session,
)
from gsetup.runtime.views import to_json

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from sqlalchemy import Engine

    from gsetup.runtime.api import Runtime

log = logging.getLogger("gsetup.runtime.http")
# Bodies are small JSON documents; a megabyte leaves room for long texts and attached data.
MAX_BODY_BYTES = 1024 * 1024
# ``GET /agents/offers?wait=S``: the longest wait asked for, and how often a waiting request
# reads the offers again even if no notification came (a lost one only delays the answer).
MAX_OFFER_WAIT = 60.0
OFFER_RECHECK = 1.0
# The OpenAPI 3.1 document of these routes, kept by hand (package data).
OPENAPI_DOCUMENT = Path(__file__).with_name("openapi.json")
T = TypeVar("T")
ApiHandler = Callable[["Api", Request], Awaitable[Response]]


@dataclass
class Api:
    """What the routes act on: the tenant's runtime, the configuration database that holds
    the credentials, and the metrics registry."""

    runtime: Runtime
    config: Engine
    registry: CollectorRegistry | None = None
    max_body: int = MAX_BODY_BYTES
    # agent -> the event its waiting ``GET /agents/offers?wait=`` requests wait on; set and
    # dropped when offers may have been made to it (in the event loop's thread only)
    _offers_waited: dict[str, asyncio.Event] = field(default_factory=dict)
    closing: bool = False  # the server is shutting down: waiting requests are answered now

    @contextlib.asynccontextmanager
    async def watching_offers(self) -> AsyncIterator[None]:
        """While serving: offers made (by this process's turns or, once it listens,
        another's) wake the requests waiting for them."""
        loop = asyncio.get_running_loop()

        def made(agents: frozenset[str] | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(self._wake_waiting, agents)

        stop = self.runtime.watch_offers(made)
        try:
            yield
        finally:
            stop()

    def offers_event(self, agent: str) -> asyncio.Event:
        """What a request waiting for ``agent``'s offers waits on: set once offers may have
        been made to it (take it before reading the offers, so none is missed between)."""
        return self._offers_waited.setdefault(agent, asyncio.Event())

    def stop_waiting(self) -> None:
        """Answer every waiting ``GET /agents/offers?wait=`` now, with the offers as they
        are, and those that come later without waiting (in the event loop's thread)."""
        self.closing = True
        self._wake_waiting(None)

    def _wake_waiting(self, agents: frozenset[str] | None) -> None:
        names = list(self._offers_waited) if agents is None else agents
        for name in names:
            event = self._offers_waited.pop(name, None)
            if event is not None:
                event.set()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking runtime call in a worker thread. Calls run concurrently, with
        each other and with the engine's loop, as workers sharing a store do: every one is
        its own transaction, under the store's row locks."""
        return await run_in_threadpool(fn, *args)


def build_app(api: Api) -> Starlette:
    """The ASGI application serving ``api``."""

    def route(path: str, handler: ApiHandler, method: str, query: tuple[str, ...] = ()) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                _check_query(request, query)
                return await handler(api, request)
            except RuntimeRequestError as exc:
                # A bad request or event is refused and logged; the runtime goes on.
                log.warning(
                    "event=refused method=%s path=%s status=%d reason=%r",
                    method,
                    path,
                    exc.status,
                    exc.reason,
                )
                return _error(exc.status, exc.reason)
            except OperationalError as exc:
                # The store or the configuration database unreachable (a restart, a lost
                # connection): one line, as a worker's turn-failed, not a traceback a request.
                log.warning(
                    "event=request-failed method=%s path=%s reason=%r",
                    method,
                    path,
                    first_line(exc),
                )
                return _error(500, "the runtime failed to answer; its log says why")
            except Exception:  # a bug: logged here (no URL's password), never shown to clients
                log.error(
                    "event=request-failed method=%s path=%s\n%s",
                    method,
                    path,
                    scrub(traceback.format_exc()).rstrip(),
                )
                return _error(500, "the runtime failed to answer; its log says why")

        return Route(path, endpoint, methods=[method])

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with api.watching_offers():
            yield

    return Starlette(
        lifespan=lifespan,
        middleware=[Middleware(_RoutedAsSent)],
        exception_handlers={HTTPException: _http_exception},
        routes=[
            route("/healthz", _healthz, "GET"),
            route("/openapi.json", _openapi, "GET"),
            route("/interactions", _submit, "POST"),
            route("/events", _event, "POST"),
            route("/status", _status, "GET"),
            route("/metrics", _metrics, "GET"),
            route("/agents/login", _login, "POST"),
            route("/agents/ready", _ready, "POST"),
            route("/agents/not-ready", _not_ready, "POST"),
            route("/agents/logout", _logout, "POST"),
            route("/agents/offers", _offers, "GET", query=("wait",)),
            route("/agents/interactions/{id}/accept", _accept, "POST"),
            route("/agents/interactions/{id}/reject", _reject, "POST"),
            route("/agents/interactions/{id}/reply", _reply, "POST"),
            route("/agents/interactions/{id}/done", _done, "POST"),
            *desk_routes(),
        ],
    )


class _RoutedAsSent:
    """Routes match the path as sent, still percent-encoded: uvicorn decodes it, so an
    interaction id holding ``/`` (``%2F``, as the client encodes it) was split into other
    segments and ``x/../../status`` reached another path, or none. The interaction routes
    decode their id (:func:`_interaction_id`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw:  # without its query string (ASGI)
            scope = {**scope, "path": raw.decode("latin-1")}
        await self.app(scope, receive, send)


class Server(uvicorn.Server):
    """uvicorn serving ``api``. uvicorn finishes every open request before it stops, so as
    it begins to shut down (SIGTERM, Ctrl-C, ``should_exit``) the requests waiting for
    offers are answered at once: a long poll would otherwise hold the process up to 60 s."""

    # Called as the shutdown begins: uvicorn waits for the requests in flight, and one
    # waiting in a thread on a store that answers nothing (SIGSTOP) would hold it for ever.
    stopping: Callable[[], None] | None = None

    def __init__(self, api: Api, **options: Any) -> None:
        config = uvicorn.Config(build_app(api), log_config=None, lifespan="on", **options)
        super().__init__(config)
        self.api = api

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.stopping is not None:
            self.stopping()
        self.api.stop_waiting()
        await super().shutdown(sockets)

    def in_flight(self) -> int:
        """Requests being answered now."""
        return len(self.server_state.tasks)


def _error(status: int, reason: str, headers: Mapping[str, str] | None = None) -> Response:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such path, a method the route does not take) answered
    as every other error is: JSON with a reason, the status and headers (``Allow``) kept."""
    refused = cast(HTTPException, exc)  # registered for HTTPException only
    reason = refusal_reason(request, refused, "docs/runtime.md lists the routes")
    return _error(refused.status_code, reason, refused.headers)


def _check_query(request: Request, allowed: tuple[str, ...]) -> None:
    """A query parameter the route does not take, or one given twice, is refused, as an
    unknown body field is: a misspelt ``?wiat=30`` ignored would answer the offers at once,
    and a desk waiting for them would poll in a busy loop."""
    names = [name for name, _value in request.query_params.multi_items()]
    for name in names:
        if name not in allowed:
            takes = "the parameters are: " + ", ".join(allowed) if allowed else "it takes none"
            raise RuntimeRequestError(400, f"unknown query parameter {quote_prefix(name)}; {takes}")
        if names.count(name) > 1:
            raise RuntimeRequestError(400, f"{name} is given twice")


# --- credentials ---------------------------------------------------------------------------


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise RuntimeRequestError(401, "missing credentials: send Authorization: Bearer TOKEN")
    return token.strip()


async def _intake_app(api: Api, request: Request) -> str:
    """The DMS application whose intake token the request carries."""
    token = _bearer(request)
    caller = await run_in_threadpool(find_intake_caller, api.config, api.runtime.tenant, token)
    if caller is None:
        raise await _refused(api, token, "a DMS application's intake token of this tenant") or (
            RuntimeRequestError(401, "unknown or revoked intake token")
        )
    if caller.app not in api.runtime.engine.ctx.deployment.apps:
        # Added since the runtime last read the applications: read them now.
        await run_in_threadpool(api.runtime.refresh_applications, api.config)
    return caller.app


async def _session(api: Api, request: Request) -> Session:
    """The agent session the request carries; an agent of another tenant is forbidden."""
    token = _bearer(request)
    session = await run_in_threadpool(find_session, api.runtime.store.engine, token)
    if session is None:
        raise await _refused(api, token, "an agent's session of this tenant") or (
            RuntimeRequestError(
                401, "unknown or expired session: log in again (POST /agents/login)"
            )
        )
    if session.tenant != api.runtime.tenant:
        raise RuntimeRequestError(
            403, f"agent {session.agent!r} of tenant {session.tenant!r} may not act on this tenant"
        )
    ended = await _ended(api, session)
    if ended is not None:
        raise ended
    return session


async def _ended(api: Api, session: Session) -> RuntimeRequestError | None:
    """401 for a session of this tenant whose agent's password changed, or which was
    removed, since the session was opened; None while its login holds. Either cause is
    named, so the refusal tells no more than the session did (its agent's name)."""
    if await run_in_threadpool(
        login_still_holds, api.config, session.tenant, session.agent, session.credential
    ):
        return None
    return RuntimeRequestError(
        401,
        f"{ENDED_REASON}the agent's password changed or the agent was removed; "
        "log in again (POST /agents/login)",
    )


async def _refused(api: Api, token: str, wanted: str) -> RuntimeRequestError | None:
    """403 for a real credential the route does not take (an agent's session where an
    intake token is wanted, another tenant's intake token...); None for a token that is
    nobody's (401)."""
    caller = await run_in_threadpool(find_intake_caller, api.config, None, token)
    if caller is not None:
        held = f"the intake token of {caller.app!r} of tenant {caller.tenant!r}"
    else:
        session = await run_in_threadpool(find_session, api.runtime.store.engine, token)
        if session is None:
            return None
        if session.tenant == api.runtime.tenant:  # another tenant's logins are not ours to read
            ended = await _ended(api, session)
            if ended is not None:
                return ended
        held = f"the session of agent {session.agent!r} of tenant {session.tenant!r}"
    return RuntimeRequestError(403, f"{held} may not do this: it takes {wanted}")


async def _any_credential(api: Api, request: Request) -> None:
    """An intake token or an agent session of this tenant (status and metrics)."""
    token = _bearer(request)
    tenant = api.runtime.tenant
    if await run_in_threadpool(find_intake_caller, api.config, tenant, token) is not None:
        return
    session = await run_in_threadpool(find_session, api.runtime.store.engine, token)
    if session is not None and session.tenant == tenant:
        ended = await _ended(api, session)
        if ended is not None:
            raise ended
        return
    # Either kind may have been meant: the refusal names both (a revoked intake token is not
    # told to log in again).
    either = "an intake token or an agent's session of this tenant"
    raise await _refused(api, token, either) or RuntimeRequestError(
        401, f"unknown, revoked or expired token: send {either}"
    )


# --- bodies --------------------------------------------------------------------------------


async def _body(
    api: Api, request: Request, *, fields: tuple[str, ...] | None, required: bool = True
) -> dict[str, Any]:
    """The request's JSON object (:func:`gsetup.httpjson.json_object`). A route that needs
    none reads it all the same (``required=False``: an empty body is ``{}``), so no POST
    accepts a body the others would refuse. A field not in ``fields`` is refused, as the
    intake refuses one: a misspelt ``"queeu"`` ignored would send the interaction to the
    stop queue (None: the route checks its fields itself)."""
    try:
        body = await json_object(request, api.max_body, required=required)
    except BodyError as exc:
        raise RuntimeRequestError(exc.status, exc.reason) from None
    unknown = sorted(set(body) - set(fields)) if fields is not None else []
    if unknown:
        allowed = f"the fields are: {', '.join(fields)}" if fields else "it takes no fields"
        raise RuntimeRequestError(400, f"unknown field {quote_prefix(unknown[0])}; {allowed}")
    return body


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise RuntimeRequestError(400, f"{key!r} must be a non-empty string")
    return value


# --- routes --------------------------------------------------------------------------------


async def _healthz(api: Api, request: Request) -> Response:
    # A load balancer's probe: with the store down every other route fails (500), so this
    # one must not say ok.
    try:
        await api.call(api.runtime.check_store)
    except OperationalError as exc:
        log.warning("event=request-failed method=GET path=/healthz reason=%r", first_line(exc))
        return _error(503, "the interaction store does not answer; the log says why")
    return JSONResponse({"status": "ok", "tenant": api.runtime.tenant})


async def _openapi(api: Api, request: Request) -> Response:
    return Response(_openapi_document(), media_type="application/json")


@functools.cache
def _openapi_document() -> bytes:
    return OPENAPI_DOCUMENT.read_bytes()


async def _submit(api: Api, request: Request) -> Response:
    app = await _intake_app(api, request)
    body = await _body(api, request, fields=None)
    try:
        accepted = await api.call(api.runtime.submit, api.runtime.tenant, app, body)
    except IntakeError as exc:
        if exc.status != 422:
            raise
        # No route for it in the options as last read (every 10 s): they may have been set
        # since, so read them now and try once more before refusing.
        await run_in_threadpool(api.runtime.refresh_applications, api.config)
        accepted = await api.call(api.runtime.submit, api.runtime.tenant, app, body)
    return JSONResponse(
        {"id": accepted.interaction_id, "duplicate": accepted.duplicate, "queue": accepted.queue},
        status_code=200 if accepted.duplicate else 201,
    )


async def _event(api: Api, request: Request) -> Response:
    app = await _intake_app(api, request)
    body = await _body(api, request, fields=None)
    matched = await api.call(api.runtime.event, api.runtime.tenant, app, body)
    return JSONResponse({"matched": matched})


async def _status(api: Api, request: Request) -> Response:
    await _any_credential(api, request)
    status = await api.call(api.runtime.status, api.runtime.tenant)
    return JSONResponse(to_json(status))


async def _metrics(api: Api, request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    await _any_credential(api, request)
    text = await run_in_threadpool(generate_latest, api.registry or REGISTRY)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


async def _login(api: Api, request: Request) -> Response:
    body = await _body(api, request, fields=("agent", "password", "tenant"))
    agent, password = _text(body, "agent"), _text(body, "password")
    assert agent is not None and password is not None
    given, tenant = _text(body, "tenant", required=False), api.runtime.tenant
    if given not in (None, tenant):  # another tenant's agent is not known here
        raise RuntimeRequestError(401, "login failed: wrong agent or password")
    credential = await run_in_threadpool(check_agent_login, api.config, tenant, agent, password)
    if credential is None:
        raise RuntimeRequestError(401, "login failed: wrong agent or password")
    # Read now: an agent added or changed since this runtime started logs in as it is now.
    config = await run_in_threadpool(read_agent, api.config, tenant, agent)
    if config is None:
        raise RuntimeRequestError(404, f"{agent!r} is no longer an agent of tenant {tenant!r}")
    status = await api.call(api.runtime.agent_login, tenant, agent, config)
    token, session = await run_in_threadpool(
        open_session, api.runtime.store.engine, tenant, agent, credential
    )
    return JSONResponse({"token": token, "expires_at": session.expires_at, **to_json(status)})


async def _presence(api: Api, request: Request, action: str) -> Response:
    session = await _session(api, request)
    await _body(api, request, fields=(), required=False)
    runtime = api.runtime
    fn = {
        "ready": runtime.agent_ready,
        "not-ready": runtime.agent_not_ready,
        "logout": runtime.agent_logout,
    }[action]
    status = await api.call(fn, session.tenant, session.agent)
    if action == "logout":
        await run_in_threadpool(end_sessions, runtime.store.engine, session.tenant, session.agent)
    return JSONResponse(to_json(status))


async def _ready(api: Api, request: Request) -> Response:
    return await _presence(api, request, "ready")


async def _not_ready(api: Api, request: Request) -> Response:
    return await _presence(api, request, "not-ready")


async def _logout(api: Api, request: Request) -> Response:
    return await _presence(api, request, "logout")


async def _offers(api: Api, request: Request) -> Response:
    session = await _session(api, request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _offer_wait(request)
    waited = False
    while True:
        changed = api.offers_event(session.agent)
        offers = await api.call(api.runtime.offers, session.tenant, session.agent)
        remaining = deadline - loop.time()
        if remaining <= 0 or api.closing or any(o.state == "offered" for o in offers):
            if waited:
                # The session checked at the start may have ended since (a new password, a
                # removal, a logout): then 401, and the offers made meanwhile told to nobody.
                await _session(api, request)
            return JSONResponse({"offers": [to_json(o) for o in offers]})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), min(remaining, OFFER_RECHECK))
        waited = True


def _offer_wait(request: Request) -> float:
    given = request.query_params.get("wait")
    if given is None:
        return 0.0
    seconds = decimal_number(given, signed=False)
    if seconds is None or not 0 <= seconds <= MAX_OFFER_WAIT:
        raise RuntimeRequestError(
            400,
            f"wait is a plain decimal number of seconds from 0 to {MAX_OFFER_WAIT:.0f} "
            f"(e.g. 30 or 2.5), not {quote_prefix(given)}",
        )
    return seconds


def _interaction_id(request: Request) -> str:
    """The interaction id of an ``/agents/interactions/{id}/...`` route, decoded: the route
    matched it percent-encoded, as sent (:class:`_RoutedAsSent`)."""
    from urllib.parse import unquote

    return unquote(request.path_params["id"])


async def _accept(api: Api, request: Request) -> Response:
    session = await _session(api, request)
    await _body(api, request, fields=(), required=False)
    itx = _interaction_id(request)
    offer = await api.call(api.runtime.accept, session.tenant, session.agent, itx)
    return JSONResponse(to_json(offer))


async def _reject(api: Api, request: Request) -> Response:
    session = await _session(api, request)
    await _body(api, request, fields=(), required=False)
    itx = _interaction_id(request)
    await api.call(api.runtime.reject, session.tenant, session.agent, itx)
    return JSONResponse({"id": itx, "rejected": True})


async def _reply(api: Api, request: Request) -> Response:
    session = await _session(api, request)
    body = await _body(api, request, fields=("text",))
    text = _text(body, "text")
    itx = _interaction_id(request)
    reply_id = await api.call(api.runtime.reply, session.tenant, session.agent, itx, text)
    return JSONResponse({"id": itx, "reply_id": reply_id}, status_code=201)


async def _done(api: Api, request: Request) -> Response:
    session = await _session(api, request)
    body = await _body(api, request, fields=("queue",), required=False)
    queue = _text(body, "queue", required=False)
    itx = _interaction_id(request)
    await api.call(api.runtime.done, session.tenant, session.agent, itx, queue)
    return JSONResponse({"id": itx, "done": True})
