"""Who may call the routing runtime: DMS intake tokens and agent logins.

Both live in the configuration database, written by ``gsetup route token create`` and
``gsetup agent add`` through the plan engine: an application's secret option
``[gsetup-runtime] intake-token`` (beside ``intake-url``), and a person's secret annex
``[gsetup-runtime] password-hash`` (an scrypt hash). They are read here on every check, so a
revoked token is refused at once by a running runtime, and so is an agent's session once its
password changed or the agent was removed: a session keeps the :func:`credential_mark` of the
hash it was opened with.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

SECTION = "gsetup-runtime"
TOKEN_KEY = "intake-token"
URL_KEY = "intake-url"
PASSWORD_KEY = "password-hash"
OUTBOUND_TOKEN_KEY = "outbound-token"  # what the runtime presents to a DMS (docs/runtime.md)
OUTBOUND_URL_KEY = "outbound-url"
DMS_TYPE = "DigitalMessagingServer"


@dataclass(frozen=True)
class IntakeCaller:
    """The DMS application an intake token belongs to."""

    tenant: str
    app: str


def find_intake_caller(config: Engine, tenant: str | None, token: str) -> IntakeCaller | None:
    """The DMS application of ``tenant`` (None: of any tenant) whose intake token is
    ``token``, if any."""
    from gsetup.deployment.logins import app_option_values

    with config.connect() as conn:
        rows = app_option_values(conn, tenant, DMS_TYPE, SECTION, TOKEN_KEY)
    found = None
    for owner, app, stored in rows:  # compare every one: the time does not tell which matched
        if hmac.compare_digest(stored.encode(), token.encode()):
            found = IntakeCaller(owner, app)
    return found


def agent_password_hash(config: Engine, tenant: str, agent: str) -> str | None:
    """The stored password hash of agent ``agent`` of ``tenant`` (None: no such agent or
    no login)."""
    from gsetup.deployment.logins import agent_annex_value

    with config.connect() as conn:
        return agent_annex_value(conn, tenant, agent, SECTION, PASSWORD_KEY)


def credential_mark(stored: str) -> str:
    """What a session keeps of the password hash it was opened with: a SHA-256 of it, which
    changes with the hash (a new password, a new salt) and gives nothing to guess from."""
    return hashlib.sha256(stored.encode()).hexdigest()


def check_agent_login(config: Engine, tenant: str, agent: str, password: str) -> str | None:
    """The :func:`credential_mark` of agent ``agent``'s password hash if ``password`` is
    its (the hash checked, not one read again: a change in between ends the session), else
    None; an unknown agent costs the same time."""
    import secrets

    from gsetup.configdb.auth import hash_password, verify_password

    stored = agent_password_hash(config, tenant, agent)
    # Hash for an unknown agent too, so the answer's timing does not tell which agents exist.
    ok = verify_password(password, stored or hash_password(secrets.token_hex(8)))
    return credential_mark(stored) if ok and stored is not None else None


def login_still_holds(config: Engine, tenant: str, agent: str, mark: str | None) -> bool:
    """Whether agent ``agent`` still has the password hash ``mark`` was made of: False once
    its password changed or it was removed (or is no agent any more), and for a session
    without a mark (opened before sessions kept one)."""
    stored = agent_password_hash(config, tenant, agent)
    if stored is None or mark is None:
        return False
    return hmac.compare_digest(credential_mark(stored).encode(), mark.encode())
