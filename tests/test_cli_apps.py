"""``gsetup app``, ``object``, ``tenant`` and ``history`` as a user runs them."""

from __future__ import annotations

import pytest

from tests.helpers import run_cli, snapshot

DMS_1 = (
    "app",
    "create",
    "DMS_1",
    "--type",
    "DigitalMessagingServer",
    "--host",
    "dms1.example",
    "--port",
    "4000",
    "--working-dir",
    "/opt/dms",
)


def test_app_lifecycle(db_url: str) -> None:
    created = run_cli(*DMS_1)
    assert created.exit_code == 0, created.stderr
    assert "1 to create, 0 to update, 0 to delete, 0 unchanged" in created.stdout
    backup = run_cli(
        "app",
        "create",
        "DMS_2",
        "--type",
        "DigitalMessagingServer",
        "--backup",
        "DMS_1",
        "--redundancy-type",
        "hot-standby",
        "--json",
    )
    assert backup.json()["applied"] is True
    again = run_cli(*DMS_1)
    assert again.exit_code == 0 and "0 to create" in again.stdout

    shown = run_cli("app", "show", "DMS_2", "--json").json()
    assert shown["attrs"]["backup"] == "Applications/DMS_1"
    assert shown["attrs"]["redundancy_type"] == "hot-standby"
    listed = run_cli("app", "list", "--json").json()
    assert [a["path"] for a in listed] == [
        "Environment/Applications/DMS_1",
        "Environment/Applications/DMS_2",
    ]

    dry = run_cli("app", "delete", "DMS_1", "--dry-run", "--detailed-exitcode")
    assert dry.exit_code == 3 and "1 to delete" in dry.stdout
    assert run_cli("app", "delete", "--yes", "DMS_1").exit_code == 0
    assert run_cli("app", "show", "DMS_2", "--json").json()["attrs"]["backup"] is None
    history = run_cli("history", "--json").json()
    assert [h["operation"] for h in history] == ["app delete", "app create", "app create"]


def test_detailed_exitcode_is_zero_without_changes(db_url: str) -> None:
    run_cli("app", "create", "CS", "--type", "ChatServer")
    result = run_cli(
        "app", "create", "CS", "--type", "ChatServer", "--dry-run", "--detailed-exitcode"
    )
    assert result.exit_code == 0
    assert "Nothing to change" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("app", "create", "X", "--type", "Nope"), "unknown application type 'Nope'; types: "),
        (
            ("app", "create", "X", "--type", "ChatServer", "--port", "70000"),
            "a whole number from 1 to 65535",
        ),
        (
            ("app", "create", "X", "--type", "ChatServer", "--backup", "Ghost"),
            "refers to 'Applications/Ghost'",
        ),
        (("app", "create", "X", "--type", "ChatServer", "--backup", "X"), "its own backup"),
        (("app", "create", "a/b", "--type", "ChatServer"), "invalid application name"),
        (("app", "create", "X", "--type", "ChatServer", "-t", "Nowhere"), "unknown tenant"),
        (
            ("app", "create", "X", "--type", "ChatServer", "--redundancy-type", "x"),
            "unknown redundancy type",
        ),
        (
            ("app", "create", "Existing", "--type", "ChatServer", "--port", "2"),
            "already exists in tenant 'Environment' with other settings (port is 1, given 2)",
        ),
        (("app", "show", "Ghost"), "no application 'Applications/Ghost'"),
        (("app", "delete", "Ghost"), "no application 'Applications/Ghost'"),
        (("object", "show", "Environment/Skills/none"), "no object 'Skills/none'"),
        (("object", "list", "--type", "gadget"), "unknown object type 'gadget'"),
        (("app", "create", "X", "--type", "ChatServer", "--bogus"), "No such option"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    db_url: str, args: tuple[str, ...], message: str
) -> None:
    assert (
        run_cli("app", "create", "Existing", "--type", "ChatServer", "--port", "1").exit_code == 0
    )
    before = snapshot(db_url)
    result = run_cli(*args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(db_url) == before


def test_tenant_create_is_idempotent_and_plans_like_app_create(db_url: str) -> None:
    """An existing tenant is a plan of no change (exit 0, nothing written), as app create;
    --detailed-exitcode and --json as every command that changes something."""
    new = run_cli("tenant", "create", "Acme", "--dry-run", "--detailed-exitcode", "--json")
    assert new.exit_code == 3, new.stderr
    assert new.json()["summary"] == {"create": 1, "update": 0, "delete": 0, "keep": 0}
    assert new.json()["applied"] is False
    assert run_cli("tenant", "create", "Acme", "--detailed-exitcode").exit_code == 3
    assert run_cli("tenant", "list", "--json").json() == ["Environment"]  # plan only
    created = run_cli("tenant", "create", "Acme", "--json")
    assert created.exit_code == 0, created.stderr
    assert created.json()["tenant"] == "Acme" and created.json()["applied"] is True
    assert created.json()["changes"] == [
        {"action": "create", "target": "object", "kind": "tenant", "path": "Acme"}
    ]
    before = snapshot(db_url)
    again = run_cli("tenant", "create", "Acme")
    assert again.exit_code == 0, again.stderr
    assert "0 to create, 0 to update, 0 to delete, 1 unchanged" in again.stdout
    assert run_cli("tenant", "create", "Acme", "--detailed-exitcode").exit_code == 0
    assert run_cli("tenant", "create", "Environment", "--json").json()["summary"]["keep"] == 1
    assert snapshot(db_url) == before
    [entry] = run_cli("history", "--json").json()
    assert entry["operation"] == "tenant create"
    # the same summary as every other entry's (it had only "create")
    assert entry["summary"] == {"create": 1, "update": 0, "delete": 0, "keep": 0}


def test_object_show_and_tenant_commands(db_url: str) -> None:
    assert run_cli("tenant", "create", "Acme", "--dry-run").exit_code == 0
    assert run_cli("tenant", "list", "--json").json() == ["Environment"]
    assert run_cli("tenant", "create", "Acme").exit_code == 0
    assert run_cli("tenant", "list", "--json").json() == ["Acme", "Environment"]
    run_cli("app", "create", "IXN", "--type", "InteractionServer", "-t", "Acme")
    shown = run_cli("object", "show", "Acme/Applications/IXN", "--json").json()
    assert shown["kind"] == "application" and shown["managed_by"] == []
    tenant_obj = run_cli("object", "show", "Acme", "--json").json()
    assert tenant_obj["kind"] == "tenant"
    people = run_cli("object", "list", "-t", "Acme")
    assert "Applications/IXN" in people.stdout


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.strip().startswith("gsetup ")
    helped = run_cli("--help")
    assert helped.exit_code == 0 and "app" in helped.stdout and "--dry-run" in helped.stdout
