"""The plan engine: idempotence, dry runs, ownership on upgrade and uninstall, bad states."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gsetup.configdb.database import open_database
from gsetup.errors import BadInputError
from gsetup.plan.apply import Operation, apply_state, plan_state
from gsetup.state import DesiredObject, DesiredState, Removal, options
from tests.helpers import snapshot

MEDIA = "Business Attributes/Media Type"


def _state(owner: str | None = "pkg-a", n_values: int = 3) -> DesiredState:
    state = DesiredState("Environment", owner=owner)
    state.add(
        DesiredObject(
            "business_attribute", MEDIA, {"display_name": "Media Type", "attr_type": "Media Type"}
        )
    )
    for i in range(n_values):
        state.add(
            DesiredObject(
                "attribute_value",
                f"{MEDIA}/m{i}",
                {"display_name": f"Media {i}"},
                options({"translation": {"translate-to": f"col{i}"}}),
            )
        )
    state.add(DesiredObject("capacity_rule", "Capacity Rules/Rule", {"limits": {"m0": 5, "m1": 2}}))
    state.add(DesiredObject("tenant", "", {"default_capacity_rule": "Capacity Rules/Rule"}))
    state.add(
        DesiredObject(
            "application",
            "Applications/DMS",
            {"app_type": "DigitalMessagingServer", "port": 7000},
            options({"channel-x": {"a": "1", "password": "pw-secret"}}, secret_keys=["password"]),
        )
    )
    return state


def test_apply_twice_second_plan_all_keep_and_rows_identical(db_url: str) -> None:
    db = open_database(db_url)
    state = _state()
    first = apply_state(db.engine, state, Operation("test", "tester"))
    assert first.summary() == {"create": 11, "update": 1, "delete": 0, "keep": 0}
    rows = snapshot(db_url)
    again = plan_state(db.engine, state)
    assert not again.pending
    assert {c.action for c in again.changes} == {"keep"}
    second = apply_state(db.engine, state, Operation("test", "tester"))
    assert second.summary()["keep"] == 12 and not second.pending
    # The 7 objects are listed; the 5 options already as desired are only counted.
    assert second.unchanged_options == 5 and len(second.changes) == 7
    assert not any(c.target == "option" for c in second.changes)
    assert second.to_json()["unchanged_options"] == 5
    assert snapshot(db_url) == rows
    with db.engine.connect() as conn:
        rule = conn.execute(
            text(
                "SELECT s.default_capacity_rule_id = o.id FROM tenant_settings s, cfg_object o "
                "WHERE o.path = 'Capacity Rules/Rule'"
            )
        ).scalar()
        secret = conn.execute(
            text("SELECT value, secret FROM cfg_option WHERE key = 'password'")
        ).one()
        history = conn.execute(text("SELECT count(*) FROM install_history")).scalar()
    assert rule
    assert tuple(secret) == ("pw-secret", True)
    assert history == 1  # the no-op apply recorded nothing
    with db.engine.connect() as conn:  # the lock went with each commit
        assert conn.execute(text("SELECT count(*) FROM apply_lock")).scalar() == 0


def test_dry_run_writes_nothing(db_url: str) -> None:
    db = open_database(db_url)
    before = snapshot(db_url)
    plan = plan_state(db.engine, _state())
    assert plan.pending and plan.summary()["create"] == 11
    assert snapshot(db_url) == before


def test_secrets_are_masked_in_plan_json_and_history(db_url: str) -> None:
    db = open_database(db_url)
    plan = apply_state(db.engine, _state(), Operation("test", "tester"))
    assert "pw-secret" not in str(plan.to_json())
    with db.engine.connect() as conn:
        changes = conn.execute(text("SELECT changes FROM install_history")).scalar()
    assert "pw-secret" not in str(changes) and "********" in str(changes)


def test_a_secret_stays_secret_when_a_later_state_does_not_say_so(db_url: str) -> None:
    db = open_database(db_url)
    apply_state(db.engine, _state(), Operation("install", "tester"))
    dms = "Applications/DMS"
    same = DesiredState("Environment")  # the same value, not flagged secret
    same.add(
        DesiredObject("application", dms, options=options({"channel-x": {"password": "pw-secret"}}))
    )
    plan = apply_state(db.engine, same, Operation("set", "tester"))
    assert not plan.pending
    changed = DesiredState("Environment")
    changed.add(
        DesiredObject("application", dms, options=options({"channel-x": {"password": "pw-new"}}))
    )
    plan = apply_state(db.engine, changed, Operation("set", "tester"))
    assert plan.summary()["update"] == 1
    assert "pw-new" not in str(plan.to_json()) and "pw-secret" not in str(plan.to_json())
    with db.engine.connect() as conn:
        row = conn.execute(
            text("SELECT value, secret FROM cfg_option WHERE key = 'password'")
        ).one()
    assert tuple(row) == ("pw-new", True)


def test_upgrade_deletes_only_what_the_package_dropped(db_url: str) -> None:
    db = open_database(db_url)
    apply_state(db.engine, _state(n_values=3), Operation("install", "tester"))
    # A user adds an option to a package object, a value under the package's attribute,
    # and an application of their own.
    user = DesiredState("Environment")
    user.add(
        DesiredObject("application", "Applications/DMS", options=options({"user": {"k": "v"}}))
    )
    user.add(DesiredObject("attribute_value", f"{MEDIA}/mine", {"display_name": "Mine"}))
    user.add(DesiredObject("application", "Applications/Own", {"app_type": "ChatServer"}))
    apply_state(db.engine, user, Operation("user", "someone"))

    smaller = _state(n_values=1)
    smaller.objects = [o for o in smaller.objects if o.kind != "application"]
    plan = apply_state(db.engine, smaller, Operation("upgrade", "tester"))
    deleted = {c.display_path("Environment") for c in plan.changes if c.action == "delete"}
    assert deleted == {
        f"Environment/{MEDIA}/m1",
        f"Environment/{MEDIA}/m2",
        "Environment/Applications/DMS",
    }
    with db.engine.connect() as conn:
        paths = set(conn.execute(text("SELECT path FROM cfg_object")).scalars())
    assert f"{MEDIA}/mine" in paths and "Applications/Own" in paths and MEDIA in paths
    assert "Applications/DMS" not in paths


def test_uninstall_keeps_user_objects_and_a_parent_holding_them(db_url: str) -> None:
    db = open_database(db_url)
    apply_state(db.engine, _state(), Operation("install", "tester"))
    user = DesiredState("Environment")
    user.add(DesiredObject("attribute_value", f"{MEDIA}/mine", {"display_name": "Mine"}))
    apply_state(db.engine, user, Operation("user", "someone"))

    plan = apply_state(
        db.engine, DesiredState("Environment", owner="pkg-a"), Operation("uninstall", "tester")
    )
    kept = [c for c in plan.changes if c.action == "keep" and c.path == MEDIA]
    assert kept and "did not create" in kept[0].note
    with db.engine.connect() as conn:
        paths = set(conn.execute(text("SELECT path FROM cfg_object")).scalars())
        managed = conn.execute(text("SELECT count(*) FROM managed")).scalar()
    assert paths == {"", MEDIA, f"{MEDIA}/mine"}
    assert managed == 0
    # Uninstalling again finds nothing to do.
    assert not plan_state(db.engine, DesiredState("Environment", owner="pkg-a")).pending


def test_shared_object_survives_until_last_package_goes(db_url: str) -> None:
    db = open_database(db_url)
    apply_state(db.engine, _state("pkg-a"), Operation("install", "tester"))
    apply_state(db.engine, _state("pkg-b"), Operation("install", "tester"))
    apply_state(db.engine, DesiredState("Environment", owner="pkg-a"), Operation("rm", "t"))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cfg_object")).scalar() == 7
        owners = set(conn.execute(text("SELECT DISTINCT package FROM managed")).scalars())
    assert owners == {"pkg-b"}
    apply_state(db.engine, DesiredState("Environment", owner="pkg-b"), Operation("rm", "t"))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cfg_object")).scalar() == 1


def test_keep_existing_option_is_not_overwritten(db_url: str) -> None:
    db = open_database(db_url)
    state = DesiredState("Environment")
    state.add(
        DesiredObject(
            "application",
            "Applications/A",
            {"app_type": "ChatServer"},
            options({"s": {"k": "mine"}}),
        )
    )
    apply_state(db.engine, state, Operation("t", "t"))
    soft = DesiredState("Environment")
    soft.add(
        DesiredObject(
            "application",
            "Applications/A",
            {},
            options({"s": {"k": "theirs", "new": "x"}}, overwrite=False),
        )
    )
    plan = apply_state(db.engine, soft, Operation("t", "t"))
    kept = next(c for c in plan.changes if c.option == ("s", "k"))
    assert kept.action == "keep" and "'theirs'" in kept.note
    with db.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT key, value FROM cfg_option")).all())
    assert rows == {"k": "mine", "new": "x"}


def test_explicit_removal_of_an_option(db_url: str) -> None:
    db = open_database(db_url)
    apply_state(db.engine, _state(None), Operation("t", "t"))
    removal = DesiredState(
        "Environment",
        removals=[
            Removal("application", "Applications/DMS", ("channel-x", "a")),
            Removal("application", "Applications/Missing"),
        ],
    )
    plan = apply_state(db.engine, removal, Operation("t", "t"))
    assert plan.summary()["delete"] == 1
    assert not plan_state(db.engine, removal).pending


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (DesiredObject("widget", "Widgets/x", {"colour": "red"}), "unknown object type 'widget'"),
        (
            DesiredObject("application", "Apps/x", {"app_type": "ChatServer"}),
            "use Applications/<name>",
        ),
        (
            DesiredObject("application", "Applications/x", {"colour": "red"}),
            "unknown field(s) colour",
        ),
        (
            DesiredObject("application", "Applications/x", {"port": "80"}),
            "port must be a whole number or nothing (null), not '80'",
        ),
        (
            DesiredObject("application", "Applications/x", {"backup": "Applications/nope"}),
            "refers to 'Applications/nope'",
        ),
        (DesiredObject("attribute_value", "Business Attributes/Nope/v"), "is missing"),
    ],
)
def test_bad_desired_state_is_refused_and_nothing_written(
    db_url: str, obj: DesiredObject, message: str
) -> None:
    db = open_database(db_url)
    before = snapshot(db_url)
    with pytest.raises(BadInputError) as info:
        apply_state(db.engine, DesiredState("Environment", [obj]), Operation("t", "t"))
    assert message in str(info.value)
    assert snapshot(db_url) == before
    with db.engine.connect() as conn:  # a refused apply lets its lock go
        assert conn.execute(text("SELECT count(*) FROM apply_lock")).scalar() == 0


def test_history_changes_read_back_as_the_plan_showed_them(db_url: str) -> None:
    from gsetup.commands.history import list_history
    from gsetup.context import connect

    db = open_database(db_url)
    plan = apply_state(db.engine, _state(), Operation("test", "tester"))
    (entry,) = list_history(connect(db_url), with_changes=True)
    assert entry["changes"] == [c.to_json("Environment") for c in plan.changes]
    assert "pw-secret" not in str(entry)
