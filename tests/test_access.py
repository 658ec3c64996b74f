"""Accounts on a server database: logins, roles and tenant visibility."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from tests.helpers import PG_ADMIN_PASSWORD, run_behind_a_lock, run_cli, snapshot

pytestmark = pytest.mark.pg


@pytest.fixture
def server(server_db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A PostgreSQL configuration database with tenants Acme and Globex, and three accounts."""
    assert run_cli("tenant", "create", "Acme").exit_code == 0
    assert run_cli("tenant", "create", "Globex").exit_code == 0
    for name, tenant, role in (("vera", "Acme", "viewer"), ("otto", "Acme", "operator")):
        monkeypatch.setenv("GSETUP_NEW_PASSWORD", f"{name}-password")
        created = run_cli("account", "create", name)
        assert created.exit_code == 0, created.stderr
        assert run_cli("account", "grant", name, "--tenant", tenant, "--role", role).exit_code == 0
    return server_db_url


def _as(monkeypatch: pytest.MonkeyPatch, user: str, password: str | None = None) -> None:
    monkeypatch.setenv("GSETUP_USER", user)
    monkeypatch.setenv("GSETUP_PASSWORD", password or f"{user}-password")


def test_viewer_cannot_change_a_tenant(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "vera")
    before = snapshot(server)
    result = run_cli("app", "create", "DMS", "--type", "DigitalMessagingServer", "-t", "Acme")
    assert result.exit_code == 2
    assert "is a viewer in tenant 'Acme' and may not change it" in result.stderr
    assert snapshot(server) == before
    assert run_cli("app", "list", "-t", "Acme").exit_code == 0
    # A dry run only reads, so a viewer may see the plan.
    dry = run_cli("app", "create", "DMS", "--type", "ChatServer", "-t", "Acme", "--dry-run")
    assert dry.exit_code == 0 and "1 to create" in dry.stdout


def test_operator_changes_only_granted_tenant(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "otto")
    ok = run_cli("app", "create", "DMS", "--type", "DigitalMessagingServer", "-t", "Acme")
    assert ok.exit_code == 0, ok.stderr
    assert run_cli("tenant", "list", "--json").json() == ["Acme"]
    for args in (
        ("app", "list", "-t", "Globex"),
        ("object", "list", "-t", "Environment"),
        ("app", "create", "X", "--type", "ChatServer", "-t", "Globex"),
    ):
        hidden = run_cli(*args)
        assert hidden.exit_code == 2
        assert "unknown tenant" in hidden.stderr
    listed = run_cli("object", "list", "--json").json()
    assert {o["tenant"] for o in listed} == {"Acme"}
    history = run_cli("history", "--json").json()
    assert {h["tenant"] for h in history} == {"Acme"}
    assert run_cli("tenant", "create", "Initech").exit_code == 2


def test_wrong_password_and_missing_login(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "vera", "not-her-password")
    wrong = run_cli("tenant", "list")
    assert wrong.exit_code == 2
    assert "login failed for account 'vera'" in wrong.stderr
    assert "not-her-password" not in wrong.stderr
    _as(monkeypatch, "nobody", "whatever-123")
    assert "login failed" in run_cli("tenant", "list").stderr
    monkeypatch.delenv("GSETUP_USER")
    missing = run_cli("tenant", "list")
    assert missing.exit_code == 2 and "needs a login" in missing.stderr


def test_passwords_are_stored_hashed(server: str) -> None:
    rows = snapshot(server, ("account",))["account"]
    hashes = {r[1]: r[2] for r in rows}
    assert set(hashes) == {"admin", "vera", "otto"}
    assert all(h.startswith("scrypt$") for h in hashes.values())
    assert PG_ADMIN_PASSWORD not in str(rows) and "vera-password" not in str(rows)


def test_unknown_role_is_refused(server: str) -> None:
    result = run_cli("account", "grant", "vera", "--tenant", "Acme", "--role", "god")
    assert result.exit_code == 2
    assert "roles: viewer, operator, admin" in result.stderr


def test_account_create_never_takes_the_logged_in_password(
    server_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GSETUP_PASSWORD is the admin's login; a new account's password is GSETUP_NEW_PASSWORD
    or a prompt, so without either (and no terminal) it is refused, naming the variable."""
    monkeypatch.delenv("GSETUP_NEW_PASSWORD", raising=False)
    result = run_cli("account", "create", "dave")
    assert result.exit_code == 2
    assert result.stderr == (
        "gsetup: error: a password is needed and there is no terminal to ask for it: "
        "set GSETUP_NEW_PASSWORD\n"
    )
    listed = run_cli("account", "list", "--json")
    assert listed.exit_code == 0 and "dave" not in listed.stdout
    # The admin's password does not log dave in: there is no dave.
    _as(monkeypatch, "dave", PG_ADMIN_PASSWORD)
    assert run_cli("db", "status").exit_code == 2


BAD_ACCOUNT_NAMES = ["two words", " otto", "a/b", "no\u00a0break", "tab\there", "c1\x85", ""]


@pytest.mark.parametrize("name", BAD_ACCOUNT_NAMES)
def test_account_names_are_login_names(
    server: str, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """An account name is what --user and GSETUP_USER give: the product's name rule (as for
    tenants, agents and objects) with no spaces or invisible characters. Refused before the
    password is asked for; nothing written."""
    monkeypatch.setenv("GSETUP_NEW_PASSWORD", "a-good-password")
    before = snapshot(server)
    result = run_cli("account", "create", name)
    assert result.exit_code == 2
    assert result.stderr == (
        f"gsetup: error: invalid account name {name!r}: use 1 to 255 characters without '/', "
        "spaces or controls\n"
    )
    assert snapshot(server) == before
    # Other commands that take an account name look it up: such a name is nobody's.
    granted = run_cli("account", "grant", name, "--tenant", "Acme", "--role", "viewer")
    assert granted.exit_code == 2 and f"unknown account {name!r}" in granted.stderr
    assert snapshot(server) == before


def test_a_first_admin_named_otherwise_is_refused(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``db init --user NAME`` creates the first account: its name is checked before the
    schema is written."""
    monkeypatch.setenv("GSETUP_DB", pg_url)
    monkeypatch.setenv("GSETUP_PASSWORD", "first-admin-pw")
    refused = run_cli("--user", "first admin", "db", "init")
    assert refused.exit_code == 2
    assert "invalid account name 'first admin'" in refused.stderr
    engine = create_engine(pg_url, poolclass=NullPool)
    try:
        assert inspect(engine).get_table_names() == []  # no schema: nothing written
    finally:
        engine.dispose()
    assert run_cli("--user", "first.admin@example.com", "db", "init").exit_code == 0


def test_a_viewer_never_reads_a_secret_in_clear(
    server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A viewer sees secrets masked everywhere: export --include-secrets needs a role that
    may change the tenant (an operator sets secrets, a viewer only looks)."""
    _as(monkeypatch, "otto")
    assert run_cli("app", "create", "DMS", "--type", "ChatServer", "-t", "Acme").exit_code == 0
    monkeypatch.setenv("HUB_KEY", "hub-key-Sup3rS3cret")
    key = ("--app", "DMS", "-t", "Acme", "channel-facebook/gsa-api-key")
    assert run_cli("options", "set", *key, "--value-env", "HUB_KEY").exit_code == 0
    _as(monkeypatch, "vera")
    viewer_file = tmp_path / "vera.cfg"
    export = ("options", "export", "--app", "DMS", "-t", "Acme", "--include-secrets", "--output")
    refused = run_cli(*export, str(viewer_file))
    assert refused.exit_code == 2
    assert (
        "is a viewer in tenant 'Acme'" in refused.stderr and "--include-secrets" in refused.stderr
    )
    assert not viewer_file.exists()
    masked = run_cli("options", "export", "--app", "DMS", "-t", "Acme")
    assert masked.exit_code == 0 and "gsa-api-key=********" in masked.stdout
    _as(monkeypatch, "otto")
    operator_file = tmp_path / "otto.cfg"
    assert run_cli(*export, str(operator_file)).exit_code == 0
    assert "gsa-api-key=hub-key-Sup3rS3cret" in operator_file.read_text()


def test_a_short_password_names_where_it_came_from(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import pexpect

    from tests.test_safety import GSETUP

    monkeypatch.setenv("GSETUP_NEW_PASSWORD", "short")
    before = snapshot(server)
    result = run_cli("account", "create", "dave")
    assert result.exit_code == 2
    assert result.stderr == (
        "gsetup: error: the password from GSETUP_NEW_PASSWORD is too short: a password must "
        "have at least 8 characters\n"
    )
    assert snapshot(server) == before
    monkeypatch.delenv("GSETUP_NEW_PASSWORD")
    child = pexpect.spawn(
        GSETUP, ["account", "create", "dave"], env=dict(os.environ), encoding="utf-8", timeout=60
    )
    try:
        child.expect("Password for account 'dave': ")
        child.sendline("short")  # asked again, saying why
        child.expect("the password typed at the prompt is too short: a password must have at least")
        child.expect("Password for account 'dave': ")
        child.sendline("dave-password-1")
        child.expect("Repeat the password: ")
        child.sendline("dave-password-1")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    monkeypatch.setenv("GSETUP_USER", "dave")
    monkeypatch.setenv("GSETUP_PASSWORD", "dave-password-1")
    assert run_cli("tenant", "list").exit_code == 0  # logs in with the password typed


@pytest.mark.parametrize(("name", "existing"), [("Vera", "vera"), ("ADMIN", "admin")])
def test_an_account_name_differing_only_by_case_is_refused(
    server: str, monkeypatch: pytest.MonkeyPatch, name: str, existing: str
) -> None:
    """'Vera' beside 'vera' would read as the same account in history, locks and lists."""
    monkeypatch.setenv("GSETUP_NEW_PASSWORD", "a-good-password")
    before = snapshot(server)
    result = run_cli("account", "create", name)
    assert result.exit_code == 2
    assert result.stderr == (
        f"gsetup: error: account {name!r} differs from the existing account {existing!r} "
        "only by case; choose another name\n"
    )
    assert snapshot(server) == before


@pytest.mark.parametrize(
    ("existing", "name"),
    [
        ("Dora", "dora"),  # the unique index on lower(name) refuses the later insert
        # lower() does not fold these (casefold() does): creates take their turn instead
        ("STRASSE", "straße"),
    ],
)
def test_a_create_losing_the_race_to_a_name_differing_by_case_is_refused_alike(
    server: str, monkeypatch: pytest.MonkeyPatch, existing: str, name: str
) -> None:
    """Two creates at once: the second is refused with the message of the check, whether
    the database's index or the first create's turn stops it. Deterministic: the first
    create is this test's open transaction, committed only once the gsetup process waits on
    it (pg_stat_activity)."""
    import os

    from sqlalchemy import text

    monkeypatch.setenv("GSETUP_NEW_PASSWORD", "a-good-password")
    engine = create_engine(server, poolclass=NullPool)
    try:
        with engine.connect() as first:
            first.execute(
                text(
                    "INSERT INTO account (name, password_hash, superuser) "
                    "VALUES (:name, 'unused', false)"
                ),
                {"name": existing},
            )
            second = run_behind_a_lock(server, first, ["account", "create", name], {**os.environ})
        with engine.connect() as conn:
            names = conn.execute(
                text("SELECT name FROM account WHERE name IN (:a, :b)"), {"a": existing, "b": name}
            )
            assert names.scalars().all() == [existing]
    finally:
        engine.dispose()
    assert second.exit_code == 2, second
    assert second.stderr == (
        f"gsetup: error: account {name!r} differs from the existing account {existing!r} only "
        "by case; choose another name\n"
    )


def test_a_password_that_is_no_utf8_text_is_refused_or_fails_the_login(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment variable holding bytes that are not UTF-8 (Python reads them as lone
    surrogates) failed with an unexpected UnicodeEncodeError (exit 1) when hashed."""
    bad = "\udcff\udcfe-abcdefgh"  # b"\xff\xfe-abcdefgh" as os.environ reads it
    monkeypatch.setenv("GSETUP_NEW_PASSWORD", bad)
    before = snapshot(server, ("account",))
    created = run_cli("account", "create", "hank")
    assert (created.exit_code, created.stderr) == (
        2,
        "gsetup: error: the password from GSETUP_NEW_PASSWORD is not UTF-8 text: give a "
        "password of UTF-8 characters\n",
    )
    assert snapshot(server, ("account",)) == before
    monkeypatch.setenv("GSETUP_PASSWORD", bad)
    login = run_cli("db", "status")
    assert (login.exit_code, login.stderr) == (
        2,
        "gsetup: error: login failed for account 'admin': wrong user or password\n",
    )


@pytest.mark.parametrize(
    ("password", "held"),
    [
        ("abc\x01defgh", "a control character (U+0001) at position 4"),
        ("abcdefgh\n", "a line break at position 9"),
        ("abc\x85defgh", "a control character (U+0085) at position 4"),
    ],
)
def test_a_password_holding_a_control_character_is_refused_as_an_agent_s_is(
    server: str, pg_url: str, monkeypatch: pytest.MonkeyPatch, password: str, held: str
) -> None:
    """``agent add`` refused such a password while ``account create`` and ``db init``'s first
    admin took it: one that could then not be typed at a login prompt or kept in a file."""
    rule = "; a password is one line of text (tab allowed)\n"
    monkeypatch.setenv("GSETUP_NEW_PASSWORD", password)
    before = snapshot(server)
    created = run_cli("account", "create", "ivan")
    assert (created.exit_code, created.stderr) == (
        2,
        f"gsetup: error: the password from GSETUP_NEW_PASSWORD holds {held}{rule}",
    )
    assert snapshot(server) == before
    monkeypatch.setenv("GSETUP_DB", pg_url)  # an empty database: db init's first admin
    monkeypatch.setenv("GSETUP_PASSWORD", password)
    init = run_cli("--user", "first", "db", "init")
    assert (init.exit_code, init.stderr) == (
        2,
        f"gsetup: error: the password from GSETUP_PASSWORD holds {held}{rule}",
    )
    engine = create_engine(pg_url, poolclass=NullPool)
    try:
        assert inspect(engine).get_table_names() == []  # no schema: nothing written
    finally:
        engine.dispose()


def test_the_wizard_of_an_account_that_sees_no_tenant_says_so(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An account granted no tenant has none to select: one clear refusal (exit 2), not
    questionary's `A list of choices needs to be provided` (exit 1)."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from gsetup.cli.confirm import Confirmation
    from gsetup.errors import NeedsAnswerError
    from gsetup.wizards.bp import InstallRequest, login, run_install
    from gsetup.wizards.collect import Prompter

    monkeypatch.setenv("GSETUP_NEW_PASSWORD", "nobody-password")
    assert run_cli("account", "create", "nobody").exit_code == 0
    _as(monkeypatch, "nobody")
    before = snapshot(server)
    with create_pipe_input() as keys:
        keys.send_text("\r")
        prompter = Prompter(input=keys, output=DummyOutput())
        ctx = login(None, None, [], prompter, yes=False)
        confirm = Confirmation(wizard=True, terminal=lambda: True, ask=lambda _q, _d: True)
        with pytest.raises(NeedsAnswerError) as refused:
            run_install(ctx, InstallRequest("rss-bp"), [], prompter, confirm)
    assert str(refused.value) == (
        "no tenant to select: account 'nobody' was granted none; a superuser grants one with "
        "`gsetup account grant nobody --tenant NAME --role operator`"
    )
    assert snapshot(server) == before
