"""A plan: the ordered changes that turn the database into the desired state."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "keep", "delete"]
Target = Literal["object", "option", "file", "store"]  # store: a runtime store recorded
Ownership = Literal["", "adopt", "release"]
MASK = "********"


@dataclass(slots=True)
class Change:
    """One change on one object, option or file.

    ``before``/``after`` hold the values that differ (objects: attribute dicts; options: the
    value). ``ownership`` says whether the plan's owner starts (``adopt``) or stops
    (``release``) managing the object or option; alone it is not a visible change.
    """

    action: Action
    target: Target
    kind: str
    path: str
    option: tuple[str, str] | None = None
    before: Any = None
    after: Any = None
    note: str = ""
    secret: bool = False
    ownership: Ownership = ""

    def display_path(self, tenant: str) -> str:
        """A readable path such as ``Environment/Applications/DMS_1 [channel-facebook] port``."""
        base = (
            self.path
            if self.target in ("file", "store")
            else f"{tenant}/{self.path}"
            if self.path
            else tenant
        )
        return f"{base} [{self.option[0]}] {self.option[1]}" if self.option else base

    def to_json(self, tenant: str) -> dict[str, Any]:
        """This change as JSON-ready data, secrets masked."""
        data: dict[str, Any] = {
            "action": self.action,
            "target": self.target,
            "kind": self.kind,
            "path": self.display_path(tenant),
        }
        if self.option:
            data["section"], data["key"] = self.option
        if self.before is not None:
            data["before"] = MASK if self.secret else self.before
        if self.after is not None:
            data["after"] = MASK if self.secret else self.after
        if self.note:
            data["note"] = self.note
        return data


def option_row(change: Change) -> list[Any]:
    """An option change as the history stores it: compact, secrets masked.

    ``[action, kind, object path, section, key, before, after]``; a plan can hold tens of thousands
    of option changes, so the history keeps them as rows and :func:`expand_option_row` gives
    back the shape of :meth:`Change.to_json`.
    """
    assert change.option is not None
    shown = [MASK if change.secret and v is not None else v for v in (change.before, change.after)]
    return [change.action, change.kind, change.path, *change.option, *shown]


def expand_option_row(row: list[Any], tenant: str) -> dict[str, Any]:
    """The JSON form of a stored option row."""
    action, kind, path, section, key, before, after = row
    data: dict[str, Any] = {
        "action": action,
        "target": "option",
        "kind": kind,
        "path": f"{tenant}/{path} [{section}] {key}",
        "section": section,
        "key": key,
    }
    if before is not None:
        data["before"] = before
    if after is not None:
        data["after"] = after
    return data


@dataclass
class Plan:
    """The changes for one tenant, in the order they are applied.

    Options already as desired are counted in ``unchanged_options``, not listed: a re-import
    of 20,000 options would otherwise list 20,000 changes that do nothing. Kept options that
    say something (a value not overwritten, an ownership change) are listed.
    """

    tenant: str
    owner: str | None = None
    changes: list[Change] = field(default_factory=list)
    unchanged_options: int = 0

    def summary(self) -> dict[str, int]:
        """How many changes of each action (``keep`` includes the unchanged options)."""
        counts = Counter(c.action for c in self.changes)
        counts["keep"] += self.unchanged_options
        return {a: counts.get(a, 0) for a in ("create", "update", "delete", "keep")}

    @property
    def pending(self) -> bool:
        """Whether applying would change anything."""
        return any(c.action != "keep" for c in self.changes)

    def deletes(self) -> bool:
        """Whether applying would delete an object, option or file."""
        return any(c.action == "delete" for c in self.changes)

    def replaces(self) -> bool:
        """Whether applying would delete or overwrite anything that exists."""
        return any(c.action in ("delete", "update") for c in self.changes)

    def summary_line(self) -> str:
        """``N to create, N to update, N to delete, N unchanged``."""
        s = self.summary()
        return (
            f"{s['create']} to create, {s['update']} to update, "
            f"{s['delete']} to delete, {s['keep']} unchanged"
        )

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON-ready data."""
        return {
            "tenant": self.tenant,
            "owner": self.owner,
            "summary": self.summary(),
            "unchanged_options": self.unchanged_options,
            "changes": [c.to_json(self.tenant) for c in self.changes],
        }
