"""What the read side returns: frozen records of what a tenant has installed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from gsetup.state import OptionKey

# Where an agent's capacity rule comes from (Genesys: person, agent group, tenant default).
CapacitySource = Literal["own", "group", "tenant"]


@dataclass(frozen=True)
class InstalledPackage:
    """A Business Process installed in a tenant: its package, version and where its files are.

    ``files`` are the checksums of the strategy files gsetup wrote (file name -> SHA-256);
    ``made`` are the directories the installs made for its files (removed once emptied);
    ``answers`` and ``installed_at`` come from the last install recorded in the history.
    """

    name: str
    version: str
    path: str
    strategy_dir: str
    home: str | None
    files: Mapping[str, str] = field(default_factory=dict)
    made: tuple[str, ...] = ()
    answers: Mapping[str, Any] = field(default_factory=dict)
    installed_at: datetime | None = None


@dataclass(frozen=True)
class Queue:
    """An interaction queue and the package whose Business Process it belongs to."""

    name: str
    path: str
    description: str
    business_process: str | None
    package: str | None


@dataclass(frozen=True)
class Strategy:
    """A strategy (or subroutine) file of a Business Process and the queue it serves."""

    name: str
    path: str
    file: str
    active: bool
    subroutine: bool
    queue: str | None
    business_process: str | None
    package: str | None


@dataclass(frozen=True)
class CapacityRule:
    """A capacity rule: per media type, how many interactions an agent may hold at once."""

    name: str
    path: str
    description: str
    limits: Mapping[str, int]


@dataclass(frozen=True)
class AgentGroup:
    """An agent group, its members (person names) and its capacity rule."""

    name: str
    path: str
    members: tuple[str, ...]
    capacity_rule: str | None


@dataclass(frozen=True)
class Agent:
    """A person with skills and the capacity rule that applies, resolved as Genesys does:
    the person's own, else an agent group's, else the tenant's default (``capacity_source``
    says which; both None when no rule applies)."""

    name: str
    path: str
    first_name: str
    last_name: str
    is_agent: bool
    skills: Mapping[str, int]
    groups: tuple[str, ...]
    capacity_rule: str | None
    capacity_source: CapacitySource | None


@dataclass(frozen=True)
class Application:
    """An application: type, where it runs, how it starts and stops, its backup (a name).

    ``id`` is the database id: driver channels are owned per DMS object."""

    id: int
    name: str
    path: str
    app_type: str
    host: str
    port: int | None
    working_dir: str
    start_cmd: str
    stop_cmd: str
    backup: str | None
    redundancy_type: str


@dataclass(frozen=True)
class StoredOption:
    """An option (or annex) value as stored, and the packages that manage it."""

    value: str
    secret: bool
    managers: frozenset[str]


Options = Mapping[OptionKey, StoredOption]


@dataclass(frozen=True)
class ConfiguredApplication:
    """An application with the options read with it (all, or the sections asked for)."""

    info: Application
    options: Options

    @property
    def name(self) -> str:
        """The application's name."""
        return self.info.name

    @property
    def path(self) -> str:
        """The application's tenant-relative path."""
        return self.info.path


@dataclass(frozen=True)
class AttributeValue:
    """A value of a business attribute, with its annex."""

    name: str
    path: str
    display_name: str
    description: str
    is_default: bool
    annex: Options


@dataclass(frozen=True)
class BusinessAttribute:
    """A business attribute (Media Type, Interaction Custom Properties...) and its values."""

    name: str
    path: str
    display_name: str
    description: str
    attr_type: str
    values: Mapping[str, AttributeValue]


@dataclass(frozen=True)
class ConfigObject:
    """Any configuration object as browsing shows it: every attribute (references as paths),
    the packages that manage it, and its options or annex when read one object at a time
    (None in lists)."""

    kind: str
    path: str
    attrs: Mapping[str, Any]
    managers: tuple[str, ...]
    options: Options | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """An applied plan as the history records it (answers redacted, options as rows)."""

    id: int
    at: datetime
    tenant: str
    operation: str
    package: str | None
    version: str | None
    account: str
    summary: Mapping[str, int]
    answers: Mapping[str, Any]
    changes: list[Any]
