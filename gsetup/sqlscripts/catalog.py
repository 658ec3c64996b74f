"""Which scripts exist, for which package and which DBMS, and in which order they run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gsetup.columns import SCRIPT_PAIRS, CustomColumn, ScriptPair
from gsetup.errors import BadInputError, NotFoundError
from gsetup.fileio import quote_prefix

Kind = Literal["cleanup", "alter"]
KINDS: tuple[Kind, ...] = ("cleanup", "alter")  # run order within a pair


@dataclass(frozen=True)
class Dbms:
    """A database system the scripts are generated for."""

    name: str  # as typed on the command line and used for sql/<name>/
    install_dir: str  # the guide's Scripts/<RDBMS> folder name under a BP's install home
    title: str
    transactional_ddl: bool  # whether apply can roll back a half-run script


DBMSES: tuple[Dbms, ...] = (
    Dbms("mssql", "MSSQL", "Microsoft SQL Server", False),
    Dbms("oracle", "Oracle", "Oracle Database", False),
    Dbms("db2", "DB2", "IBM Db2", False),
    Dbms("postgresql", "PostgreSQL", "PostgreSQL", True),
    Dbms("sqlite", "SQLite", "SQLite", True),
)


@dataclass(frozen=True)
class Script:
    """One script file of the guide: the CleanUp or the Alter half of a pair."""

    pair: ScriptPair
    kind: Kind

    @property
    def name(self) -> str:
        """The file name, exactly as the guide spells it."""
        return self.pair.cleanup if self.kind == "cleanup" else self.pair.alter

    @property
    def group(self) -> str:
        """The package group (iwd, facebook, twitter) the script belongs to."""
        return self.pair.group

    @property
    def columns(self) -> tuple[CustomColumn, ...]:
        """The interactions-table columns the script drops or adds."""
        return self.pair.columns


GROUPS: tuple[str, ...] = tuple(pair.group for pair in SCRIPT_PAIRS)


def get_dbms(name: str) -> Dbms:
    """Return the DBMS called ``name``; raise BadInputError naming the allowed ones."""
    for dbms in DBMSES:
        if dbms.name == name.lower():
            return dbms
    allowed = ", ".join(d.name for d in DBMSES)
    raise BadInputError(f"Unknown DBMS {quote_prefix(name)}: use one of {allowed}.")


def check_groups(groups: list[str] | None) -> list[str]:
    """``groups`` in run order, each checked; None means every group."""
    if groups is None:
        return list(GROUPS)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise NotFoundError(
            f"Unknown script group {quote_prefix(unknown[0])}: use one of {', '.join(GROUPS)}."
        )
    return [group for group in GROUPS if group in groups]


def scripts_in_run_order(groups: list[str]) -> list[Script]:
    """The scripts of ``groups``: per pair, CleanUp first (the guide insists), then Alter."""
    return [Script(pair, kind) for pair in SCRIPT_PAIRS if pair.group in groups for kind in KINDS]


def get_script(name: str) -> Script:
    """Return the script whose file name is ``name`` (case-insensitive, ``.sql`` optional)."""
    wanted = name.lower().removesuffix(".sql") + ".sql"
    for script in scripts_in_run_order(list(GROUPS)):
        if script.name.lower() == wanted:
            return script
    raise NotFoundError(f"No script named {quote_prefix(name)}: run 'gsetup sql list' to see them.")


def list_scripts(
    groups: list[str] | None = None, dbms: str | None = None
) -> list[tuple[Script, list[str]]]:
    """The scripts of ``groups`` (all if None) in run order, each with the DBMS names it
    exists for."""
    names = [get_dbms(dbms).name] if dbms else [d.name for d in DBMSES]
    return [(script, names) for script in scripts_in_run_order(check_groups(groups))]
