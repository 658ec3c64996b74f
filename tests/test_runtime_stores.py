"""The other stores a tenant's runtimes used, recorded beside the configuration database:
never with a password, listed and forgotten with ``gsetup route store list|forget``, and the
driver's errors about them without the URL's password."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.runtime.endpoints import record_store, recorded_stores
from gsetup.runtime.store import default_store_url
from tests.helpers import run_cli

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
        "&passfile=/etc/gsetup/pgpass"
    )
    record_store(default, TENANT, given)
    # The password file's path is no secret: the store is reached with it.
    kept = (
        "postgresql+psycopg://rt@127.0.0.1:9/store?passfile=%2Fetc%2Fgsetup%2Fpgpass&sslmode=prefer"
    )
    assert recorded_stores(default, TENANT) == [kept]
    assert _rows(default) == [(TENANT, kept)]
    raw = (tmp_path / "runtime.db").read_bytes()
    assert not any(f"pw-{s}".encode() in raw for s in ("user-1", "query-2", "query-3", "query-4"))


SERVER = "postgresql+psycopg://rt@127.0.0.1:9/old_store"  # _record's server, as recorded


def _record(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Three stores recorded for the tenant: one that exists, one whose file is gone, a
    server that does not answer (its password given only to the runtime)."""
    from gsetup.runtime.store import open_store

    default = default_store_url(db_url)
    stores = {
        "live": f"sqlite:///{tmp_path / 'live.db'}",
        "gone": f"sqlite:///{tmp_path / 'gone' / 'store.db'}",
        "server": "postgresql+psycopg://rt:s3cret-pw@127.0.0.1:9/old_store",
    }
    open_store(stores["live"]).dispose()
    (tmp_path / "gone").mkdir()
    for url in stores.values():
        record_store(default, TENANT, url)
    return stores


def test_route_store_list(db_url: str, tmp_path: Path) -> None:
    """Each recorded store with when it was last used and whether agent remove can read it
    (and why not), its password masked; a tenant that does not exist is bad input."""
    stores = _record(db_url, tmp_path)
    listed = run_cli("route", "store", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    found = {s["store"]: s for s in json.loads(listed.stdout)}
    server = SERVER
    assert sorted(found) == sorted([stores["live"], stores["gone"], server])
    assert all(s["tenant"] == TENANT for s in found.values())
    assert [found[s]["reachable"] for s in (stores["live"], stores["gone"], server)] == [
        True,
        False,
        False,
    ]
    assert found[stores["live"]]["reason"] is None
    assert found[stores["gone"]]["reason"] == (
        f"no interaction store at {tmp_path / 'gone' / 'store.db'}: its file is gone"
    )
    assert "port 9 failed" in found[server]["reason"]
    assert all(datetime.fromisoformat(s["last_used_at"]).tzinfo for s in found.values())
    assert list((tmp_path / "gone").iterdir()) == []  # looking created nothing
    table = run_cli("route", "store", "list", "--tenant", TENANT)
    assert table.exit_code == 0 and "s3cret-pw" not in table.stdout
    assert server in table.stdout and "its file is gone" in table.stdout
    for args in (("--tenant", "Nope"), ("--tenant", "Nope", "--json")):
        refused = run_cli("route", "store", "list", *args)
        assert (refused.exit_code, refused.stdout) == (2, "")
        assert refused.stderr == "gsetup: error: unknown tenant 'Nope'\n"


def test_route_store_forget(db_url: str, tmp_path: Path) -> None:
    """A store dropped for good made every agent remove need --skip-unreachable: forgotten
    (previewed, confirmed as deletions are), agent remove no longer checks it. An unknown
    store, or one a runtime serves on, is refused (exit 2), nothing written."""
    from tests.runtime_support import configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2, "bob": 2})
    stores = _record(db_url, tmp_path)
    default = default_store_url(db_url)
    before = _rows(default)
    refused = run_cli("agent", "remove", "alice", "--yes")
    assert refused.exit_code == 2 and "gsetup route store forget URL" in refused.stderr

    for args, code in (((), 2), (("--dry-run",), 0), (("--dry-run", "--detailed-exitcode"), 3)):
        planned = run_cli("route", "store", "forget", stores["gone"], *args)
        assert planned.exit_code == code, planned.stderr
        assert _rows(default) == before
    no_terminal = run_cli("route", "store", "forget", stores["gone"])
    assert "there is no terminal to confirm it on: add --yes" in no_terminal.stderr
    shown = run_cli("route", "store", "forget", stores["gone"], "--dry-run")
    assert f"- delete {stores['gone']}" in shown.stdout

    unknown = run_cli("route", "store", "forget", f"sqlite:///{tmp_path / 'nope.db'}", "--yes")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith(
        f"gsetup: error: the store sqlite:///{tmp_path / 'nope.db'} is not recorded for "
        f"tenant {TENANT!r} (recorded: "
    )
    for args in (("--tenant", "Nope"), ()):
        bad = run_cli("route", "store", "forget", "not a url", "--yes", *args)
        assert bad.exit_code == 2 and bad.stderr.startswith("gsetup: error: "), bad.stderr
    assert _rows(default) == before

    applied = run_cli("route", "store", "forget", stores["gone"], "--yes", "--json")
    assert applied.exit_code == 0, applied.stderr
    assert json.loads(applied.stdout)["changes"] == [
        {
            "action": "delete",
            "target": "store",
            "kind": "runtime store",
            "path": stores["gone"],
            "note": "gsetup agent remove no longer checks it",
        }
    ]
    # Given with its password, the server store is the one recorded without it; it does not
    # answer, so whether a runtime serves there is unknown: forgotten only when told.
    down = run_cli("route", "store", "forget", stores["server"], "--yes")
    assert down.exit_code == 2 and "could not be read" in down.stderr, down.stderr
    assert "s3cret-pw" not in down.stdout + down.stderr
    assert _rows(default) == [(TENANT, SERVER), (TENANT, stores["live"])]
    forgot = run_cli("route", "store", "forget", stores["server"], "--yes", "--skip-unreachable")
    assert forgot.exit_code == 0, forgot.stderr
    assert "s3cret-pw" not in forgot.stdout + forgot.stderr
    assert _rows(default) == [(TENANT, stores["live"])]
    assert list((tmp_path / "gone").iterdir()) == []
    removed = run_cli("agent", "remove", "alice", "--yes")
    assert removed.exit_code == 0, removed.stderr


def test_a_store_a_runtime_serves_on_is_not_forgotten(db_url: str, tmp_path: Path) -> None:
    from gsetup.runtime.endpoints import forget_endpoint, record_endpoint
    from gsetup.runtime.store import open_store

    stores = _record(db_url, tmp_path)
    default = default_store_url(db_url)
    before = _rows(default)
    store = open_store(stores["live"])
    try:
        record_endpoint(store.engine, TENANT, "w1", "http://127.0.0.1:8471", lease=30)
        refused = run_cli("route", "store", "forget", stores["live"], "--yes")
        assert refused.exit_code == 2
        assert refused.stderr == (
            f"gsetup: error: a runtime serves tenant {TENANT!r} on the store {stores['live']} "
            "(at http://127.0.0.1:8471): stop it first; the store stays in use\n"
        )
        assert _rows(default) == before
        forget_endpoint(store.engine, TENANT, "w1")
    finally:
        store.dispose()
    assert run_cli("route", "store", "forget", stores["live"], "--yes").exit_code == 0
    assert stores["live"] not in [store for _tenant, store in _rows(default)]


def test_a_store_that_cannot_be_read_is_not_forgotten(
    db_url: str, tmp_path: Path, pg_password_server: str
) -> None:
    """Whether a runtime serves on a store that cannot be read (a file that is no database, a
    wrong password in the URL) is unknown: it was forgotten as if none did. Refused (exit 2,
    why, the password masked), nothing written, unless --skip-unreachable."""
    from gsetup.configdb.database import short_url
    from gsetup.runtime.endpoints import forget_endpoint, record_endpoint
    from gsetup.runtime.store import open_store
    from tests.conftest import PG_SERVER_PASSWORD

    default = default_store_url(db_url)
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"no database here " * 100)
    on_file = f"sqlite:///{broken}"
    on_server = f"{pg_password_server}/postgres"
    wrong = on_server.replace(PG_SERVER_PASSWORD, "wrong-pw-1")
    for url in (on_file, wrong):
        record_store(default, TENANT, url)
    before = _rows(default)
    store = open_store(on_server)
    try:
        record_endpoint(store.engine, TENANT, "w1", "http://127.0.0.1:8471", lease=30)
        for url, reason in (
            (on_file, "(file is not a database)"),
            (wrong, 'password authentication failed for user "postgres"'),
        ):
            refused = run_cli("route", "store", "forget", url, "--yes")
            assert refused.exit_code == 2, refused.stderr
            assert refused.stderr.startswith(
                f"gsetup: error: the store {short_url(url)} could not be read ("
            ), refused.stderr
            assert reason in refused.stderr and "--skip-unreachable" in refused.stderr
            assert len(refused.stderr.splitlines()) == 1
            assert "wrong-pw-1" not in refused.stdout + refused.stderr
            assert _rows(default) == before
        # With its password the store is read: the runtime serving there is found.
        serving = run_cli("route", "store", "forget", on_server, "--yes", "--skip-unreachable")
        assert serving.exit_code == 2 and "a runtime serves tenant" in serving.stderr
        assert _rows(default) == before
        for url in (on_file, wrong):
            forced = run_cli("route", "store", "forget", url, "--yes", "--skip-unreachable")
            assert forced.exit_code == 0, forced.stderr
            assert "wrong-pw-1" not in forced.stdout + forced.stderr
        assert _rows(default) == []
    finally:
        forget_endpoint(store.engine, TENANT, "w1")
        store.dispose()


def test_a_refused_route_run_records_no_store(db_url: str, tmp_path: Path) -> None:
    """A ``route run --store`` refused at its start (its address in use) recorded the store,
    and a later refusal moved its ``last_used_at``: nothing is written until it serves."""
    import socket

    from tests.route_process import route_run
    from tests.runtime_support import configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    url = f"sqlite:///{tmp_path / 'other.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        refused = run_cli("route", "run", "--store", url, "--listen", listen)
    assert refused.exit_code == 2 and "cannot listen there" in refused.stderr
    listed = run_cli("route", "store", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    with route_run({}, "--store", url, cwd=tmp_path):
        listed = run_cli("route", "store", "list", "--json")
    assert [s["store"] for s in json.loads(listed.stdout)] == [url]


def _bad_servers(pg_server: str) -> list[str]:
    """PostgreSQL URLs with their password in the query string whose connection fails: a
    wrong port, a host that does not resolve, a database that does not exist."""
    secret = "?password=pw-in-query-7&sslpassword=pw-in-query-8"
    return [
        f"postgresql+psycopg://rt@127.0.0.1:1/store{secret}",
        f"postgresql+psycopg://rt@nosuchhost.invalid/store{secret}",
        f"{pg_server}/no_such_store{secret}",
    ]


def _no_password(*texts: str) -> None:
    for shown in texts:
        assert "pw-in-query" not in shown, shown


@pytest.mark.pg
def test_driver_errors_show_no_password_of_the_query_string(
    db_url: str, pg_server: str, tmp_path: Path
) -> None:
    """Every command that reports a driver's error on a URL whose password is in its query
    string, and the runtime worker's log: the error, never the password."""
    from tests.runtime_support import configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    for url in _bad_servers(pg_server):
        for args in (
            ("--db", url, "tenant", "list"),
            ("--db", url, "--debug", "doctor"),
            ("route", "status", "--store", url),
            ("route", "run", "--store", url, "--listen", "127.0.0.1:0"),
            ("agent", "remove", "alice", "--dry-run", "--store", url),
            ("sql", "apply", "--url", url, "--yes"),
        ):
            result = run_cli(*args)
            assert result.exit_code == 2, (args, result.stdout, result.stderr)
            assert "password=***" in result.stderr, result.stderr  # the URL, masked
            _no_password(result.stdout, result.stderr)
        log = tmp_path / "worker.log"
        with log.open("w") as err:
            worker = subprocess.run(
                [sys.executable, "-m", "gsetup.runtime.worker", "--store", url],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                timeout=120,
                check=False,
            )
        assert worker.returncode == 2, log.read_text()
        _no_password(worker.stdout, log.read_text())


@pytest.mark.pg
def test_a_server_store_with_its_password_in_the_query(
    db_url: str, pg_url: str, tmp_path: Path
) -> None:
    """A runtime on a PostgreSQL store given its password in the query string records and
    lists it without."""
    from gsetup.runtime.api import open_runtime
    from tests.runtime_support import configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    given = f"{pg_url}?password=pw-in-query-7&application_name=gsetup"
    open_runtime(TENANT, config_url=db_url, store_url=given).close()
    listed = run_cli("route", "store", "list", "--json")
    assert [s["store"] for s in json.loads(listed.stdout)] == [f"{pg_url}?application_name=gsetup"]
    _no_password(listed.stdout, str(_rows(default_store_url(db_url))))
    assert run_cli("route", "store", "forget", given, "--yes").exit_code == 0
    assert _rows(default_store_url(db_url)) == []


def test_a_driver_message_echoing_a_given_password_is_scrubbed(tmp_path: Path) -> None:
    """A driver may echo its connection string (libpq's key=value, ODBC's PWD=) in an error:
    the passwords of every URL given, user part or query, are masked in what the CLI prints,
    its --debug traceback, and the runtime's one-line reasons."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    from gsetup.cli.errors import guarded
    from gsetup.configdb.database import first_line, url_or_none

    url = (
        "mssql+pyodbc://rt:pw-user-5@db/x?password=pw-in-query-7"
        "&odbc_connect=DRIVER%3Dx%3BPWD%3D%7Bpw-in-query-9%7D"
    )
    assert url_or_none(url) is not None
    echoed = psycopg.OperationalError(
        "invalid connection string: host=db password=pw-in-query-7 user=rt:pw-user-5 "
        "PWD={pw-in-query-9}"
    )
    error = DBAPIError.instance("SELECT 1", None, echoed, psycopg.Error, hide_parameters=True)
    assert (
        first_line(error) == "invalid connection string: host=db password=*** user=rt:*** PWD={***}"
    )

    def fails() -> int:
        raise error

    for debug in (False, True):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert guarded(fails, debug) == 1
        assert "password=*** user=rt:***" in err.getvalue()
        _no_password(err.getvalue())
        assert "pw-user-5" not in err.getvalue()


def test_a_short_password_is_masked_where_a_driver_prints_it_and_nowhere_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A short password ('a', 'pg') was masked inside every word that holds it ('psycopg'
    read 'psyco***'); it is masked where it stands alone, as drivers print it (password=,
    user:pw@host, PWD={pw}, quoted), a long one everywhere as before."""
    from gsetup.configdb import database
    from gsetup.configdb.database import scrub, url_or_none

    monkeypatch.setattr(database, "_GIVEN_SECRETS", set())
    for url in (
        "postgresql+psycopg://rt:pg@db/x?sslpassword=a",
        "postgresql+psycopg://rt:long-pw-1234@db/x",
    ):
        assert url_or_none(url) is not None
    echoed = (
        "invalid connection string: host=db password=pg sslpassword='a' "
        "postgresql+psycopg://rt:pg@db/x PWD={pg}; a pg_hba.conf entry at /var/lib/data "
        "names pgdata; password=long-pw-1234 or xlong-pw-12345"
    )
    assert scrub(echoed) == (
        "invalid connection string: host=db password=*** sslpassword='***' "
        "postgresql+psycopg://rt:***@db/x PWD={***}; *** pg_hba.conf entry at /var/lib/data "
        "names pgdata; password=*** or x***5"
    )


def test_a_long_store_url_is_shown_elided_in_messages(db_url: str, tmp_path: Path) -> None:
    """``agent remove --store`` and ``route store forget`` of a store URL of 600 characters
    showed it whole; it is shown masked, its middle elided (its scheme, host and file name
    kept) with its length."""
    from gsetup.configdb.database import short_url
    from tests.runtime_support import configure_tenant

    configure_tenant(db_url, tmp_path, agents={"alice": 2})
    deep = tmp_path / ("d" * 250) / ("e" * 250) / "store.db"
    given = f"sqlite:///{deep}"
    elided = f"{given[:120]}...{given[-60:]} ({len(given)} characters)"
    assert short_url(given) == elided and len(given) > 500
    server = f"postgresql+psycopg://rt:s3cret-pw@127.0.0.1:9/store?application_name={'a' * 300}"
    shown = short_url(server)
    assert shown.startswith("postgresql+psycopg://rt:***@127.0.0.1:9/store?application_name=aaa")
    assert shown.endswith(f"aaa ({len(server) - len('s3cret-pw') + 3} characters)")
    assert short_url(f"sqlite:///{tmp_path / 'runtime.db'}") == (
        f"sqlite:///{tmp_path / 'runtime.db'}"  # a usual URL whole
    )

    removed = run_cli("agent", "remove", "alice", "--yes", "--store", given)
    assert removed.exit_code == 2
    assert removed.stderr.startswith(
        f"gsetup: error: cannot check the interaction store {elided} for interactions agent "
        f"'alice' holds (no interaction store at {str(deep)[:120]}..."
    ), removed.stderr
    forgotten = run_cli("route", "store", "forget", given, "--yes")
    assert forgotten.exit_code == 2
    assert forgotten.stderr.startswith(
        f"gsetup: error: the store {elided} is not recorded for tenant {TENANT!r}"
    ), forgotten.stderr
    assert given not in removed.stderr + forgotten.stderr
