"""``gsetup sql list/show/export``, placement under a BP's install home, and bad names."""

from __future__ import annotations

import re
import shlex
import socket
from pathlib import Path

import pytest

from gsetup.errors import EXIT_BAD_INPUT, EXIT_OK, NeedsAnswerError
from gsetup.packages.scripts import script_groups
from gsetup.sqlscripts import place_scripts
from gsetup.sqlscripts.generate import REPO_ROOT
from gsetup.sqlscripts.servers import check_stopped, running_servers
from tests.helpers import run_cli

FACEBOOK_PAIR = [
    "CleanUpTableInteractionsForFacebook851.sql",
    "AlterTableInteractionsForFacebook851.sql",
]
IWD_PAIR = [
    "CleanUpTableInteractionsForIWDIntegration851.sql",
    "AlterTableInteractionsForIWDIntegration851.sql",
]


@pytest.mark.parametrize(
    ("packages", "groups"),
    [
        ([], None),
        (["facebook"], ["facebook"]),
        (["facebook-bp"], ["facebook"]),
        (["facebook-bp-simplified"], ["facebook"]),
        (["facebook-bp-iwd"], ["iwd", "facebook"]),
        (["twitter-bp-iwd", "facebook-bp"], ["iwd", "facebook", "twitter"]),
        (["Twitter"], ["twitter"]),
    ],
)
def test_package_names_map_to_groups_in_run_order(
    packages: list[str], groups: list[str] | None
) -> None:
    assert script_groups(packages) == groups


def test_list_shows_scripts_in_run_order() -> None:
    result = run_cli("sql", "list", "--package", "facebook-bp-iwd", "--dbms", "oracle")
    assert result.exit_code == EXIT_OK
    names = re.findall(r"(?:CleanUp|Alter)TableInteractionsFor\w+\.sql", result.stdout)
    assert names == IWD_PAIR + FACEBOOK_PAIR
    assert "oracle" in result.stdout and "mssql" not in result.stdout


def test_show_prints_the_checked_in_script() -> None:
    result = run_cli("sql", "show", "AlterTableInteractionsForTwitter854.sql", "--dbms", "mssql")
    assert result.exit_code == EXIT_OK
    expected = (REPO_ROOT / "sql" / "mssql" / "AlterTableInteractionsForTwitter854.sql").read_text()
    assert result.stdout == expected


def test_export_writes_the_scripts_and_their_run_order(tmp_path: Path) -> None:
    target = tmp_path / "for-dba"
    result = run_cli(
        "sql", "export", "--dbms", "db2", "--dir", str(target), "-p", "facebook-bp-iwd"
    )
    assert result.exit_code == EXIT_OK
    assert [Path(line).name for line in result.stdout.splitlines()] == [
        *IWD_PAIR,
        *FACEBOOK_PAIR,
        "run-order.txt",
    ]
    for name in IWD_PAIR + FACEBOOK_PAIR:
        assert (target / name).read_bytes() == (REPO_ROOT / "sql" / "db2" / name).read_bytes()
    order = (target / "run-order.txt").read_text().splitlines()
    assert order[1] == "1. Stop Interaction Server and DB Server (IXN)."
    assert order[2:6] == [f"{n}. Run {name}" for n, name in enumerate(IWD_PAIR + FACEBOOK_PAIR, 2)]
    assert order[6] == "6. Start Interaction Server and DB Server (IXN)."


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_export_into_a_file_is_refused_with_nothing_written(tmp_path: Path, where: str) -> None:
    # Was exit 1, "unexpected NotADirectoryError".
    work = tmp_path / "work"
    work.mkdir()
    existing = work / "notes.txt"
    existing.write_text("kept\n")
    target = existing if where == "file" else existing / "for-dba"
    result = run_cli("sql", "export", "--dbms", "mssql", "--dir", str(target))
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == (f"gsetup: error: --dir: {existing} is a file, not a directory\n")
    assert result.stdout == ""
    assert existing.read_text() == "kept\n"
    assert [p.name for p in work.iterdir()] == ["notes.txt"]


def test_place_scripts_under_the_install_home(tmp_path: Path) -> None:
    home = tmp_path / "Genesys Business process for use with Facebook"
    written = place_scripts(["iwd", "facebook"], home)
    assert len(written) == 4 * 5
    for rdbms, dbms in [("MSSQL", "mssql"), ("Oracle", "oracle"), ("DB2", "db2")]:
        folder = home / "Scripts" / rdbms
        assert sorted(p.name for p in folder.iterdir()) == sorted(IWD_PAIR + FACEBOOK_PAIR)
        for name in IWD_PAIR:
            assert (folder / name).read_bytes() == (REPO_ROOT / "sql" / dbms / name).read_bytes()
    assert (home / "Scripts" / "PostgreSQL" / FACEBOOK_PAIR[1]).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--dbms", "informix"], "Unknown DBMS 'informix': use one of mssql, oracle"),
        (["list", "--package", "rss"], "Unknown package 'rss'"),
        (["list", "--package", "rss-bp"], "package 'rss-bp' adds no Interaction Server columns"),
        (["show", "AlterTableInteractionsForRSS.sql", "--dbms", "mssql"], "No script named"),
        (["show", "AlterTableInteractionsForTwitter854.sql", "--dbms", "mysql"], "Unknown DBMS"),
        (["export", "--dbms", "sybase", "--dir", "out"], "Unknown DBMS 'sybase'"),
    ],
)
def test_bad_names_exit_2_with_one_message(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("sql", *args)
    assert result.exit_code == EXIT_BAD_INPUT
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_server_is_running_when_its_port_accepts_connections() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        up = listener.getsockname()[1]
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            down = closed.getsockname()[1]  # bound, not listening: connections are refused
            servers = [("IXN_up", "127.0.0.1", up), ("IXN_down", "127.0.0.1", down)]
            assert [s.name for s in running_servers(servers)] == ["IXN_up"]
            check_stopped([("IXN_down", "127.0.0.1", down)], confirmed=False)
    with pytest.raises(NeedsAnswerError):
        check_stopped([], confirmed=False)
    check_stopped([], confirmed=True)


def test_docs_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``gsetup sql`` example in docs/sql.md that needs no database runs and exits 0."""
    monkeypatch.chdir(tmp_path)
    docs = (REPO_ROOT / "docs" / "sql.md").read_text()
    examples = re.findall(r"^\s*\$ gsetup sql (.+)$", docs, flags=re.MULTILINE)
    offline = [e for e in examples if not e.startswith("apply")]
    assert len(offline) >= 4
    for example in offline:
        result = run_cli("sql", *shlex.split(example))
        assert result.exit_code == EXIT_OK, (example, result.stderr)


def test_docs_explain_every_column_type() -> None:
    from gsetup.columns import SCRIPT_PAIRS

    docs = (REPO_ROOT / "docs" / "sql.md").read_text()
    for pair in SCRIPT_PAIRS:
        assert pair.cleanup in docs and pair.alter in docs
        for column in pair.columns:
            kind = f"VARCHAR({column.length})" if column.type == "string" else "INTEGER"
            row = f"| `{column.name}` | {pair.group} | `{column.property}` | {kind} |"
            assert row in docs, column.name
            assert column.why in docs, column.name
