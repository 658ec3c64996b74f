"""Query plans of captured statements: which of them walk a tenant's rows (a full scan, or an
index searched by the tenant alone), whose cost grows with the store. SQLite's EXPLAIN QUERY
PLAN and PostgreSQL's generic plans (those its prepared statements settle on)."""

from __future__ import annotations

import re
from typing import Any

# A search of interactions (or the UCS history) by the tenant alone, or a full scan: cost
# grows with the store.
_GROWING = r"(interactions|ucs_interactions|ucs_attributes)"
SQLITE_WALKS = re.compile(rf"^(SCAN {_GROWING}\b|SEARCH {_GROWING} USING .*\(tenant=\?\)$)")
PG_WALKS = re.compile(
    r"(Seq Scan on (interactions|ucs_interactions|ucs_attributes|runtime_offers|ucs_contacts)\b"
    r"|Index Cond: \(\(tenant\)::text = \(\$\d+\)::text\)$)"
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _short(text: str) -> str:
    return " ".join(text.split())[:120]


def sqlite_walks(cursor: Any, statements: dict[str, Any]) -> dict[str, list[str]]:
    """statement -> its plan's lines that walk, for each of ``statements`` (text -> params)
    that has such lines; ``cursor``: a sqlite3 cursor of the store."""
    walks = {}
    for text, params in statements.items():
        plan = [row[3] for row in cursor.execute(f"EXPLAIN QUERY PLAN {text}", params)]
        bad = [line for line in plan if SQLITE_WALKS.match(line)]
        if bad:
            walks[_short(text)] = bad
    return walks


def pg_prepare(cursor: Any, statements: dict[str, Any]) -> dict[str, str]:
    """PREPARE each of ``statements`` (text -> params, psycopg's ``%(name)s`` placeholders)
    on ``cursor``'s connection: text -> the EXPLAIN EXECUTE of its plan."""
    from psycopg.sql import SQL, Literal

    explain: dict[str, str] = {}
    for number, (text, params) in enumerate(statements.items()):
        numbered, names = _numbered(text)
        cursor.execute(f"PREPARE plan_{number} AS {numbered}")
        # Literal values: EXPLAIN, a utility statement, takes no bound parameters.
        values = SQL(", ").join(Literal(params[n]) for n in names).as_string(cursor)
        explain[text] = f"EXPLAIN EXECUTE plan_{number}" + (f"({values})" if names else "")
    return explain


def _numbered(text: str) -> tuple[str, list[str]]:
    """psycopg's ``%(name)s`` placeholders as PREPARE's ``$1``..., and the names in order."""
    names = list(dict.fromkeys(_PLACEHOLDER.findall(text)))
    return _PLACEHOLDER.sub(lambda m: f"${names.index(m.group(1)) + 1}", text), names


def pg_walks(cursor: Any, explain: dict[str, str]) -> dict[str, list[str]]:
    """statement -> its plan's lines that walk, for each prepared statement that has such
    lines (``explain``: of :func:`pg_prepare`)."""
    found = {}
    for text, statement in explain.items():
        plan = [row[0] for row in cursor.execute(statement)]
        bad = [line.strip() for line in plan if PG_WALKS.search(line)]
        if bad:
            found[_short(text)] = bad
    return found


def store_walks(store: Any, statements: dict[str, Any]) -> dict[str, list[str]]:
    """:func:`sqlite_walks` or, prepared, :func:`pg_walks` of ``statements`` on a store
    (gsetup.runtime.store.Store), each EXPLAIN in a transaction of its own."""
    with store.engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        if not store.postgresql:
            return sqlite_walks(dbapi.cursor(), statements)
        dbapi.autocommit = True
        cursor = dbapi.cursor()
        return pg_walks(cursor, pg_prepare(cursor, statements))
