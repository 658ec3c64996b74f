"""Recorded traffic (docs/traffic.md): a JSON Lines file of timed events, read and checked
against a tenant's deployment before anything runs.

Each line is a JSON object with ``at`` (seconds from the start, never decreasing) and at most
one event: ``inbound`` (a submission as a DMS sends it), ``agent`` with ``action``, ``driver``
(the DMS's answer to the next outbound request of a method) or ``compliance_delete``. A line
with ``at`` alone only moves the clock. A bad line is refused with its number and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsetup.errors import BadInputError
from gsetup.fileio import JSONL_LIMIT, check_escaped, quote_prefix, read_lines, value_kind
from gsetup.runtime.config import DMS_TYPE, Deployment
from gsetup.runtime.inbound_route import channels
from gsetup.runtime.schema import NAME
from gsetup.runtime.udata_types import attached_data_error

KINDS = ("inbound", "agent", "driver", "compliance_delete")
ACTIONS = ("login", "ready", "not_ready", "logout", "accept", "reject", "reply", "draft", "done")
TEXT_ACTIONS = ("reply", "draft")
DMS_METHODS = ("SendMessage", "SubmitPost", "SubmitComment")
INBOUND_FIELDS = ("media_type", "channel", "text", "external_id", "attached_data")
# Keys each kind of line may carry besides ``at``, its kind and ``#`` (a comment).
_ALLOWED = {
    "inbound": {"app"},
    "agent": {"action", "interaction", "text", "as", "queue"},
    "driver": {"app"},
    "compliance_delete": {"app"},
    "tick": set(),
}
MAX_AT = 400 * 24 * 3600.0


@dataclass(frozen=True)
class Event:
    """One checked line of a traffic file."""

    line: int
    at: float
    kind: str  # inbound, agent, driver, compliance_delete, tick
    app: str = ""
    body: Mapping[str, Any] = field(default_factory=dict)  # inbound body or driver answer
    agent: str = ""
    action: str = ""
    ref: str | None = None  # the interaction an agent action names
    name: str | None = None  # ``as``: a name for the interaction a reply or draft creates
    text: str = ""
    queue: str | None = None


def read_traffic(path: Path, deployment: Deployment) -> list[Event]:
    """Every event of ``path``, checked; :class:`BadInputError` names the first bad line."""
    lines = read_lines(path, JSONL_LIMIT, "traffic file")
    checker = Checker(deployment)
    events: list[Event] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(checker.check(number, line))
        except ValueError as exc:
            raise BadInputError(f"{path}: line {number}: {exc}") from None
    if all(event.kind == "tick" for event in events):
        raise BadInputError(
            f"{path}: no events in the file (a line with `at` alone only moves the clock)"
            if events
            else f"{path}: no events in the file"
        )
    return events


class Checker:
    """Checks lines in order: times, kinds, names of the deployment, references."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.dms = sorted(n for n, a in deployment.apps.items() if a.app_type == DMS_TYPE)
        self.last_at = 0.0
        self.refs: set[str] = set()

    def check(self, number: int, line: str) -> Event:
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"not valid JSON ({exc})") from None
        check_escaped(line, data)
        if not isinstance(data, dict):
            raise ValueError(f"a line is a JSON object, not {value_kind(data, json=True)}")
        at = self._at(data.get("at"))
        kinds = [k for k in KINDS if k in data]
        if len(kinds) > 1:
            raise ValueError(f"one event a line, not {' and '.join(kinds)}")
        kind = kinds[0] if kinds else "tick"
        unknown = sorted(set(data) - {"at", "#", kind} - _ALLOWED[kind])
        if unknown:
            allowed = ", ".join(sorted({"at", "#", *KINDS} | _ALLOWED[kind]))
            shown = quote_prefix(unknown[0])
            raise ValueError(f"unknown key {shown} here; the keys are: {allowed}")
        return getattr(self, f"_{kind}")(number, at, data)  # type: ignore[no-any-return]

    def _at(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("at (seconds from the start, a number) is missing or not a number")
        if not 0 <= value <= MAX_AT:
            raise ValueError(f"at is 0 to {MAX_AT:.0f} seconds, not {value}")
        if value < self.last_at:
            raise ValueError(
                f"out of order: at {value} is before the previous line's {self.last_at}"
            )
        self.last_at = float(value)
        return float(value)

    def _app(self, data: Mapping[str, Any]) -> str:
        app = data.get("app")
        if app is None:
            if len(self.dms) != 1:
                found = ", ".join(self.dms) or "none"
                raise ValueError(f"app is needed: the tenant's DMS applications are: {found}")
            return self.dms[0]
        if app not in self.dms:
            raise ValueError(
                f"app {quote_prefix(app)} is not a Digital Messaging Server of the tenant; "
                f"they are: {', '.join(self.dms) or 'none'}"
            )
        return str(app)

    def _tick(self, number: int, at: float, data: Mapping[str, Any]) -> Event:
        return Event(number, at, "tick")

    def _inbound(self, number: int, at: float, data: Mapping[str, Any]) -> Event:
        body = data["inbound"]
        if not isinstance(body, dict):
            raise ValueError("inbound is a JSON object (a submission)")
        app = self._app(data)
        unknown = sorted(set(body) - set(INBOUND_FIELDS))
        if unknown:
            raise ValueError(
                f"inbound: unknown field {quote_prefix(unknown[0])}; "
                f"the fields are: {', '.join(INBOUND_FIELDS)}"
            )
        for name in ("media_type", "channel", "external_id"):
            value = body.get(name)
            # The intake's limits: refused there, the line would stop a replay half run.
            if not isinstance(value, str) or not value.strip() or len(value) > NAME:
                raise ValueError(
                    f"inbound.{name} is a non-empty string of at most {NAME} characters"
                )
        media_types = self.deployment.media_types
        if media_types and body["media_type"] not in media_types:
            raise ValueError(
                f"unknown media type {quote_prefix(body['media_type'])}; the media types are: "
                f"{', '.join(media_types)}"
            )
        options = self.deployment.apps[app].options
        routed = [c for c in channels(options) if "inbound-route" in options[c]]
        if body["channel"] not in routed:
            raise ValueError(
                f"unknown channel {quote_prefix(body['channel'])} of {app}; its channels are: "
                f"{', '.join(routed) or 'none'}"
            )
        if body.get("text") is not None and not isinstance(body["text"], str):
            raise ValueError("inbound.text is a string")
        attached = body.get("attached_data", {})
        if not isinstance(attached, dict):
            raise ValueError("inbound.attached_data is a JSON object")
        wrong = attached_data_error(attached)
        if wrong is not None:
            raise ValueError(f"wrong attached data type: {wrong}")
        self.refs.add(body["external_id"])
        return Event(number, at, "inbound", app=app, body=dict(body))

    def _agent(self, number: int, at: float, data: Mapping[str, Any]) -> Event:
        agent, action = data["agent"], data.get("action")
        if not isinstance(agent, str) or agent not in self.deployment.agents:
            raise ValueError(
                f"unknown agent {quote_prefix(agent)}; the agents are: "
                f"{', '.join(sorted(self.deployment.agents)) or 'none'}"
            )
        if action not in ACTIONS:
            raise ValueError(f"action is one of {', '.join(ACTIONS)}, not {quote_prefix(action)}")
        ref = data.get("interaction")
        if ref is not None and (not isinstance(ref, str) or ref not in self.refs):
            raise ValueError(
                f"interaction {quote_prefix(ref)} is neither the external_id of an earlier "
                "inbound line nor the name (as) of an earlier reply or draft"
            )
        text = data.get("text", "")
        if action in TEXT_ACTIONS and (not isinstance(text, str) or not text.strip()):
            raise ValueError(f"a {action} needs text (a non-empty string)")
        name = data.get("as")
        if name is not None:
            if action not in TEXT_ACTIONS:
                raise ValueError("as (a name) goes only with a reply or a draft")
            if not isinstance(name, str) or not name.strip():
                raise ValueError("as must be a non-empty string (the reply's name)")
            self.refs.add(name)
        queue = data.get("queue")
        if queue is not None and (action != "done" or not isinstance(queue, str)):
            raise ValueError("queue (a queue name) goes only with done")
        return Event(
            number, at, "agent", agent=agent, action=action, ref=ref, name=name,
            text=text, queue=queue,
        )  # fmt: skip

    def _driver(self, number: int, at: float, data: Mapping[str, Any]) -> Event:
        answer = data["driver"]
        if not isinstance(answer, dict):
            raise ValueError("driver is a JSON object: method, ok, answer or error")
        if answer.get("method") not in DMS_METHODS:
            raise ValueError(
                f"driver.method is one of {', '.join(DMS_METHODS)}, "
                f"not {quote_prefix(answer.get('method'))}"
            )
        if not isinstance(answer.get("ok"), bool):
            raise ValueError("driver.ok is true or false")
        if not isinstance(answer.get("answer", {}), dict):
            raise ValueError("driver.answer is a JSON object")
        return Event(number, at, "driver", app=self._app(data), body=dict(answer))

    def _compliance_delete(self, number: int, at: float, data: Mapping[str, Any]) -> Event:
        external = data["compliance_delete"]
        if not isinstance(external, str) or not external:
            raise ValueError("compliance_delete is the deleted message's id (a string)")
        return Event(number, at, "compliance_delete", app=self._app(data), ref=external)
