"""The configuration database: migrations, the embedded default, schema checks, bad databases."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.configdb.database import HEAD, REVISIONS, open_database
from gsetup.plan.model import MASK
from tests.helpers import CliResult, run_behind_a_lock, run_cli, snapshot, sql_rows

if TYPE_CHECKING:
    from sqlalchemy import Connection


def test_migrations_match_models(db_url: str) -> None:
    """The models and the migrations describe the same schema (no pending autogenerate diff)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gsetup.configdb.models import Base

    db = open_database(db_url, upgrade=True)
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection skips expression indexes (uq_account_name_lower): the index is
        # tested by what it refuses, test_account_names_differing_by_case_are_refused_by_the_index
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_known_revisions_are_alembic_heads() -> None:
    from alembic.script import ScriptDirectory

    from gsetup.configdb.database import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD]
    assert [r.revision for r in reversed(list(script.walk_revisions()))] == list(REVISIONS)


def test_embedded_default_is_created_private_with_default_tenant(tmp_path: Path) -> None:
    result = run_cli("tenant", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == ["Environment"]
    db_file = Path(os.environ["XDG_DATA_HOME"]) / "gsetup" / "gsetup.db"
    assert db_file.exists()
    assert stat.S_IMODE(db_file.stat().st_mode) == 0o600
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    db = open_database(f"sqlite:///{tmp_path / 'fk.db'}")
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cfg_option (object_id, section, key, value, secret) "
                "VALUES (9999, 's', 'k', 'v', false)"
            )
        )


def test_unique_path_per_tenant(db_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    db = open_database(db_url)
    insert = text(
        "INSERT INTO cfg_object (tenant_id, kind, path, name) VALUES (1, 'skill', 'Skills/x', 'x')"
    )
    with db.engine.begin() as conn:
        conn.execute(insert)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(insert)


def _sql(url: str, statement: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_database_newer_than_gsetup_is_refused(db_url: str) -> None:
    open_database(db_url, upgrade=True)
    _sql(db_url, "UPDATE alembic_version SET version_num = '9999'")
    result = run_cli("app", "list")
    assert result.exit_code == 2
    assert "newer than this gsetup" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_init_of_a_database_newer_than_gsetup_says_so(server_db_url: str) -> None:
    """`db init` of a server database a newer gsetup migrated said it "already has accounts"
    and to run `db upgrade`, which then refused it as newer: it says to upgrade gsetup."""
    _sql(server_db_url, "UPDATE alembic_version SET version_num = '9999'")
    result = run_cli("db", "init")
    assert result.exit_code == 2
    assert result.stderr == (
        f"gsetup: error: the configuration database {server_db_url} is at schema 9999, newer "
        f"than this gsetup knows ({HEAD}); upgrade gsetup\n"
    )
    assert _revision(server_db_url) == "9999"


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id integer)")
    result = run_cli("--db", f"sqlite:///{path}", "app", "list")
    assert result.exit_code == 2
    assert "is not a gsetup configuration database" in result.stderr
    with sqlite3.connect(path) as conn:  # nothing written
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"customers"}


def test_a_database_role_that_may_not_read_the_schema_is_told_so(server_db_url: str) -> None:
    """The schema's revision is read before the tables are listed: a refused read of an
    existing revision table is the server's refusal, not a foreign database."""
    role = f"no_rights_{uuid.uuid4().hex[:8]}"  # roles are the server's, not the database's
    _sql(server_db_url, f"CREATE ROLE {role} LOGIN")
    try:
        url = server_db_url.replace("postgres@", f"{role}@")
        result = run_cli("--db", url, "app", "list")
        assert result.exit_code == 2, result.stderr
        assert "refused gsetup: permission denied for table alembic_version" in result.stderr
        assert "not a gsetup configuration database" not in result.stderr
    finally:
        _sql(server_db_url, f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_an_upgrade_by_a_role_that_may_not_alter_the_tables_says_whose_role_to_use(
    server_db_url: str,
) -> None:
    """A role that may read and write gsetup's tables but not alter them (not their owner)
    ended `db upgrade` with exit 1, "unexpected ProgrammingError" and the SQL; it is exit 2
    naming the role to use, and the schema stays where it was."""
    _migrate_to(server_db_url, "0001")
    role = f"writer_{uuid.uuid4().hex[:8]}"
    _sql(server_db_url, f"CREATE ROLE {role} LOGIN")
    try:
        _sql(server_db_url, f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        _sql(server_db_url, f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        url = server_db_url.replace("postgres@", f"{role}@")
        result = run_cli("--db", url, "db", "upgrade")
        assert result.exit_code == 2, result.stderr
        assert result.stderr == (
            f"gsetup: error: the database role {role!r} of {url} may not change gsetup's "
            "tables (must be owner of table cfg_option): run `gsetup db upgrade` with a --db (or "
            "GSETUP_DB) URL naming the role that owns them (the one `db init` ran with); nothing "
            "was changed\n"
        )
        assert _revision(server_db_url) == "0001"
    finally:
        _sql(server_db_url, f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_an_init_by_a_role_that_may_not_create_tables_says_to_give_it_the_database(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`createdb gsetup` by an administrator leaves the database to them: an init through
    another role was told to run `db upgrade` with "the role `db init` ran with", the very
    command being run; it says to make the role the database's owner, and nothing is made."""
    role = f"deployer_{uuid.uuid4().hex[:8]}"
    _sql(pg_url, f"CREATE ROLE {role} LOGIN")
    try:
        _sql(pg_url, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")  # PostgreSQL 15's default
        url = pg_url.replace("postgres@", f"{role}@")
        monkeypatch.setenv("GSETUP_PASSWORD", "admin-pw-long-enough")
        result = run_cli("--db", url, "--user", "admin", "db", "init")
        assert result.exit_code == 2, result.stderr
        name = url.rsplit("/", 1)[1]
        assert result.stderr == (
            f"gsetup: error: the database role {role!r} of {url} may not create gsetup's tables "
            f"(permission denied for schema public): make it the database's owner (`ALTER "
            f"DATABASE {name} OWNER TO {role}`, as an administrator), then run `gsetup db init` "
            "again; nothing was changed\n"
        )
        assert sql_rows(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []
    finally:
        _sql(pg_url, f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_write_by_a_role_that_may_only_read_is_refused_in_one_line(server_db_url: str) -> None:
    """A database role granted SELECT only ended a write with exit 1, "unexpected
    ProgrammingError" and the SQL statement; it is the server's refusal, exit 2, one line."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    _sql(server_db_url, f"CREATE ROLE {role} LOGIN")
    try:
        _sql(server_db_url, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        url = server_db_url.replace("postgres@", f"{role}@")
        before = snapshot(server_db_url)
        assert run_cli("--db", url, "tenant", "list").exit_code == 0  # reads are allowed
        result = run_cli("--db", url, "tenant", "create", "Acme")
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("gsetup: error: the database refused gsetup: permission ")
        assert result.stderr.endswith(
            ": the role of its URL may not change it; use the URL of a role that may (the one "
            "`db init` ran with, or one granted the rights on gsetup's tables)\n"
        )
        assert "SQL" not in result.stderr and result.stderr.count("\n") == 1
        assert snapshot(server_db_url) == before
    finally:
        _sql(server_db_url, f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_sqlite_file_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file to another user")
    path = tmp_path / "theirs.db"
    path.touch()
    os.chown(path, 65534, 65534)
    result = run_cli("--db", f"sqlite:///{path}", "tenant", "list")
    assert result.exit_code == 2
    assert "belongs to another user" in result.stderr


def test_unreachable_server_message_hides_password() -> None:
    url = "postgresql+psycopg://bob:hunter2-secret@127.0.0.1:1/nowhere"
    result = run_cli("--db", url, "tenant", "list")
    assert result.exit_code == 2
    assert "cannot connect" in result.stderr
    assert "hunter2-secret" not in result.stderr + result.stdout


def test_unsupported_url_is_refused() -> None:
    result = run_cli("--db", "mysql://x@localhost/db", "tenant", "list")
    assert result.exit_code == 2
    assert "SQLite (sqlite:///PATH) or PostgreSQL" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "gsetup:s3cr3t-pw@db.example.com/gsetup",  # no dialect
        "postgresql+psycopg://gsetup:s3cr3t-pw@db.example.com:5432x/gsetup",  # port
    ],
)
def test_a_malformed_url_is_refused_without_its_password(url: str) -> None:
    result = run_cli("--db", url, "db", "status")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("gsetup: error: '") and result.stderr.count("\n") == 1
    assert "gsetup:***@db.example.com" in result.stderr
    assert "is not a database URL" in result.stderr
    assert "s3cr3t-pw" not in result.stdout + result.stderr
    version = run_cli("--db", url, "version", "--json")
    assert version.exit_code == 0 and version.json()["database"] == "(not a database URL)"


@pytest.mark.parametrize(
    "query", ["password=s3cr3t-pw", "sslpassword=s3cr3t-pw&user=gsetup", "PWD=s3cr3t-pw"]
)
def test_a_password_in_the_query_string_is_masked(query: str) -> None:
    url = f"postgresql+psycopg://gsetup@127.0.0.1:1/gsetup?{query}"
    result = run_cli("--db", url, "db", "status")
    assert result.exit_code == 2, result.stderr
    assert "the configuration database postgresql+psycopg://gsetup@127.0.0.1:1/gsetup?" in (
        result.stderr
    )
    assert "=***" in result.stderr
    version = run_cli("--db", url, "version", "--json")
    assert version.exit_code == 0 and "=***" in version.json()["database"]
    assert "s3cr3t-pw" not in result.stdout + result.stderr + version.stdout + version.stderr


def test_embedded_db_init_shows_no_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded database has no accounts: no empty ``admin:`` line (null in --json)."""
    url = f"sqlite:///{tmp_path / 'config.db'}"
    monkeypatch.setenv("GSETUP_DB", url)
    done = run_cli("db", "init")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Configuration database ready",
        f"  url: {url}",
        f"  revision: {HEAD}",
    ]
    assert run_cli("db", "init", "--json").json() == {"url": url, "revision": HEAD, "admin": None}


@pytest.mark.pg
def test_server_database_behind_says_so_then_upgrade(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GSETUP_DB", pg_url)
    result = run_cli("tenant", "list")
    assert result.exit_code == 2
    assert "is empty; run `gsetup db init`" in result.stderr
    monkeypatch.setenv("GSETUP_PASSWORD", "first-admin-pw")
    init = run_cli("--user", "root", "db", "init", "--json")
    assert init.exit_code == 0, init.stderr
    assert init.json()["revision"] == HEAD
    # A database left at an older schema is reported, and `db upgrade` migrates it.
    _migrate_to(pg_url, "0001")
    behind = run_cli("--user", "root", "tenant", "list")
    assert behind.exit_code == 2
    assert f"at schema 0001, behind {HEAD}; run `gsetup db upgrade`" in behind.stderr
    assert run_cli("--user", "root", "db", "upgrade").exit_code == 0  # a superuser
    assert run_cli("--user", "root", "tenant", "list", "--json").json() == ["Environment"]
    again = run_cli("--user", "root", "db", "init")
    assert again.exit_code == 2 and "already has accounts" in again.stderr


def _revision(url: str) -> str | None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        if not conn.dialect.has_table(conn, "alembic_version"):
            return None
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return revision


@pytest.mark.pg
def test_server_db_init_refusals_write_nothing(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """db init's refusals (no --user, a short password, a database that has accounts) come
    before the schema is written: exit 2 leaves an empty database empty, and a database
    behind with accounts is migrated only by a superuser's `db upgrade`."""
    monkeypatch.setenv("GSETUP_DB", pg_url)
    monkeypatch.setenv("GSETUP_PASSWORD", "short")
    for args in (("db", "init"), ("--user", "root", "db", "init")):
        refused = run_cli(*args)
        assert refused.exit_code == 2, refused.stdout
        assert _revision(pg_url) is None, args
    assert refused.stderr == (
        "gsetup: error: the password from GSETUP_PASSWORD is too short: a password must have "
        "at least 8 characters\n"
    )
    monkeypatch.setenv("GSETUP_PASSWORD", "first-admin-pw")
    assert run_cli("--user", "root", "db", "init").exit_code == 0
    _migrate_to(pg_url, "0001")
    monkeypatch.delenv("GSETUP_PASSWORD")
    again = run_cli("--user", "someone", "db", "init")
    assert again.exit_code == 2 and "already has accounts" in again.stderr
    assert "gsetup db upgrade" in again.stderr
    assert _revision(pg_url) == "0001"


def _migrate_to(url: str, revision: str) -> None:
    """Move a database's schema to ``revision`` (down or up) with the shipped migrations."""
    from alembic import command

    from gsetup.configdb.database import alembic_config

    cfg = alembic_config()
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current and REVISIONS.index(current) > REVISIONS.index(revision):
            command.downgrade(cfg, revision)
        else:
            command.upgrade(cfg, revision)
    engine.dispose()


def test_db_status_reports_a_schema_behind_as_it_is(db_url: str) -> None:
    """`db status` shows the revision a database is at before `db upgrade` (it refused a
    server database behind, exit 2, and migrated an embedded one, hiding its revision), and
    `db upgrade` the revision it migrated from (it said "upgraded" with nothing done too)."""
    _migrate_to(db_url, "0001")
    before = run_cli("db", "status", "--json")
    assert before.exit_code == 0, before.stderr
    assert (before.json()["revision"], before.json()["head"]) == ("0001", HEAD)
    assert _revision(db_url) == "0001"  # a status writes nothing
    text_output = run_cli("db", "status")
    assert text_output.exit_code == 0 and "revision: 0001" in text_output.stdout
    upgraded = run_cli("db", "upgrade", "--json")
    assert upgraded.json() == {"url": db_url, "from": "0001", "revision": HEAD}
    assert run_cli("db", "status", "--json").json()["revision"] == HEAD
    again = run_cli("db", "upgrade")  # nothing to do, and it says so
    assert again.exit_code == 0 and f"from: {HEAD}" in again.stdout
    assert "already at this gsetup's schema" in again.stdout


def _skill_500(url: str) -> None:
    """A skill object, id 500, written as an older gsetup would (the upgrade tests' object)."""
    _sql(
        url,
        "INSERT INTO cfg_object (id, tenant_id, kind, path, name) "
        "VALUES (500, 1, 'skill', 'Skills/s', 's')",
    )
    _sql(url, "INSERT INTO skill (id, description) VALUES (500, '')")


def test_migration_0002_moves_option_managers_onto_options(db_url: str) -> None:
    """Data written under schema 0001 survives the upgrade with the same meaning."""
    _migrate_to(db_url, "0001")
    _skill_500(db_url)
    _sql(
        db_url,
        "INSERT INTO cfg_option (object_id, section, key, value, secret) "
        "VALUES (500, 'a', 'k', 'v', false)",
    )
    for package, section, key in (("p1", "", ""), ("p1", "a", "k"), ("p2", "a", "k")):
        _sql(
            db_url,
            "INSERT INTO managed (object_id, package, section, key) "
            f"VALUES (500, '{package}', '{section}', '{key}')",
        )
    if db_url.startswith("sqlite"):
        open_database(db_url)  # the embedded database migrates itself
    else:
        assert run_cli("db", "upgrade", "--json").json()["revision"] == HEAD
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as conn:
        managed_by = conn.execute(text("SELECT managed_by FROM cfg_option")).scalar()
        objects = conn.execute(text("SELECT object_id, package FROM managed")).all()
    engine.dispose()
    assert managed_by == "p1\np2"
    assert [tuple(r) for r in objects] == [(500, "p1")]
    # And back down: the option rows return to the managed table.
    _migrate_to(db_url, "0001")
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT package, section, key FROM managed")).all()
    engine.dispose()
    assert sorted(tuple(r) for r in rows) == [("p1", "", ""), ("p1", "a", "k"), ("p2", "a", "k")]


def test_account_names_differing_by_case_are_refused_by_the_index(db_url: str) -> None:
    """Schema 0006 refuses accounts an earlier gsetup let in that differ only by case (naming
    them, nothing changed); once they are gone it makes the database refuse such a name."""
    from sqlalchemy.exc import IntegrityError

    _migrate_to(db_url, "0005")
    for name in ("Vera", "vera", "OTTO", "Otto", "otto", "zoe"):
        _sql(
            db_url,
            "INSERT INTO account (name, password_hash, superuser) "
            f"VALUES ('{name}', 'unused', false)",
        )
    before = snapshot(db_url, ("account", "alembic_version"))
    refused = run_cli("db", "upgrade")
    assert refused.exit_code == 2
    assert refused.stderr == (
        "gsetup: error: accounts differing only by case: 'OTTO' and 'Otto' and 'otto'; 'Vera' "
        "and 'vera'; schema 0006 makes account names unique regardless of case: delete or "
        'rename all but one of each (docs/operations.md, "Accounts differing only by case") '
        "and upgrade again; nothing was changed\n"
    )
    assert snapshot(db_url, ("account", "alembic_version")) == before
    _sql(db_url, "DELETE FROM account WHERE name IN ('OTTO', 'Otto', 'Vera')")
    assert run_cli("db", "upgrade", "--json").json()["revision"] == HEAD
    with pytest.raises(IntegrityError):
        _sql(
            db_url,
            "INSERT INTO account (name, password_hash, superuser) VALUES ('VERA', 'x', false)",
        )
    _migrate_to(db_url, "0005")  # and back down: the index goes
    _sql(db_url, "INSERT INTO account (name, password_hash, superuser) VALUES ('VERA', 'x', false)")


def test_own_credentials_stored_plain_before_are_flagged_secret_by_the_upgrade(
    db_url: str,
) -> None:
    """Before 0007, options set/import stored gsetup's own credentials without the secret flag,
    so they were printed; the upgrade flags those rows and leaves every other row as it was."""
    _migrate_to(db_url, "0006")
    _skill_500(db_url)
    rows = [
        ("gsetup-runtime", "intake-token", False),
        ("gsetup-runtime", "outbound-token", False),
        ("gsetup-runtime", "password-hash", False),
        ("gsetup-dms", "control-token", False),
        ("gsetup-runtime", "intake-url", False),  # not a credential
        ("gsetup-dms", "intake-token", False),  # a credential's key in another section
        ("other", "control-token", False),
        ("other", "kept-secret", True),
    ]
    for section, key, secret in rows:
        _sql(
            db_url,
            "INSERT INTO cfg_option (object_id, section, key, value, secret) "
            f"VALUES (500, '{section}', '{key}', 'v', {str(secret).lower()})",
        )
    assert run_cli("db", "upgrade", "--json").json()["revision"] == HEAD
    flags = sql_rows(db_url, "SELECT section, key, secret FROM cfg_option WHERE object_id = 500")
    assert sorted((s, k, bool(f)) for s, k, f in flags) == sorted(
        [
            ("gsetup-runtime", "intake-token", True),
            ("gsetup-runtime", "outbound-token", True),
            ("gsetup-runtime", "password-hash", True),
            ("gsetup-dms", "control-token", True),
            *rows[4:],
        ]
    )
    _migrate_to(db_url, "0006")  # and back down: nothing to undo, the flags stay
    assert len(sql_rows(db_url, "SELECT 1 FROM cfg_option WHERE object_id = 500 AND secret")) == 5


def _history_entry(url: str, tenant_id: int | None, tenant: str, changes: list[object]) -> None:
    """An install_history row as an older gsetup wrote it."""
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO install_history (tenant_id, tenant_name, operation, account, at, "
                "answers, summary, changes) VALUES (:tid, :tenant, 'options set', 'root', "
                "CURRENT_TIMESTAMP, '{}', '{}', :changes)"
            ),
            {"tid": tenant_id, "tenant": tenant, "changes": json.dumps(changes)},
        )
    engine.dispose()


def _history_changes(url: str) -> list[object]:
    rows = sql_rows(url, "SELECT changes FROM install_history ORDER BY id")
    return [json.loads(c) if isinstance(c, str) else c for (c,) in rows]


def test_secrets_older_gsetups_wrote_in_clear_into_the_history_are_masked_by_the_upgrade(
    db_url: str,
) -> None:
    """The history of a gsetup before 0007 holds its own credentials, and options secret today
    (flagged since, a driver's secret key, masked in a later entry), in clear: in the compact
    rows and in the dicts of schema 0001. The upgrade masks those values, nothing else."""
    _migrate_to(db_url, "0007")
    _skill_500(db_url)
    _sql(
        db_url,
        "INSERT INTO cfg_option (object_id, section, key, value, secret) "
        "VALUES (500, 'user', 'api-secret', 'now', true)",
    )
    schema_0001 = [  # option changes as dicts, before 0002 stored them as rows
        {
            "action": "create",
            "target": "option",
            "kind": "skill",
            "path": "Environment/Skills/s [gsetup-runtime] intake-token",
            "section": "gsetup-runtime",
            "key": "intake-token",
            "after": "clear-in",
        },
        {
            "action": "update",
            "target": "option",
            "kind": "skill",
            "path": "Environment/Skills/s [user] api-secret",
            "section": "user",
            "key": "api-secret",
            "before": "clear-api-1",
            "after": "clear-api-2",
        },
        {
            "action": "create",
            "target": "option",
            "kind": "skill",
            "path": "Environment/Skills/s [user] colour",
            "section": "user",
            "key": "colour",
            "after": "blue",
        },
        {
            "action": "create",
            "target": "object",
            "kind": "skill",
            "path": "Environment/Skills/s",
            "after": {"description": "password"},
        },
    ]
    rows = [
        ["update", "skill", "Skills/s", "gsetup-runtime", "outbound-token", "clear-o1", "clear-o2"],
        ["create", "skill", "Skills/s", "gsetup-dms", "control-token", None, "clear-ctl"],
        ["create", "skill", "Skills/d", "gsetup-runtime", "password-hash", None, "clear-hash"],
        ["create", "skill", "Skills/s", "channel-x", "password", None, "clear-pw"],  # a driver's
        ["create", "skill", "Skills/s", "user", "api-secret", None, "clear-api-0"],
        ["create", "skill", "Skills/gone", "user", "pin", None, "clear-pin"],
        ["create", "skill", "Skills/s", "gsetup-runtime", "intake-url", None, "http://x/"],
        ["create", "skill", "Skills/s", "user", "colour", None, "blue"],
        ["create", "skill", "Skills/s", "user", "pin", None, "plain-pin"],  # another object's
    ]
    gone = [["delete", "skill", "Skills/gone", "user", "pin", MASK, None]]  # secret when deleted
    other_tenant = [["create", "skill", "Skills/s", "user", "api-secret", None, "plain-other"]]
    _history_entry(db_url, 1, "Environment", schema_0001)
    _history_entry(db_url, 1, "Environment", rows)
    _history_entry(db_url, 1, "Environment", gone)
    _history_entry(db_url, None, "Deleted", other_tenant)
    assert run_cli("db", "upgrade", "--json").json()["revision"] == HEAD

    masked = [{**schema_0001[0], "after": MASK}, {**schema_0001[1], "before": MASK, "after": MASK}]
    expected = [
        [*masked, *schema_0001[2:]],
        [
            [*rows[0][:5], MASK, MASK],
            *([*row[:6], MASK] for row in rows[1:6]),
            *rows[6:],
        ],
        gone,
        other_tenant,
    ]
    assert _history_changes(db_url) == expected
    shown = run_cli("history", "--changes", "--json")
    assert shown.exit_code == 0, shown.stderr
    assert "clear-" not in shown.stdout
    # Run again (down, which keeps the masks, and up): nothing more changes.
    _migrate_to(db_url, "0007")
    assert _history_changes(db_url) == expected
    assert run_cli("db", "upgrade", "--json").json()["revision"] == HEAD
    assert _history_changes(db_url) == expected


def _init_behind(url: str, held: Connection, admin: str) -> CliResult:
    """``gsetup --user ADMIN db init`` of ``url`` in a process of its own, let wait on the lock
    ``held`` holds, then released."""
    env = {**os.environ, "GSETUP_DB": url, "GSETUP_PASSWORD": "first-admin-pw"}
    return run_behind_a_lock(url, held, ["--user", admin, "db", "init"], env)


@pytest.mark.pg
def test_an_init_while_another_migrates_waits_and_finds_the_schema_made(pg_url: str) -> None:
    """Two `db init` of an empty database at once both created the schema: the second failed
    (exit 1, duplicate alembic_version). Deterministic: the other is this test's migration,
    committed once the init waits on it."""
    from gsetup.configdb.database import lock_schema

    engine = create_engine(pg_url, poolclass=NullPool)
    try:
        with engine.connect() as other:
            lock_schema(other)
            _upgrade_in(other)
            init = _init_behind(pg_url, other, "second")
    finally:
        engine.dispose()
    assert init.exit_code == 0, init
    assert _revision(pg_url) == HEAD
    assert sql_rows(pg_url, "SELECT name, superuser FROM account") == [("second", True)]


@pytest.mark.pg
def test_an_upgrade_while_another_migrates_says_it_found_the_schema_made(
    server_db_url: str,
) -> None:
    """Two `db upgrade` at once both said "upgraded" from the old revision, the second having
    read it before waiting for the first: it says the schema was already at head, as a run
    after the first would. Deterministic: the other is this test's migration."""
    from gsetup.configdb.database import lock_schema

    _migrate_to(server_db_url, "0005")
    engine = create_engine(server_db_url, poolclass=NullPool)
    try:
        with engine.connect() as other:
            lock_schema(other)
            _upgrade_in(other)
            env = {**os.environ, "GSETUP_DB": server_db_url}
            upgrade = run_behind_a_lock(server_db_url, other, ["db", "upgrade", "--json"], env)
    finally:
        engine.dispose()
    assert upgrade.exit_code == 0, upgrade
    assert json.loads(upgrade.stdout) == {"url": server_db_url, "from": HEAD, "revision": HEAD}


@pytest.mark.pg
def test_two_inits_at_once_make_one_first_admin(pg_url: str) -> None:
    """Each init read that the database had no account, then created its admin: two
    first admins. The second now waits for the first and is refused (exit 2)."""
    from gsetup.commands.database import init_database
    from gsetup.configdb import auth
    from gsetup.configdb.database import lock_schema

    init_database(pg_url, "first", lambda: "first-admin-pw")
    engine = create_engine(pg_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("DELETE FROM account"))
            conn.commit()
            lock_schema(conn)  # the first init, its admin not committed yet
            auth.create_account(conn, "first", "first-admin-pw", superuser=True)
            init = _init_behind(pg_url, conn, "second")
    finally:
        engine.dispose()
    assert init.exit_code == 2, init
    assert "already has accounts" in init.stderr
    assert sql_rows(pg_url, "SELECT name FROM account") == [("first",)]


def _upgrade_in(conn: Connection) -> None:
    """The shipped migrations up to head, in ``conn``'s transaction (left open)."""
    from alembic import command

    from gsetup.configdb.database import alembic_config

    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")
