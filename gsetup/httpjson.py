"""JSON over HTTP, shared by the routing runtime's API and the DMS stand-in so that both
refuse the same requests the same way: a request's JSON object body read within a size
limit, and the reason given for Starlette's own refusals (no such route, a wrong method)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gsetup.fileio import json_loads, value_kind

if TYPE_CHECKING:
    from starlette.exceptions import HTTPException
    from starlette.requests import Request


class BodyError(Exception):
    """A body refused: ``status`` 413 (too large) or 400 (not a JSON object)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def json_object(request: Request, limit: int, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object; 413 past ``limit`` bytes (read no further), else 400. With
    ``required`` False an empty body is ``{}``, and any other is read all the same."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"the body has {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw and not required:
        return {}
    try:
        data = json_loads(raw or b"null")
    except ValueError as exc:  # UnicodeDecodeError included
        raise BodyError(400, f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BodyError(400, f"the body must be a JSON object, not {value_kind(data, json=True)}")
    return data


def refusal_reason(request: Request, refused: HTTPException, routes: str) -> str:
    """What to say for Starlette's own refusal: the path no route serves, then ``routes``
    (where they are listed), or the methods the route takes (its ``Allow`` header)."""
    path = request.url.path
    if refused.status_code == 404:
        return f"no route {path}: {routes}"
    if refused.status_code == 405:
        allowed = (refused.headers or {}).get("Allow", "")
        return f"{path} does not take {request.method}, only {allowed}"
    return str(refused.detail)
