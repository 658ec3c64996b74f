"""Clients of a running routing runtime's HTTP API: ``gsetup agent login|ready|...`` and
``gsetup route submit``.

Agent sessions are kept in ``agent-sessions.json`` (mode 0600) in the user's data directory,
one per agent and runtime URL (two tenants may each have an agent ``alice``), so ``gsetup
agent ready --agent alice`` runs after ``agent login``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup.context import Context
from gsetup.errors import BadInputError, GsetupError, NotFoundError
from gsetup.fileio import JSONL_LIMIT, json_loads, read_lines, write_atomic
from gsetup.httpclient import tls

if TYPE_CHECKING:
    import httpx

SESSIONS_FILE = "agent-sessions.json"
SESSIONS_VERSION = 2
TIMEOUT_SECONDS = 30.0


class RuntimeUnreachableError(GsetupError):
    """The runtime did not answer (exit 1: a retry may work)."""


class RuntimeRefusedError(BadInputError):
    """The runtime answered 4xx (exit 2); ``status`` and ``reason`` are its answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the runtime refused ({status}): {reason}")
        self.status = status
        self.reason = reason


def runtime_url(ctx: Context, tenant: str, given: str | None = None) -> str:
    """``given``, else the base URL of the runtime recorded as running for ``tenant`` (which
    must exist: an unknown one is named, not looked for at the default address) on the store
    beside the configuration database, else on the other stores the tenant's runtimes
    recorded there (one that cannot be read is passed over), else the default listen
    address."""
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.commands.route_stores import check_tenant, default_store
    from gsetup.commands.route_tokens import check_base_url
    from gsetup.commands.serve import DEFAULT_LISTEN
    from gsetup.runtime.context import Settings
    from gsetup.runtime.endpoints import recorded_stores, running_url

    if given is not None:
        return check_base_url(given)
    check_tenant(ctx, tenant, change=False)
    default = default_store(ctx)
    lease = Settings().lease
    for store in (default, *recorded_stores(default, tenant)):
        try:
            recorded = running_url(store, tenant, lease=lease)
        except SQLAlchemyError:
            continue
        if recorded is not None:
            return recorded
    return f"http://{DEFAULT_LISTEN}"


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    token: str | None,
    body: Any = None,
    timeout: float = TIMEOUT_SECONDS,
    client: httpx.Client | None = None,
) -> dict[str, Any]:
    """One request (through ``client``, to reuse its connection); the JSON answer of a 2xx,
    else a clear error (4xx: exit 2, else 1)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = base_url.rstrip("/") + path
    try:
        if client is None:
            answer = httpx.request(
                method, url, json=body, headers=headers, timeout=timeout, verify=tls()
            )
        else:
            answer = client.request(method, url, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise RuntimeUnreachableError(
            f"cannot reach the routing runtime at {base_url}: {exc or type(exc).__name__}; is "
            "gsetup route run serving there? (give --url)"
        ) from None
    try:
        data = answer.json()
    except ValueError:
        data = {"error": answer.text.strip()[:200]}
    if answer.status_code >= 500:
        raise RuntimeUnreachableError(
            f"the routing runtime at {base_url} failed ({answer.status_code}): "
            f"{data.get('error', '')}"
        )
    if answer.status_code >= 400:
        raise RuntimeRefusedError(answer.status_code, str(data.get("error", answer.text)))
    return data  # type: ignore[no-any-return]


@dataclass(frozen=True)
class AgentSession:
    """A saved agent login: where, who, and its bearer token."""

    url: str
    agent: str
    token: str


def sessions_path() -> Path:
    """The file that keeps this user's agent sessions."""
    from platformdirs import user_data_path

    return user_data_path("gsetup") / SESSIONS_FILE


# (runtime URL, agent) -> token
Sessions = dict[tuple[str, str], str]


def _load_sessions() -> Sessions:
    """The saved sessions; a file of gsetup 0.1.0 before (``{agent: {"url", "token"}}``, one
    session an agent name) is read as well."""
    path = sessions_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("version") == SESSIONS_VERSION:
            return {(s["url"], s["agent"]): s["token"] for s in data["sessions"]}
        return {(s["url"], agent): s["token"] for agent, s in data.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        raise BadInputError(f"{path}: not a sessions file; remove it and log in again") from None


def _save_sessions(sessions: Sessions) -> None:
    path = sessions_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"url": url, "agent": name, "token": token} for (url, name), token in sessions.items()]
    # A fresh temporary file of mode 0600 renamed over it: never one left there before.
    text = json.dumps({"version": SESSIONS_VERSION, "sessions": rows}, indent=2)
    write_atomic(path, text, mode=0o600)


def agent_login(base_url: str, agent: str, password: str) -> dict[str, Any]:
    """Log ``agent`` in and keep its session; returns its status (never the token)."""
    answer = call(
        base_url, "POST", "/agents/login", token=None, body={"agent": agent, "password": password}
    )
    token = str(answer.pop("token"))
    sessions = _load_sessions()
    sessions[(base_url, agent)] = token
    _save_sessions(sessions)
    return answer


def agent_session(agent: str | None, url: str | None) -> AgentSession:
    """The saved session of ``agent`` (the only agent saved when not named), at ``url`` when
    given (checked as ``agent login`` checks it: a mistyped one is bad input, not a runtime
    that does not answer). An agent saved at several runtimes (agents of the same name in two
    tenants) is the one saved at ``url``, which must then be given."""
    from gsetup.commands.route_tokens import check_base_url

    given = None if url is None else check_base_url(url)  # "" is a bad --url
    sessions = _load_sessions()
    found = [key for key in sessions if agent is None or key[1] == agent]
    if len(found) > 1 and given is not None:
        found = [key for key in found if key[0] == given] or found
    if not found:
        if agent is None:
            raise NotFoundError("no agent is logged in here: run gsetup agent login NAME")
        raise NotFoundError(f"agent {agent!r} is not logged in here: run gsetup agent login")
    names = sorted({name for _url, name in found})
    if len(names) > 1:
        raise BadInputError(f"give --agent NAME; logged in here: {', '.join(names)}")
    if len(found) > 1:
        urls = ", ".join(sorted(saved for saved, _name in found))
        raise BadInputError(
            f"agent {names[0]!r} is logged in here at several runtimes ({urls}): give --url, "
            "the one it logged in at"
        )
    key = found[0]
    return AgentSession(key[0] if given is None else given, key[1], sessions[key])


def agent_action(
    session: AgentSession,
    action: str,
    interaction: str | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """POST an agent action (``ready``, ``accept``...) with the agent's session; ``logout``
    also forgets the saved session."""
    from urllib.parse import quote

    if interaction in ("", ".", ".."):  # a URL path drops them: another route
        raise BadInputError(
            f"ID {interaction!r} is not an interaction id: give one that gsetup agent offers lists"
        )
    path = (
        f"/agents/interactions/{quote(interaction, safe='')}/{action}"
        if interaction is not None
        else f"/agents/{action}"
    )
    answer = _session_call(session, "POST", path, body=body)
    if action == "logout":
        _forget(session)
    return answer


def agent_offers(session: AgentSession, wait: float = 0.0) -> list[dict[str, Any]]:
    """The interactions offered to or held by the agent; with ``wait``, answered once one
    is offered (not yet accepted) or after that many seconds."""
    # As the plain decimal the runtime reads (``:g`` wrote 0.00001 as 1e-05, which it refuses).
    path = f"/agents/offers?wait={Decimal(repr(wait)):f}" if wait else "/agents/offers"
    answer = _session_call(session, "GET", path, timeout=wait + TIMEOUT_SECONDS)
    return list(answer["offers"])


def _session_call(
    session: AgentSession,
    method: str,
    path: str,
    *,
    body: Any = None,
    timeout: float = TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """:func:`call` with the agent's session. A 401 means the runtime that issued it ended
    it (a logout from another desk, an expiry): it is forgotten here, so that the next
    command asks for a login instead of sending it again."""
    try:
        return call(session.url, method, path, token=session.token, body=body, timeout=timeout)
    except RuntimeRefusedError as exc:
        if exc.status != 401:
            raise
        raise _ended(session, exc.reason, _forget(session, refused_at_saved_url=True)) from None


def _ended(session: AgentSession, reason: str, forgotten: bool) -> BadInputError:
    """A 401 told in the agent's words, with the command that logs in again. The runtime's
    reasons are worded for any client ("log in again (POST /agents/login)"); its why is kept
    where it names one ("session ended: WHY; ..."), else its token was unknown there, which
    it does not tell apart from an expiry or a logout elsewhere (as the desk says it)."""
    import shlex

    from gsetup.runtime.sessions import ENDED_REASON

    why = "it expired, or the agent was logged out elsewhere"
    if reason.startswith(ENDED_REASON) and ";" in reason:
        why = reason.removeprefix(ENDED_REASON).partition(";")[0]
    login = shlex.join(["gsetup", "agent", "login", session.agent, "--url", session.url])
    if forgotten:
        return BadInputError(
            f"the session of agent {session.agent!r} at {session.url} ended ({why}), and is "
            f"forgotten here: log in again with {login}"
        )
    # Refused by a runtime it was not saved for (another --url): kept for its own.
    return BadInputError(
        f"the runtime at {session.url} refused the session of agent {session.agent!r} "
        f"({why}): give the --url it logged in at, or log in again with {login}"
    )


def _forget(session: AgentSession, *, refused_at_saved_url: bool = False) -> bool:
    """Remove ``session`` from the saved ones (not a newer login of the agent); whether it
    was there. A refusal (401) forgets it only when it came from the runtime it was saved
    for: another ``--url`` may name a runtime that never knew it."""
    sessions = _load_sessions()
    key = next(
        (k for k, token in sessions.items() if k[1] == session.agent and token == session.token),
        None,
    )
    if key is None or (refused_at_saved_url and key[0] != session.url):
        return False
    del sessions[key]
    _save_sessions(sessions)
    return True


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The submissions of a JSON Lines file with their line numbers: one JSON object a line
    (blank lines skipped) within the intake's size limit. A bad line is reported with its
    number; nothing is sent."""
    from gsetup.runtime.context import Settings
    from gsetup.runtime.intake import submission_size

    limit = Settings().max_body
    lines = read_lines(path, JSONL_LIMIT, "submissions file")
    bodies = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            body = json_loads(line)
        except ValueError as exc:
            raise BadInputError(f"{path}: line {number}: not valid JSON ({exc})") from None
        if not isinstance(body, dict):
            raise BadInputError(f"{path}: line {number}: a submission must be a JSON object")
        size = submission_size(body)
        if size > limit:
            raise BadInputError(
                f"{path}: line {number}: the submission is {size} bytes; the runtime accepts "
                f"at most {limit}"
            )
        bodies.append((number, body))
    if not bodies:
        raise BadInputError(f"{path}: no submissions in the file")
    return bodies


def submit_file(
    ctx: Context, tenant: str, app: str, path: Path, url: str | None
) -> list[dict[str, Any]]:
    """POST every submission of ``path`` to the intake with ``app``'s token, in order; the
    answers. The file is checked first. A refused submission stops the run, naming its line
    (those before it are committed: a re-run repeats them harmlessly, the intake being
    idempotent)."""
    import httpx

    from gsetup.commands.route_tokens import stored_token

    entries = read_jsonl(path)
    token = stored_token(ctx, tenant, app)
    base_url = runtime_url(ctx, tenant, url)
    answers: list[dict[str, Any]] = []
    # One client for the file: a connection reused, rather than one a request.
    with httpx.Client(verify=tls()) as client:
        for number, body in entries:
            try:
                answers.append(
                    call(base_url, "POST", "/interactions", token=token, body=body, client=client)
                )
            except RuntimeRefusedError as exc:
                raise BadInputError(
                    f"{path}: line {number}: the runtime refused it ({exc.status}): "
                    f"{exc.reason}; the {len(answers)} submission(s) before it were accepted"
                ) from None
    return answers
