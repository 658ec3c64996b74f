"""The stand-in's HTTP service (Starlette on uvicorn): health, inbound, switchover, outbound.

Routes (docs/upgrades.md): ``GET /health``; ``POST /interactions`` (accepted only while
primary and healthy: 202, else 503 so that the client tries the other member);
``POST /switchover`` (asked of the primary: it asks the backup to ``POST /promote`` and
becomes backup only once the backup answered that it is primary); ``POST /outbound``. The
two routes that change a role want the member's ``[gsetup-dms] control-token`` as a bearer
token: whoever can reach a member must not make a second primary.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

from gsetup.dms.bodies import (
    MAX_BODY,
    check_interaction,
    check_outbound,
    check_promote,
    check_switchover,
)
from gsetup.dms.control import ControlReader, ControlTokens
from gsetup.dms.drivers import LoadedDriver, load_drivers
from gsetup.dms.forward import Forwarder, IntakeReader
from gsetup.dms.outbound import OutboundLog
from gsetup.dms.settings import CONTROL_KEY, CONTROL_SECTION, DmsSettings, Peer, RoleState
from gsetup.dms.spool import Spool
from gsetup.errors import BadInputError
from gsetup.httpclient import tls
from gsetup.httpjson import BodyError, json_object, refusal_reason
from gsetup.sigterm import stop_on_sigterm

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse

_PEER_TIMEOUT = 10.0


class DmsService:
    """One running member: its state and the handlers of its routes."""

    def __init__(
        self,
        settings: DmsSettings,
        drivers: list[LoadedDriver],
        reread_intake: IntakeReader | None = None,
        reread_control: ControlReader | None = None,
    ) -> None:
        self.settings = settings
        self.drivers = drivers
        self.reread_intake = reread_intake
        self.control = ControlTokens(settings.control_token, settings.peer, reread_control)
        self.problems = [f"{d.driver}: {d.error}" for d in drivers if d.error]
        self.role = RoleState(settings.working_dir, settings.role)
        self.spool = Spool(settings.working_dir)
        self.outbound_log = OutboundLog(settings.working_dir)
        self.forwarder: Forwarder | None = None

    def health_document(self) -> dict[str, Any]:
        """Role, drivers and versions, health, and how far forwarding is."""
        forwarder = self.forwarder
        rejected, last_rejection = self.spool.rejections()
        return {
            "app": self.settings.app,
            **self.role.to_json(),
            "healthy": not self.problems,
            "problems": self.problems,
            "drivers": [d.to_json() for d in self.drivers],
            "peer": self.settings.peer.app if self.settings.peer else None,
            "spooled": len(self.spool.pending()),
            "intake": (forwarder.url if forwarder else self.settings.intake_url) or None,
            "forwarded": forwarder.forwarded if forwarder else 0,
            "intake_error": forwarder.last_error if forwarder else "",
            "rejected": rejected,
            "last_rejection": last_rejection,
        }

    def _refusal(self) -> str:
        if self.problems:
            return "unhealthy: " + "; ".join(self.problems)
        if self.role.role != "primary" or self.role.switching:
            return f"{self.settings.app} is not the primary; send to the other member"
        return ""

    async def health(self, request: Request) -> JSONResponse:
        """``GET /health``: 200 when healthy, 503 when not; the document either way."""
        document = self.health_document()
        return _json(document, 200 if document["healthy"] else 503)

    async def interactions(self, request: Request) -> JSONResponse:
        """``POST /interactions``: spool durably, then acknowledge (202)."""
        from starlette.concurrency import run_in_threadpool

        refusal = self._refusal()
        if refusal:
            return _json({"error": refusal, "role": self.role.role}, 503)
        try:
            item = check_interaction(await json_object(request, MAX_BODY))
        except BodyError as exc:
            return _json({"error": exc.reason}, exc.status)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        name = await run_in_threadpool(self.spool.put, item)
        if self.forwarder is not None:
            self.forwarder.wake.set()
        return _json({"accepted": True, "id": name}, 202)

    async def outbound(self, request: Request) -> JSONResponse:
        """``POST /outbound``: carry out the runtime's request once per key; a repeat gets
        the first answer."""
        from starlette.concurrency import run_in_threadpool

        try:
            message = check_outbound(await json_object(request, MAX_BODY))
        except BodyError as exc:
            return _json({"error": exc.reason}, exc.status)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        # A repeat was carried out by this member: its answer, whatever the role is now, so
        # that a resend after a switchover does not reach the other member and go out twice.
        answer = self.outbound_log.answered(message["key"])
        if answer is not None:
            return _json(answer, 200)
        refusal = self._refusal()
        if refusal:
            return _json({"error": refusal, "role": self.role.role}, 503)
        answer = await run_in_threadpool(self.outbound_log.record, message)
        return _json(answer, 200)

    async def _control(
        self, request: Request, expected: str, check: Callable[[Any], object]
    ) -> JSONResponse | None:
        """The refusal of a role-changing request: no control token configured (403), a
        missing or wrong bearer token (401), a bad body (400, 413); None to go on."""
        if not expected:
            option = f"[{CONTROL_SECTION}] {CONTROL_KEY}"
            why = f"{self.settings.app} has no {option}: role changes are refused"
            return _json({"error": why}, 403)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            why = "a wrong" if given else "no"
            return _json({"error": f"{why} control token (Authorization: Bearer)"}, 401)
        try:
            check(await json_object(request, MAX_BODY, required=False))
        except BodyError as exc:
            return _json({"error": exc.reason}, exc.status)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return None

    async def switchover(self, request: Request) -> JSONResponse:
        """``POST /switchover``: hand over to the backup; become backup once it is primary."""
        expected, peer = await self.control.current()
        refused = await self._control(request, expected, check_switchover)
        if refused is not None:
            return refused
        with self.role.lock:
            if self.role.role != "primary" or self.role.switching or peer is None:
                why = "has no peer" if peer is None else f"is {self.role.role}, not primary"
                return _json({"error": f"{self.settings.app} {why}", **self.role.to_json()}, 409)
            self.role.switching = True
        try:
            error = await _promote(peer, self.settings.app)
            if not error:
                self.role.set("backup")
        finally:
            self.role.switching = False
        if error:
            failed = {"error": f"{peer.app} did not take over: {error}", "role": "primary"}
            return _json(failed, 502)
        return _json({"role": "backup", "peer": peer.app, "peer_role": "primary"}, 200)

    async def promote(self, request: Request) -> JSONResponse:
        """``POST /promote`` (from the peer): become primary if healthy."""
        peer = self.settings.peer.app if self.settings.peer else None
        expected, _peer = await self.control.current()
        refused = await self._control(request, expected, lambda body: check_promote(body, peer))
        if refused is not None:
            return refused
        if self.problems:
            return _json({"error": "unhealthy: " + "; ".join(self.problems)}, 503)
        with self.role.lock:
            self.role.set("primary")
        return _json({"role": "primary"}, 200)

    def check_peer(self) -> None:
        """On start: a member that would be primary while its peer is primary becomes backup."""
        import httpx

        peer = self.settings.peer
        if peer is None or self.role.role != "primary":
            return
        try:
            answer = httpx.get(f"{peer.url}/health", timeout=1.0, verify=tls()).json()
        except (httpx.HTTPError, ValueError):
            return
        if isinstance(answer, dict) and answer.get("role") == "primary":
            self.role.set("backup")

    def app(self) -> Starlette:
        """The ASGI application; the forwarder runs while it is up."""
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.routing import Route

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            self.check_peer()
            # Started without an intake too: it reads one set later from the configuration.
            self.forwarder = Forwarder(
                self.spool,
                self.settings.intake_url,
                self.settings.intake_token,
                self.reread_intake,
            )
            self.forwarder.start()
            yield
            self.forwarder.halt.set()
            self.forwarder.join(timeout=10)

        routes = [
            Route("/health", self.health, methods=["GET"]),
            Route("/interactions", self.interactions, methods=["POST"]),
            Route("/outbound", self.outbound, methods=["POST"]),
            Route("/switchover", self.switchover, methods=["POST"]),
            Route("/promote", self.promote, methods=["POST"]),
        ]
        return Starlette(
            routes=routes, lifespan=lifespan, exception_handlers={HTTPException: _refused}
        )


async def _promote(peer: Peer, app: str) -> str:
    import httpx

    peer_url = peer.url
    headers = {"Authorization": f"Bearer {peer.control_token}"}
    try:
        async with httpx.AsyncClient(timeout=_PEER_TIMEOUT, verify=tls()) as client:
            answer = await client.post(f"{peer_url}/promote", json={"from": app}, headers=headers)
        role = answer.json().get("role") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return f"{peer_url}: {type(exc).__name__}"
    if role != "primary":
        return f"{peer_url}/promote answered HTTP {answer.status_code}: {answer.text[:200]}"
    return ""


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals (no such path, a method the route does not take) as JSON
    with a reason, like the stand-in's other errors; ``Allow`` is kept."""
    from starlette.responses import JSONResponse

    refused = cast("HTTPException", exc)  # registered for HTTPException only
    reason = refusal_reason(request, refused, "docs/upgrades.md lists the DMS stand-in's routes")
    return JSONResponse({"error": reason}, status_code=refused.status_code, headers=refused.headers)


def _json(data: dict[str, Any], status: int) -> JSONResponse:
    from starlette.responses import JSONResponse

    return JSONResponse(data, status_code=status)


def bind(settings: DmsSettings) -> socket.socket:
    """The listening socket on the application's loopback host and port; refused clearly if
    the host is not a loopback address or the port is taken."""
    where = f"application {settings.app!r}: {settings.host}:{settings.port}"
    try:
        info = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise BadInputError(f"{where}: the host cannot be resolved ({exc.strerror})") from exc
    family, kind, _proto, _name, address = info
    if not ipaddress.ip_address(address[0]).is_loopback:
        raise BadInputError(f"{where}: the DMS stand-in listens on loopback addresses only")
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise BadInputError(
            f"{where}: the port is in use ({exc.strerror}); stop what listens there or give "
            "the application another port"
        ) from exc
    sock.listen(128)
    return sock


def service_for(
    settings: DmsSettings,
    reread_intake: IntakeReader | None = None,
    reread_control: ControlReader | None = None,
) -> DmsService:
    """The member as it starts: its drivers loaded, its role, spool and outbound log read;
    ``reread_intake`` reads the intake's URL and token again when forwarding fails,
    ``reread_control`` the control tokens and the peer's address for each role-changing
    request."""
    drivers = load_drivers(settings.working_dir, settings.drivers)
    return DmsService(settings, drivers, reread_intake, reread_control)


def serve(service: DmsService, sock: socket.socket) -> None:
    """Serve until SIGTERM or SIGINT (uvicorn finishes the requests in flight first)."""
    import uvicorn

    config = uvicorn.Config(
        service.app(),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    stop_on_sigterm(server)  # status 0, as route run's
    server.run(sockets=[sock])
