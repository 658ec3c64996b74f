"""Agent sessions: the bearer tokens ``POST /agents/login`` hands out.

Kept in the interaction store (only a SHA-256 of each token), so every worker sharing the
store accepts a session another worker opened, and a restart logs nobody out. Each row also
keeps the mark of the password hash the agent logged in with
(:func:`gsetup.runtime.credentials.credential_mark`): a request compares it with the hash
stored now, so a changed password or a removed agent ends the session whatever store the
runtime uses. Times are wall clock seconds, not the runtime's (possibly virtual) clock: they
bound real credentials.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Column, Float, Index, MetaData, String, Table, inspect, text

from gsetup.runtime.store import create_tables, reading

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

SESSION_SECONDS = 12 * 3600.0  # one working day; a client logs in again after it
# How the runtime's 401 for a session it ended begins, then why and ";": clients (the desk,
# `gsetup agent`) read the why from it to tell the agent in its words.
ENDED_REASON = "session ended: "

_metadata = MetaData()
sessions = Table(
    "runtime_sessions",
    _metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("tenant", String(255), nullable=False),
    Column("agent", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    # NULL in the rows of a table an older gsetup made: such a session is ended (logs in again)
    Column("credential", String(64)),
    Index("ix_sessions_agent", "tenant", "agent"),
)


@dataclass(frozen=True)
class Session:
    """A logged-in agent of a tenant."""

    tenant: str
    agent: str
    expires_at: float
    credential: str | None  # the mark of the password hash it was opened with


def create_session_table(engine: Engine) -> None:
    """Create the sessions table in the store if it is missing; add the credential column
    to the table of an older gsetup."""
    create_tables(engine, _metadata, _add_credential)


def _add_credential(conn: Connection) -> None:
    if "credential" not in {c["name"] for c in inspect(conn).get_columns(sessions.name)}:
        conn.execute(text(f"ALTER TABLE {sessions.name} ADD COLUMN credential VARCHAR(64)"))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(engine: Engine, tenant: str, agent: str, credential: str) -> tuple[str, Session]:
    """A new session token for ``agent``, logged in with the password hash ``credential``
    marks (shown to the client once), and its session."""
    token = secrets.token_urlsafe(32)
    now = time.time()
    session = Session(tenant, agent, now + SESSION_SECONDS, credential)
    with engine.begin() as conn:
        conn.execute(
            sessions.delete().where(sessions.c.expires_at < now)
        )  # expired ones of anybody: the table stays as small as the logged-in agents
        conn.execute(
            sessions.insert().values(
                token_hash=_digest(token),
                tenant=tenant,
                agent=agent,
                created_at=now,
                expires_at=session.expires_at,
                credential=credential,
            )
        )
    return token, session


def find_session(engine: Engine, token: str) -> Session | None:
    """The live session of ``token``, if any."""
    from sqlalchemy import select

    query = select(
        sessions.c.tenant, sessions.c.agent, sessions.c.expires_at, sessions.c.credential
    ).where(sessions.c.token_hash == _digest(token), sessions.c.expires_at >= time.time())
    with reading(engine) as conn:  # every authenticated request: no write lock, one round trip
        row = conn.execute(query).first()
    return None if row is None else Session(row.tenant, row.agent, row.expires_at, row.credential)


def end_sessions(engine: Engine, tenant: str, agent: str) -> None:
    """Log the agent out everywhere: every token of it stops working."""
    with engine.begin() as conn:
        conn.execute(
            sessions.delete().where(sessions.c.tenant == tenant, sessions.c.agent == agent)
        )
