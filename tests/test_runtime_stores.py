"""The other stores a tenant's runtimes used, recorded beside the configuration database:
never with a password, listed and forgotten with ``gsetup route store list|forget``, and the
driver's errors about them without the URL's password."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.runtime.endpoints import record_store, recorded_stores

TENANT = "Environment"


def _rows(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            query = text("SELECT tenant, store FROM runtime_stores ORDER BY store")
            return [(r[0], r[1]) for r in conn.execute(query)]
    finally:
        engine.dispose()


def test_a_store_is_recorded_without_a_password_in_its_query(tmp_path: Path) -> None:
    """A password given in the URL's query string (libpq's password and sslpassword, ODBC's
    PWD) was written in clear in runtime_stores, as the user part's never was."""
    default = f"sqlite:///{tmp_path / 'runtime.db'}"
    given = (
        "postgresql+psycopg://rt:pw-user-1@127.0.0.1:9/store"
        "?password=pw-query-2&sslpassword=pw-query-3&sslmode=prefer&PWD=pw-query-4"
    )
    record_store(default, TENANT, given)
    kept = "postgresql+psycopg://rt@127.0.0.1:9/store?sslmode=prefer"
    assert recorded_stores(default, TENANT) == [kept]
    assert _rows(default) == [(TENANT, kept)]
    raw = (tmp_path / "runtime.db").read_bytes()
    assert not any(f"pw-{s}".encode() in raw for s in ("user-1", "query-2", "query-3", "query-4"))
