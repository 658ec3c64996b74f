"""Errors of the routing runtime, each carrying the HTTP status the API answers with."""

from __future__ import annotations

from gsetup.errors import BadInputError


class RuntimeRequestError(BadInputError):
    """A request the runtime refuses; ``status`` is the HTTP status (4xx) that says why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class IntakeError(RuntimeRequestError):
    """A submission or driver event refused: 400 malformed, 404 unknown tenant/application,
    413 too large, 422 no route or a route to no queue. Nothing was stored."""


class AgentActionError(RuntimeRequestError):
    """An agent action refused: 404 unknown agent/interaction, 403 another agent's
    interaction, 409 not in a state that allows it (also offered to nobody). Nothing was
    changed."""


class StoreError(BadInputError):
    """The interaction store cannot be used: unreachable, or of another schema version."""
