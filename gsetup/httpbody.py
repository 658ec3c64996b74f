"""A request's JSON object body, read within a size limit: the one reader of the routing
runtime's HTTP API and the DMS stand-in, so both refuse the same bodies the same way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gsetup.fileio import json_loads

if TYPE_CHECKING:
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
        raise BodyError(400, f"the body must be a JSON object, not {_json_type(data)}")
    return data


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
