"""The agent desk: a browser page that ``gsetup route run`` serves at ``/desk`` (docs/runtime.md,
"The agent desk"). Static files only, packaged beside this module: the page acts through the
agent API (``/agents/...``, ``/status``) with the session it logs in to, so serving it takes no
credential, as ``/healthz``."""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

FILES = Path(__file__).with_name("desk")
PAGE = "index.html"
# What /desk/NAME serves, with its media type: nothing else of the folder is reachable.
ASSETS = {"desk.js": "text/javascript", "desk.css": "text/css", "favicon.svg": "image/svg+xml"}
# The page runs only its own script and style files (no inline code, so no injected markup
# runs), talks to its own origin only, and may not be framed (clickjacking).
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # a gsetup upgrade's files are taken at the next load
}


def desk_routes() -> list[Route]:
    """The routes of the page and its files."""
    return [
        Route("/desk", _page, methods=["GET"]),
        Route("/desk/{name}", _asset, methods=["GET"]),
    ]


async def _page(request: Request) -> Response:
    return _file(PAGE, "text/html")


async def _asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        raise HTTPException(404)
    return _file(name, ASSETS[name])


def _file(name: str, media_type: str) -> Response:
    return Response(_read(name), media_type=f"{media_type}; charset=utf-8", headers=HEADERS)


@functools.cache
def _read(name: str) -> bytes:
    return (FILES / name).read_bytes()
