"""``gsetup dms token create|revoke``: the control token of a DMS application, as rows of the
configuration database; never shown. A running pair using them: tests/test_dms_control.py."""

from __future__ import annotations

import pytest

from tests.helpers import option_row, run_cli, snapshot

CREATE = ("dms", "token", "create")
REVOKE = ("dms", "token", "revoke")


def control_option(url: str, app: str) -> tuple[str, bool] | None:
    """(value, secret flag) of the application's [gsetup-dms] control-token row."""
    return option_row(url, f"Applications/{app}", "gsetup-dms", "control-token")


@pytest.fixture
def apps(db_url: str) -> None:
    """DMS_1, and CS_1 (a Chat Server)."""
    for name, kind in (("DMS_1", "DigitalMessagingServer"), ("CS_1", "ChatServer")):
        assert run_cli("app", "create", name, "--type", kind).exit_code == 0


@pytest.mark.usefixtures("apps")
def test_create_rotate_revoke(db_url: str) -> None:
    before = snapshot(db_url)
    dry = run_cli(*CREATE, "--app", "DMS_1", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert dry.json()["summary"]["create"] == 1 and dry.json()["applied"] is False
    assert snapshot(db_url) == before

    made = run_cli(*CREATE, "--app", "DMS_1", "--json")
    assert made.exit_code == 0, made.stderr
    assert made.json()["applied"] is True and "token" not in made.json()
    stored = control_option(db_url, "DMS_1")
    assert stored is not None
    token, secret = stored
    assert secret and len(token) >= 43  # 32 random bytes
    text_made = run_cli(*CREATE, "--app", "DMS_1", "--rotate")
    assert text_made.exit_code == 0, text_made.stderr
    rotated = control_option(db_url, "DMS_1")
    assert rotated is not None and rotated[0] != token and rotated[1]
    outputs = [
        made.stdout + made.stderr,
        text_made.stdout + text_made.stderr,
        run_cli("options", "export", "--app", "DMS_1").stdout,
        run_cli("app", "show", "DMS_1", "--json").stdout,
        run_cli("history", "--json").stdout,
    ]
    for said in outputs:
        assert token not in said and rotated[0] not in said
    assert "control-token=********" in outputs[2]

    before = snapshot(db_url)
    again = run_cli(*CREATE, "--app", "DMS_1")
    assert again.exit_code == 2
    assert again.stderr == (
        "gsetup: error: application 'DMS_1' already has a control token; give --rotate to "
        "replace it (the old one stops working), --if-missing to keep it, or revoke it with "
        "gsetup dms token revoke --app DMS_1\n"
    )
    unconfirmed = run_cli(*REVOKE, "--app", "DMS_1")  # no terminal to confirm on
    assert unconfirmed.exit_code == 2 and "add --yes" in unconfirmed.stderr
    assert run_cli(*REVOKE, "--app", "DMS_1", "--dry-run").exit_code == 0
    assert snapshot(db_url) == before

    revoked = run_cli(*REVOKE, "--app", "DMS_1", "--yes", "--json")
    assert revoked.exit_code == 0, revoked.stderr
    assert revoked.json()["summary"]["delete"] == 1
    assert control_option(db_url, "DMS_1") is None
    twice = run_cli(*REVOKE, "--app", "DMS_1", "--dry-run", "--detailed-exitcode")
    assert twice.exit_code == 0  # nothing to revoke


@pytest.mark.usefixtures("apps")
def test_if_missing_makes_a_token_once_then_keeps_it(db_url: str) -> None:
    """A CI job can run ``dms token create --if-missing`` every time: it makes the token the
    first time, then keeps it (exit 0, nothing changed, the pair's token still valid)."""
    first = run_cli(*CREATE, "--app", "DMS_1", "--if-missing", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["summary"]["create"] == 1 and first.json()["kept"] is False
    token = control_option(db_url, "DMS_1")
    assert token is not None and token[1]
    before = snapshot(db_url)
    for args in (("--json",), ()):
        again = run_cli(*CREATE, "--app", "DMS_1", "--if-missing", *args)
        assert again.exit_code == 0, again.stderr
        assert token[0] not in again.stdout + again.stderr
    assert again.stdout.endswith("DMS_1 already has a control token: kept\n")
    kept = run_cli(*CREATE, "--app", "DMS_1", "--if-missing", "--json").json()
    assert kept["kept"] is True and kept["summary"]["create"] == kept["summary"]["update"] == 0
    assert control_option(db_url, "DMS_1") == token
    assert snapshot(db_url) == before
    both = run_cli(*CREATE, "--app", "DMS_1", "--if-missing", "--rotate")
    assert both.exit_code == 2
    assert "--rotate and --if-missing exclude each other" in both.stderr
    assert snapshot(db_url) == before


BAD_INPUT = [
    (("--app", "Ghost"), "no application 'Applications/Ghost'"),
    (
        ("--app", "CS_1"),
        "application 'CS_1' is of type ChatServer; control tokens belong to a "
        "DigitalMessagingServer",
    ),
    (("--app", "DMS_1", "--tenant", "Nope"), "unknown tenant 'Nope'"),
]


@pytest.mark.usefixtures("apps")
def test_bad_input_writes_nothing(db_url: str) -> None:
    before = snapshot(db_url)
    for command in (CREATE, REVOKE):
        for args, message in BAD_INPUT:
            result = run_cli(*command, *args, "--yes" if command == REVOKE else "--json")
            assert result.exit_code == 2, (command, args, result.stderr)
            assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert snapshot(db_url) == before
