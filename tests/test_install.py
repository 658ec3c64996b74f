"""``gsetup install``/``uninstall``/``list`` from answer files, against real databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from gsetup.fileio import CRASH_AT_ENV
from gsetup.packages import Answers, catalogue, desired_state
from tests.helpers import CliResult, run_cli, snapshot

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PACKAGES = [p.name for p in catalogue()]


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def _objects(url: str) -> dict[str, str]:
    return dict(_rows(url, "SELECT path, kind FROM cfg_object WHERE path <> ''"))


def _user_annex(url: str, key: str) -> None:
    """A user's own annex option on a value the Facebook packages created."""
    from gsetup.configdb.database import open_database
    from gsetup.plan.apply import Operation, apply_state
    from gsetup.state import DesiredObject, DesiredState, options

    state = DesiredState("Environment")
    state.add(
        DesiredObject(
            "attribute_value",
            "Business Attributes/Media Type/facebook",
            options=options({"custom": {key: "yes"}}),
        )
    )
    apply_state(open_database(url).engine, state, Operation("user edit", "someone"))


def _install(package: str, *extra: str) -> None:
    example = EXAMPLES / f"{package}.yaml"
    result = run_cli("install", package, "--answers", str(example), "--yes", *extra)
    assert result.exit_code == 0, result.stderr


def _home(package: str) -> Path:
    """Where an example installs: the default install home, in the test's data directory."""
    return Path(os.environ["XDG_DATA_HOME"]) / "gsetup" / "installs" / "Environment" / package


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a scratch directory: nothing an install writes may land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("package", PACKAGES)
def test_install_each_package_from_its_example(db_url: str, workdir: Path, package: str) -> None:
    for required in next(p for p in catalogue() if p.name == package).requires:
        _install(required)
    before = _objects(db_url)
    _install(package)
    created = {path: kind for path, kind in _objects(db_url).items() if path not in before}

    answers = Answers("Environment", False, str(_home(package) / "Strategies"))
    desired = {o.path: o.kind for o in desired_state(package, answers).objects if o.path}
    assert set(created) <= set(desired)
    assert {p: k for p, k in desired.items() if p not in before} == created

    # Names, display names and types as the guide lists them (spot checks per family).
    values = dict(
        _rows(
            db_url,
            "SELECT o.path, v.display_name FROM attribute_value v JOIN cfg_object o ON o.id = v.id",
        )
    )
    if package in ("facebook-bp", "twitter-bp"):
        assert values["Business Attributes/ContactAttributes/_umsMediaAccount"]
    if package in ("facebook-bp", "twitter-bp", "rss-bp"):
        assert values["Business Attributes/Language/English_Sentiment"] == (
            "English for Sentiment Analysis"
        )
        rules = _rows(db_url, "SELECT path FROM cfg_object WHERE kind = 'capacity_rule'")
        assert rules == [("Capacity Rules/Default_Social_Media_Capacity_rule",)]
    if package == "facebook-bp":
        assert {
            "Business Attributes/Media Type/facebook",
            "Business Attributes/Media Type/facebookprivatemessage",
            "Business Attributes/Media Type/facebooksession",
        } <= set(values)
        assert values["Business Attributes/ContactAttributes/_facebookActorId"] == (
            "Facebook Actor ID"
        )
        counts = dict(
            _rows(db_url, "SELECT subroutine, count(*) FROM strategy GROUP BY subroutine")
        )
        assert {bool(k): v for k, v in counts.items()} == {False: 8, True: 4}
        assert len(_rows(db_url, "SELECT id FROM interaction_queue")) == 9
    if package == "twitter-bp-tr":
        counts = dict(
            _rows(db_url, "SELECT subroutine, count(*) FROM strategy GROUP BY subroutine")
        )
        assert {bool(k): v for k, v in counts.items()} == {False: 10, True: 4}
        assert "Interaction Queues/Twitter TR Inbound Queue" in created
    if package.startswith("twitter-bp") and package != "twitter-bp-iwd":
        assert values["Business Attributes/Media Type/twitterdirect"]

    # Every custom property's annex names the Interaction Server column it fills.
    translations = _rows(
        db_url,
        "SELECT o.name, p.value FROM cfg_option p JOIN cfg_object o "
        "ON o.id = p.object_id WHERE p.section = 'translation'",
    )
    from gsetup.columns import SCRIPT_PAIRS

    columns = {c.property: c.name for pair in SCRIPT_PAIRS for c in pair.columns}
    assert all(columns[name] == column for name, column in translations)
    assert bool(translations) == (package != "rss-bp")  # RSS adds no custom property

    strategy_dir = _home(package) / "Strategies"
    files = _rows(
        db_url,
        "SELECT file FROM strategy s JOIN cfg_object o ON o.id = s.id "
        f"JOIN business_process b ON b.id = s.business_process_id "
        f"WHERE b.package = '{package}'",
    )
    assert files and all((strategy_dir / f).is_file() for (f,) in files)
    scripts = _home(package) / "Scripts"
    expected_scripts = {
        pair.alter for pair in next(p for p in catalogue() if p.name == package).script_pairs
    }
    placed = {p.name for p in (scripts / "MSSQL").iterdir()} if expected_scripts else set()
    assert expected_scripts <= placed
    if package != "rss-bp":
        # The guide ships the iWD pair with every Facebook and Twitter BP, checkbox or not.
        for dbms in ("MSSQL", "Oracle", "DB2"):
            assert {
                "CleanUpTableInteractionsForIWDIntegration851.sql",
                "AlterTableInteractionsForIWDIntegration851.sql",
            } <= {p.name for p in (scripts / dbms).iterdir()}
    if package.endswith("-iwd"):
        assert created["Interaction Queues/Standard Genesys to iWD Adapter Queue"] == "queue"

    # The second install plans nothing and changes no row.
    rows = snapshot(db_url)
    again = run_cli(
        "install",
        package,
        "--answers",
        str(EXAMPLES / f"{package}.yaml"),
        "--yes",
        "--dry-run",
        "--detailed-exitcode",
    )
    assert again.exit_code == 0, again.stdout + again.stderr
    _install(package)
    assert snapshot(db_url) == rows


def test_upgrade_with_changed_answers_and_a_new_version(db_url: str, workdir: Path) -> None:
    import importlib
    from dataclasses import replace

    cat = importlib.import_module("gsetup.packages.catalogue")
    current = {p.name: p for p in cat.catalogue()}
    older = replace(current["facebook-bp"], version="8.5.000.00")

    def get_older(name: str) -> object:
        return older if name == "facebook-bp" else current[name]

    patched = ("gsetup.packages", "gsetup.packages.desired", "gsetup.commands.install")
    for where in patched:  # imported first: one imported under the patch would keep get_older
        importlib.import_module(where)
    with pytest.MonkeyPatch.context() as mp:  # the previous release of the package
        for where in patched:
            mp.setattr(f"{where}.get_package", get_older)
        _install("facebook-bp")
    assert _rows(db_url, "SELECT version FROM business_process") == [("8.5.000.00",)]
    # A user adds an option on a package object and an application of their own.
    _user_annex(db_url, "added-by-user")
    assert run_cli("app", "create", "DMS", "--type", "DigitalMessagingServer").exit_code == 0

    plan = run_cli(
        "install",
        "facebook-bp",
        "--answers",
        str(EXAMPLES / "facebook-bp.yaml"),
        "--set",
        "iwd_custom_properties=true",
        "--set",
        "strategy_dir=v2",
        "--yes",
        "--json",
    )
    assert plan.exit_code == 0, plan.stderr
    changes = plan.json()["changes"]
    actions = {(c["action"], c["path"]) for c in changes}
    bp = "Environment/Business Processes/Facebook BP"
    assert ("delete", bp) in actions and ("create", bp) in actions
    deactivated = [
        c for c in changes if c["action"] == "update" and c.get("after") == {"active": False}
    ]
    assert len(deactivated) == 8
    assert (
        "create",
        "Environment/Business Attributes/InteractionCustomProperties/desktop_sentiment",
    ) in actions
    version = _rows(db_url, "SELECT version, strategy_dir FROM business_process")
    assert version == [("8.5.100.00", str(workdir / "v2"))]
    assert (workdir / "v2" / "facebook-inbound-strategy.yaml").is_file()
    assert not (_home("facebook-bp") / "Strategies").exists()
    user_option = _rows(db_url, "SELECT value FROM cfg_option WHERE key = 'added-by-user'")
    assert user_option == [("yes",)]
    assert "Applications/DMS" in _objects(db_url)
    history = run_cli("history", "--json").json()
    assert history[0]["package"] == "facebook-bp" and history[0]["version"] == "8.5.100.00"
    assert history[0]["answers"]["iwd_custom_properties"] is True


def test_uninstall_keeps_user_objects_and_shared_objects(db_url: str, workdir: Path) -> None:
    _install("facebook-bp")
    _install("twitter-bp")
    _user_annex(db_url, "k")
    added = run_cli("app", "create", "IXN", "--type", "InteractionServer")
    assert added.exit_code == 0

    removed = run_cli("uninstall", "--yes", "facebook-bp")
    assert removed.exit_code == 0, removed.stderr
    objects = _objects(db_url)
    assert "Business Processes/Facebook BP" not in objects
    assert "Business Attributes/Media Type/facebook" not in objects
    # Shared with twitter-bp: still there, now managed by twitter-bp alone.
    assert "Business Attributes/ContactAttributes/_umsMediaAccount" in objects
    assert "Capacity Rules/Default_Social_Media_Capacity_rule" in objects
    assert "Applications/IXN" in objects
    assert not (_home("facebook-bp") / "Strategies").exists()
    assert not (_home("facebook-bp") / "Scripts").exists()

    assert run_cli("uninstall", "--yes", "twitter-bp").exit_code == 0
    assert set(_objects(db_url)) == {"Applications/IXN"}
    again = run_cli("uninstall", "--yes", "twitter-bp")
    assert again.exit_code == 2 and "is not installed" in again.stderr


def test_uninstall_keeps_a_strategy_file_edited_by_hand(db_url: str, workdir: Path) -> None:
    _install("rss-bp")
    strategies = _home("rss-bp") / "Strategies"
    edited = sorted(strategies.iterdir())[0]
    edited.write_text(edited.read_text() + "# reviewed\n")
    result = run_cli("uninstall", "--yes", "rss-bp")
    assert result.exit_code == 0
    assert [p.name for p in strategies.iterdir()] == [edited.name]
    assert "changed by hand were kept" in result.stdout


def test_edited_strategy_file_is_backed_up_on_reinstall(db_url: str, workdir: Path) -> None:
    _install("twitter-bp")
    strategies = _home("twitter-bp") / "Strategies"
    target = strategies / "twitter-inbound-strategy.yaml"
    original = target.read_text()
    target.write_text(original + "# tuned by ops\n")
    (strategies / "notes.txt").write_text("mine")
    dry = run_cli(
        "install",
        "twitter-bp",
        "--answers",
        str(EXAMPLES / "twitter-bp.yaml"),
        "--yes",
        "--dry-run",
        "--json",
    ).json()
    noted = {c["path"]: c.get("note", "") for c in dry["changes"] if c["target"] == "file"}
    assert "changed since gsetup wrote it" in noted[str(target)]
    assert "changed since gsetup wrote it" in noted[str(strategies / "notes.txt")]
    result = run_cli(
        "install", "twitter-bp", "--answers", str(EXAMPLES / "twitter-bp.yaml"), "--yes", "--json"
    )
    backup = Path(result.json()["backup"])
    assert (backup / "twitter-inbound-strategy.yaml").read_text().endswith("# tuned by ops\n")
    assert (backup / "notes.txt").read_text() == "mine"
    assert target.read_text() == original
    assert not (strategies / "notes.txt").exists()


def test_list_shows_where_packages_are_installed(db_url: str, workdir: Path) -> None:
    _install("rss-bp")
    listed = {p["name"]: p for p in run_cli("list", "--json").json()}
    assert set(listed) == set(PACKAGES)
    assert listed["facebook-bp-iwd"]["requires"] == ["facebook-bp"]
    (where,) = listed["rss-bp"]["installed"]
    assert where["tenant"] == "Environment" and where["version"] == listed["rss-bp"]["version"]
    assert where["installed_at"]
    assert where["install_home"] == str(_home("rss-bp"))
    assert where["strategy_dir"] == str(_home("rss-bp") / "Strategies")
    assert listed["twitter-bp"]["installed"] == []
    table = run_cli("list").stdout
    assert str(_home("rss-bp")) in "".join(table.split())  # folded at the width, not cut


def test_list_shows_a_strategy_directory_outside_the_install_home(
    db_url: str, workdir: Path
) -> None:
    strategies = workdir / "strategies-of-rss"
    _install("rss-bp", "--set", f"strategy_dir={strategies}")
    (where,) = next(p for p in run_cli("list", "--json").json() if p["name"] == "rss-bp")[
        "installed"
    ]
    assert where["strategy_dir"] == str(strategies)
    table = "".join(run_cli("list").stdout.split())
    assert str(_home("rss-bp")) in table and str(strategies) in table


def test_silent_ini_answers(db_url: str, workdir: Path) -> None:
    result = run_cli(
        "install",
        "twitter-bp",
        "--answers",
        str(EXAMPLES / "genesys_silent.ini"),
        "--set",
        "tenant=Environment",
        "--yes",
    )
    assert result.exit_code == 0, result.stderr
    assert (workdir / "gsetup-work" / "silent" / "Strategies").is_dir()
    assert (workdir / "gsetup-work" / "silent" / "Scripts" / "Oracle").is_dir()


def test_next_steps_name_the_scripts_and_options(db_url: str, workdir: Path) -> None:
    result = run_cli(
        "install",
        "facebook-bp-single-comment",
        "--answers",
        str(EXAMPLES / "facebook-bp-single-comment.yaml"),
        "--yes",
    )
    assert "CleanUpTableInteractionsForFacebook851.sql" in result.stdout
    assert "x-submit-comments-itx must be true" in result.stdout
    plain = run_cli(
        "install", "facebook-bp", "--answers", str(EXAMPLES / "facebook-bp.yaml"), "--yes"
    )
    assert "x-submit-comments-itx must be false" in plain.stdout
    assert "settings/delay-updates to false" in plain.stdout


def test_rerun_from_another_directory_reuses_the_tenants_recorded_answers(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    assert run_cli("tenant", "create", "Acme").exit_code == 0
    monkeypatch.chdir(first)
    done = run_cli("install", "rss-bp", "--tenant", "Acme", "--set", "install_home=rel", "--yes")
    assert done.exit_code == 0, done.stderr
    assert (first / "rel" / "Strategies").is_dir()  # stored absolute: first/rel

    monkeypatch.chdir(second)
    again = run_cli("install", "rss-bp", "--yes", "--json")  # the one tenant that has it
    assert again.exit_code == 0, again.stderr
    assert again.json()["tenant"] == "Acme"
    assert again.json()["summary"]["create"] == again.json()["summary"]["delete"] == 0
    assert not (second / "rel").exists()
    (where,) = next(p for p in run_cli("list", "--json").json() if p["name"] == "rss-bp")[
        "installed"
    ]
    assert where["tenant"] == "Acme"


def test_the_iwd_adapter_queue_stays_until_the_last_iwd_package_goes(
    db_url: str, workdir: Path
) -> None:
    queue = "Interaction Queues/Standard Genesys to iWD Adapter Queue"
    for package in ("facebook-bp", "twitter-bp", "facebook-bp-iwd", "twitter-bp-iwd"):
        _install(package)
    managers = _rows(
        db_url,
        "SELECT m.package FROM managed m JOIN cfg_object o ON o.id = m.object_id "
        f"WHERE o.path = '{queue}' ORDER BY m.package",
    )
    assert managers == [("facebook-bp-iwd",), ("twitter-bp-iwd",)]
    assert run_cli("uninstall", "facebook-bp-iwd", "--yes").exit_code == 0
    assert queue in _objects(db_url)
    assert run_cli("uninstall", "twitter-bp-iwd", "--yes").exit_code == 0
    assert queue not in _objects(db_url)


def _placed(home: Path) -> set[str]:
    """The files under the home's Scripts/ and Rules/ directories."""
    return {str(p) for d in ("Scripts", "Rules") for p in (home / d).rglob("*") if p.is_file()}


def _home_changes(result_stdout: str, *homes: Path) -> dict[str, str]:
    """The plan's file changes under the homes' Scripts/ and Rules/: path -> action."""
    import json

    roots = tuple(str(home / d) + os.sep for home in homes for d in ("Scripts", "Rules"))
    changes = json.loads(result_stdout)["changes"]
    return {c["path"]: c["action"] for c in changes if c["path"].startswith(roots)}


def _install_at(home: Path, *extra: str, package: str = "facebook-bp") -> CliResult:
    return run_cli(
        "install",
        package,
        "--answers",
        str(EXAMPLES / f"{package}.yaml"),
        "--set",
        f"install_home={home}",
        "--json",
        *extra,
    )


def test_the_plan_lists_the_install_homes_scripts_and_rule_files(
    db_url: str, workdir: Path
) -> None:
    h1, h2 = workdir / "h1", workdir / "h2"
    dry = _install_at(h1, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    planned = _home_changes(dry.stdout, h1)
    assert not h1.exists()  # a dry run writes nothing
    # The Facebook pair and the iWD one (the guide ships it too), for each RDBMS; the rules.
    pairs = ("Facebook851", "IWDIntegration851")
    assert planned.keys() == {
        *(
            str(h1 / "Scripts" / dbms / f"{step}TableInteractionsFor{pair}.sql")
            for dbms in ("MSSQL", "Oracle", "DB2", "PostgreSQL", "SQLite")
            for step in ("CleanUp", "Alter")
            for pair in pairs
        ),
        *(
            str(h1 / "Rules" / f"{n}.yaml")
            for n in ("actionability", "english-sentiment", "screening")
        ),
    }
    assert set(planned.values()) == {"create"}

    applied = _install_at(h1, "--yes")
    assert applied.exit_code == 0, applied.stderr
    assert _home_changes(applied.stdout, h1) == planned
    assert _placed(h1) == set(planned)

    again = _install_at(h1, "--dry-run", "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout
    assert set(_home_changes(again.stdout, h1).values()) == {"keep"}

    # Only a home file differs: the plan says so, and --detailed-exitcode exits 3.
    missing = h1 / "Scripts" / "SQLite" / "AlterTableInteractionsForFacebook851.sql"
    missing.unlink()
    edited = h1 / "Scripts" / "MSSQL" / "AlterTableInteractionsForFacebook851.sql"
    edited.write_text("-- edited\n")
    drift = _install_at(h1, "--dry-run", "--detailed-exitcode")
    assert drift.exit_code == 3, drift.stderr
    changed = {p: a for p, a in _home_changes(drift.stdout, h1).items() if a != "keep"}
    assert changed == {str(missing): "create", str(edited): "update"}
    assert _install_at(h1, "--yes").exit_code == 0
    assert _placed(h1) == set(planned)

    # A move to another home: the new one's files created, the old one's removed (a rule file
    # edited by hand stays), shown in the plan and done by the apply.
    rule = h1 / "Rules" / "screening.yaml"
    rule.write_text(rule.read_text() + "# tuned\n")
    moved = {p.replace(str(h1), str(h2)): "create" for p in planned}
    removed = {p: "delete" for p in planned if p != str(rule)}
    dry = _install_at(h2, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert _home_changes(dry.stdout, h1, h2) == {**moved, **removed, str(rule): "keep"}
    assert not h2.exists()
    applied = _install_at(h2, "--yes")
    assert applied.exit_code == 0, applied.stderr
    assert _home_changes(applied.stdout, h1, h2) == {**moved, **removed, str(rule): "keep"}
    assert _placed(h2) == set(moved)
    assert _placed(h1) == {str(rule)}
    assert not (h1 / "Scripts").exists()


def test_uninstall_plan_lists_the_install_homes_files_it_removes(
    db_url: str, workdir: Path
) -> None:
    home = workdir / "fb-home"
    assert _install_at(home, "--yes").exit_code == 0
    placed = _placed(home)
    dry = run_cli("uninstall", "facebook-bp", "--dry-run", "--json", "--detailed-exitcode")
    assert dry.exit_code == 3, dry.stderr
    assert _home_changes(dry.stdout, home) == dict.fromkeys(placed, "delete")
    assert _placed(home) == placed
    done = run_cli("uninstall", "facebook-bp", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    assert _home_changes(done.stdout, home) == dict.fromkeys(placed, "delete")
    assert _placed(home) == set()
    assert not (home / "Scripts").exists() and not (home / "Rules").exists()
    # The install made the home: emptied, it goes too; the work directory stays.
    assert not home.exists() and workdir.is_dir()


def test_uninstall_and_moves_remove_only_the_directories_gsetup_made(
    db_url: str, workdir: Path
) -> None:
    made = workdir / "made" / "deep" / "home"
    assert _install_at(made, "--yes").exit_code == 0
    # A move: the old home and the parents the install made go once empty.
    mine = workdir / "mine"
    mine.mkdir()
    moved = _install_at(mine, "--yes")
    assert moved.exit_code == 0, moved.stderr
    assert not (workdir / "made").exists()
    # The user made this home: uninstall empties it and leaves it.
    gone = run_cli("uninstall", "facebook-bp", "--yes")
    assert gone.exit_code == 0, gone.stderr
    assert mine.is_dir() and not any(mine.iterdir())
    # Two homes under one parent the first install made: the parent stays while the other
    # holds files, and goes with the last one.
    parent = workdir / "homes"
    assert _install_at(parent / "fb", "--yes").exit_code == 0
    twitter = _install_at(parent / "tw", "--yes", package="twitter-bp")
    assert twitter.exit_code == 0, twitter.stderr
    assert run_cli("uninstall", "facebook-bp", "--yes").exit_code == 0
    assert not (parent / "fb").exists() and (parent / "tw").is_dir()
    assert run_cli("uninstall", "twitter-bp", "--yes").exit_code == 0
    assert not parent.exists()
    # A file the user left in a made directory keeps it.
    assert _install_at(made, "--yes").exit_code == 0
    (made.parent / "notes.txt").write_text("mine\n")
    assert run_cli("uninstall", "facebook-bp", "--yes").exit_code == 0
    assert not made.exists() and (made.parent / "notes.txt").is_file()
    assert sorted(p.name for p in (workdir / "made").rglob("*")) == ["deep", "notes.txt"]


def test_an_install_killed_before_its_commit_leaves_no_directory_behind(
    db_url: str, workdir: Path
) -> None:
    """The next run that changes the tenant undoes its staged files, and the directories
    staging made for them (the new home, its Rules/, Scripts/<RDBMS>/...)."""
    home = workdir / "new" / "home"
    env = {**os.environ, CRASH_AT_ENV: "stage-file"}
    killed = subprocess.run(
        [sys.executable, "-m", "gsetup", "install", "facebook-bp", "--answers",
         str(EXAMPLES / "facebook-bp.yaml"), "--set", f"install_home={home}", "--yes"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (home / "Strategies").parent.is_dir()  # staged in it
    assert run_cli("app", "create", "Chat_9", "--type", "ChatServer").exit_code == 0
    assert not (workdir / "new").exists()
    assert _objects(db_url).get("Business Processes/Facebook BP") is None


def _contents(home: Path) -> dict[str, bytes]:
    """The bytes of each file under the home's Scripts/ and Rules/."""
    return {path: Path(path).read_bytes() for path in _placed(home)}


def _planned(result: CliResult, home: Path, action: str) -> set[str]:
    assert result.exit_code == 0, result.stderr
    return {p for p, a in _home_changes(result.stdout, home).items() if a == action}


def test_uninstalling_one_of_two_packages_of_a_shared_home_keeps_the_others_files(
    db_url: str, workdir: Path
) -> None:
    home = workdir / "shared"
    facebook = _install_at(home, "--yes")
    assert facebook.exit_code == 0, facebook.stderr
    # Each its own strategy directory: the Strategies/ of a home is one package's. The
    # default one, or one holding it, would replace facebook-bp's strategy files: refused.

    def tree() -> dict[Path, bytes]:
        return {f: f.read_bytes() for f in workdir.rglob("*") if f.is_file()}

    before, files = snapshot(db_url), tree()
    # Named as given: the default by its key, a --set answer as such.
    for extra, named in (
        ((), "strategy_dir"),
        (("--set", f"strategy_dir={home}"), "--set: key 'strategy_dir'"),
    ):
        refused = _install_at(home, "--yes", *extra, package="twitter-bp")
        assert refused.exit_code == 2, refused.stdout
        assert refused.stderr.startswith(f"gsetup: error: {named}: ")
        assert refused.stderr.endswith(
            f"would replace the strategy files of facebook-bp in {home / 'Strategies'}: give "
            "twitter-bp a strategy directory of its own\n"
        )
    assert snapshot(db_url) == before and tree() == files  # no Strategies.backup-* either
    twitter = _install_at(
        home, "--yes", "--set", f"strategy_dir={workdir / 'tw'}", package="twitter-bp"
    )
    assert twitter.exit_code == 0, twitter.stderr
    # Both place the iWD pair and the rules; each its own pair besides.
    facebooks = set(_home_changes(facebook.stdout, home))
    twitters = set(_home_changes(twitter.stdout, home))
    shared = facebooks & twitters
    assert any("IWDIntegration" in p for p in shared) and any("Rules" in p for p in shared)
    before = _contents(home)

    dry = run_cli("uninstall", "facebook-bp", "--dry-run", "--json")
    assert _planned(dry, home, "delete") == facebooks - twitters
    assert _planned(dry, home, "keep") == shared
    notes = {c.get("note") for c in dry.json()["changes"] if c["path"] in shared}
    assert notes == {"also placed by twitter-bp: left in place"}
    done = run_cli("uninstall", "facebook-bp", "--yes", "--json")
    assert _planned(done, home, "delete") == facebooks - twitters
    assert _contents(home) == {p: before[p] for p in twitters}

    last = run_cli("uninstall", "twitter-bp", "--yes", "--json")
    assert _planned(last, home, "delete") == twitters
    assert _placed(home) == set()
    assert not (home / "Scripts").exists() and not (home / "Rules").exists()


def test_a_strategy_dir_holding_an_install_homes_scripts_and_rules_is_refused(
    db_url: str, workdir: Path
) -> None:
    """The strategy directory is replaced as a whole: one that is or holds an install home,
    or lies in its ``Scripts/`` or ``Rules/``, would take that home's scripts and rule files
    (another package's to a backup; the package's own were written, then replaced)."""
    home = workdir / "srv" / "shared"
    assert _install_at(home, "--yes", "--set", f"strategy_dir={workdir / 'fb'}").exit_code == 0
    own = workdir / "own"
    answers = workdir / "own.yaml"
    answers.write_text(f"tenant: Environment\ninstall_home: {own}\nstrategy_dir: {own}\n")

    def tree() -> dict[Path, bytes]:
        return {f: f.read_bytes() for f in workdir.rglob("*") if f.is_file()}

    before, files = snapshot(db_url), tree()
    for directory in (home, home.parent, home / "Rules", home / "Scripts" / "SQLite"):
        refused = run_cli(
            "install", "rss-bp", "--tenant", "Environment", "--set",
            f"strategy_dir={directory}", "--yes",
        )  # fmt: skip
        assert refused.exit_code == 2, refused.stdout
        assert refused.stderr == (
            f"gsetup: error: --set: key 'strategy_dir': {directory} would replace the scripts "
            f"and rule files of facebook-bp in {home}: give rss-bp a strategy directory of its "
            "own\n"
        )
    refused = run_cli("install", "twitter-bp", "--answers", str(answers), "--yes")
    assert refused.exit_code == 2, refused.stdout
    assert refused.stderr == (
        f"gsetup: error: {answers}: key 'strategy_dir': {own} would replace the scripts and "
        f"rule files of twitter-bp in {own}: give twitter-bp a strategy directory of its own\n"
    )
    assert snapshot(db_url) == before and tree() == files  # no backup either


def test_an_install_home_in_another_packages_strategy_dir_is_refused(
    db_url: str, workdir: Path
) -> None:
    """An install home in another package's strategy directory put its scripts and rule
    files where that package's next install replaces them (it was then refused)."""
    theirs = workdir / "fb"
    installed = _install_at(workdir / "fb-home", "--yes", "--set", f"strategy_dir={theirs}")
    assert installed.exit_code == 0, installed.stderr
    before = snapshot(db_url)

    def install_rss(home: Path) -> CliResult:
        return run_cli(
            "install", "rss-bp", "--tenant", "Environment", "--set", f"install_home={home}",
            "--set", f"strategy_dir={workdir / 'rss'}", "--yes",
        )  # fmt: skip

    for home in (theirs, theirs / "rss"):
        refused = install_rss(home)
        assert refused.exit_code == 2, refused.stdout
        assert refused.stderr == (
            f"gsetup: error: --set: key 'install_home': {home} would put the scripts and rule "
            f"files of rss-bp in the strategy directory of facebook-bp in {theirs}: give rss-bp "
            "an install home of its own\n"
        )
        assert not (workdir / "rss").exists() and not (theirs / "rss").exists()
    answers = workdir / "rss.yaml"
    answers.write_text(f"tenant: Environment\ninstall_home: {theirs}\nstrategy_dir: rss\n")
    refused = run_cli("install", "rss-bp", "--answers", str(answers), "--yes")
    assert refused.exit_code == 2, refused.stdout
    assert refused.stderr.startswith(f"gsetup: error: {answers}: key 'install_home': {theirs} ")
    assert snapshot(db_url) == before
    beside = install_rss(workdir)
    assert beside.exit_code == 0, beside.stderr
    assert run_cli("install", "facebook-bp", "--yes").exit_code == 0  # re-run: not wedged


def test_the_default_strategy_dir_follows_a_new_install_home(db_url: str, workdir: Path) -> None:
    """A strategy directory left to its default (``<install_home>/Strategies``) moves with
    ``install_home`` on a re-run that gives only the new home (the recorded answers held the
    old home's path, so the strategies stayed there); an explicit one stays where it is."""
    import json

    old, new = workdir / "old", workdir / "new"
    assert _install_at(old, "--yes").exit_code == 0
    files = sorted(p.name for p in (old / "Strategies").iterdir())
    moved = run_cli("install", "facebook-bp", "--set", f"install_home={new}", "--yes", "--json")
    assert moved.exit_code == 0, moved.stderr
    changes = {(c["action"], c["path"]) for c in json.loads(moved.stdout)["changes"]}
    for name in files:
        assert ("create", str(new / "Strategies" / name)) in changes
        assert ("delete", str(old / "Strategies" / name)) in changes
    assert sorted(p.name for p in (new / "Strategies").iterdir()) == files
    assert not (old / "Strategies").exists()
    again = run_cli("install", "facebook-bp", "--yes", "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout  # nothing left to change

    mine = workdir / "mine"
    given = ("--set", f"strategy_dir={mine}")
    assert run_cli("install", "facebook-bp", *given, "--yes").exit_code == 0
    assert run_cli("install", "facebook-bp", "--set", f"install_home={old}", "--yes").exit_code == 0
    assert sorted(p.name for p in mine.iterdir()) == files  # given: it stays
    assert not (old / "Strategies").exists()


def test_saved_answers_leave_a_default_strategy_dir_to_follow_install_home(
    db_url: str, workdir: Path
) -> None:
    """``--save-answers`` wrote the default strategy directory as a path, so replaying the
    file with another install home left the strategies in the old one: it is left out."""
    import json

    from ruamel.yaml import YAML

    old, new, saved = workdir / "old", workdir / "new", workdir / "saved.yaml"
    assert _install_at(old, "--yes", "--save-answers", str(saved)).exit_code == 0
    written = YAML(typ="safe").load(saved.read_text())
    assert written["install_home"] == str(old) and "strategy_dir" not in written
    files = sorted(p.name for p in (old / "Strategies").iterdir())

    replay = run_cli(
        "install", "facebook-bp", "--answers", str(saved), "--set", f"install_home={new}",
        "--yes",
    )  # fmt: skip
    assert replay.exit_code == 0, replay.stderr
    assert sorted(p.name for p in (new / "Strategies").iterdir()) == files
    assert not (old / "Strategies").exists()
    ((answers, changes),) = _rows(
        db_url, "SELECT answers, changes FROM install_history ORDER BY id DESC LIMIT 1"
    )
    answers, changes = (json.loads(v) if isinstance(v, str) else v for v in (answers, changes))
    assert answers["install_home"] == str(new) and "strategy_dir" not in answers
    bp = next(c for c in changes if isinstance(c, dict) and c["kind"] == "business_process")
    assert (bp["before"], bp["after"]) == (
        {"strategy_dir": str(old / "Strategies")},
        {"strategy_dir": str(new / "Strategies")},
    )


def test_a_move_keeps_the_old_homes_files_another_tenant_still_uses(
    db_url: str, workdir: Path
) -> None:
    old, new = workdir / "old", workdir / "new"
    assert run_cli("tenant", "create", "Acme").exit_code == 0
    assert _install_at(old, "--yes").exit_code == 0
    acme = ("--set", "tenant=Acme", "--set", f"strategy_dir={workdir / 'acme'}")
    assert _install_at(old, "--yes", *acme).exit_code == 0
    before = _contents(old)

    moved = _install_at(new, "--yes")  # Environment's facebook-bp; Acme's stays in old
    assert _planned(moved, old, "delete") == set()
    assert _planned(moved, old, "keep") == set(before)
    notes = {c.get("note") for c in moved.json()["changes"] if c["path"] in before}
    assert notes == {"also placed by facebook-bp (tenant Acme): left in place"}
    assert _contents(old) == before
    assert _placed(new) == {p.replace(str(old), str(new)) for p in before}

    gone = run_cli("uninstall", "facebook-bp", "--tenant", "Acme", "--yes", "--json")
    assert _planned(gone, old, "delete") == set(before)
    assert _placed(old) == set()
    assert not old.exists()  # the last installation of the home the first install made
    assert _placed(new) == {p.replace(str(old), str(new)) for p in before}


def _file_changes(changes: list[dict[str, object]]) -> set[tuple[object, object]]:
    """The (action, path) of the file changes that did something."""
    return {
        (c["action"], c["path"]) for c in changes if c["target"] == "file" and c["action"] != "keep"
    }


def test_the_history_records_the_file_changes_the_plan_showed(db_url: str, workdir: Path) -> None:
    """The strategy, script and rule files an install or uninstall writes, moves or deletes
    were added to the plan after the history row was written: the row lacked them."""
    old, new = workdir / "old", workdir / "new"

    def recorded() -> list[tuple[str, set[tuple[object, object]], dict[str, int]]]:
        entries = run_cli("history", "--changes", "--json").json()
        return [(e["operation"], _file_changes(e["changes"]), e["summary"]) for e in entries]

    def check(result: CliResult, operation: str, entries: int) -> set[tuple[object, object]]:
        assert result.exit_code == 0, result.stderr
        history = recorded()
        assert len(history) == entries
        shown = result.json()
        assert history[0] == (operation, _file_changes(shown["changes"]), shown["summary"])
        return history[0][1]

    first = check(_install_at(old, "--yes"), "install", 1)
    assert ("create", str(old / "Strategies" / "facebook-inbound-strategy.yaml")) in first
    assert ("create", str(old / "Rules" / "screening.yaml")) in first
    assert {a for a, _ in first} == {"create"}

    # Nothing to do: no entry, as before. Only a file to put back: an entry saying so.
    assert _install_at(old, "--yes").exit_code == 0
    assert len(recorded()) == 1
    (old / "Rules" / "screening.yaml").unlink()
    restored = check(_install_at(old, "--yes"), "install", 2)
    assert restored == {("create", str(old / "Rules" / "screening.yaml"))}

    moved = check(_install_at(new, "--yes"), "install", 3)
    assert ("delete", str(old / "Strategies" / "facebook-inbound-strategy.yaml")) in moved
    assert ("create", str(new / "Strategies" / "facebook-inbound-strategy.yaml")) in moved
    assert ("delete", str(old / "Rules" / "screening.yaml")) in moved
    assert ("create", str(new / "Rules" / "screening.yaml")) in moved

    gone = check(run_cli("uninstall", "facebook-bp", "--yes", "--json"), "uninstall", 4)
    assert {p for _, p in moved if p.startswith(str(new))} == {p for _, p in gone}
    assert {a for a, _ in gone} == {"delete"}

    table = run_cli("history", "--changes")
    assert table.exit_code == 0, table.stderr
    assert f"delete {new / 'Rules' / 'screening.yaml'}" in table.stdout


def test_a_reinstall_without_a_tenant_names_the_tenants_the_package_is_in(
    db_url: str, workdir: Path
) -> None:
    for tenant in ("Acme", "Globex"):
        assert run_cli("tenant", "create", tenant).exit_code == 0
        placed = run_cli(
            "install", "facebook-bp", "--answers", str(EXAMPLES / "facebook-bp.yaml"),
            "--set", f"tenant={tenant}", "--set", f"install_home={workdir / tenant}", "--yes",
        )  # fmt: skip
        assert placed.exit_code == 0, placed.stderr
    before = _rows(db_url, "SELECT count(*) FROM install_history")
    result = run_cli("install", "facebook-bp", "--yes")
    assert result.exit_code == 2
    assert result.stderr == (
        "gsetup: error: no answer for 'tenant': facebook-bp is installed in tenants 'Acme', "
        "'Globex'; give the one to install in with --tenant NAME (or --set tenant=NAME) or in "
        "the answers file\n"
    )
    assert _rows(db_url, "SELECT count(*) FROM install_history") == before
    again = run_cli("install", "facebook-bp", "--tenant", "Globex", "--yes", "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["tenant"] == "Globex" and not again.json()["summary"]["create"]


def test_saved_answers_keep_a_long_path_on_its_keys_line(db_url: str, workdir: Path) -> None:
    home = workdir / ("a-rather-long-directory-name-" * 4) / "facebook-bp"
    saved = workdir / "saved.yaml"
    assert _install_at(home, "--yes", "--save-answers", str(saved)).exit_code == 0
    lines = saved.read_text().splitlines()
    assert f"install_home: {home}" in lines, lines
    assert "install_home:" not in lines  # not folded onto the next line
