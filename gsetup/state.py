"""The desired state: plain data that says what a tenant's configuration should hold.

Wizards, packages and commands build a :class:`DesiredState`; :mod:`gsetup.plan` compares it
with the database and is the only code that writes. Paths are tenant-relative and readable,
e.g. ``Business Attributes/Media Type/facebook``; references between objects are paths too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Object kinds and the folder their paths start with. A kind's path is
# "<folder>/<name>", except attribute values ("Business Attributes/<attribute>/<value>")
# and the tenant itself (path "").
KIND_FOLDERS: dict[str, str] = {
    "tenant": "",
    "business_attribute": "Business Attributes",
    "attribute_value": "Business Attributes",
    "capacity_rule": "Capacity Rules",
    "application": "Applications",
    "business_process": "Business Processes",
    "queue": "Interaction Queues",
    "strategy": "Strategies",
    "person": "Persons",
    "skill": "Skills",
    "agent_group": "Agent Groups",
}


class OptionValue(NamedTuple):
    """One desired option (application) or annex (any object) value.

    ``overwrite=False`` sets the value only where the key is missing: an existing value is
    kept and the plan shows the differing desired value beside it. ``secret`` values are
    masked in every rendering of the plan and in the install history; a secret stays secret.
    A tuple, because an import builds one per line of the file.
    """

    value: str
    overwrite: bool = True
    secret: bool = False


OptionKey = tuple[str, str]  # (section, key)


@dataclass(frozen=True)
class DesiredObject:
    """One configuration object as it should be.

    ``attrs`` holds the kind's fields (see ``gsetup.configdb.kinds``); attributes that refer
    to other objects (``backup``, ``queue``, ``business_process``, ``capacity_rule``...) hold
    that object's path. Attributes left out are not managed: their current value is kept.
    """

    kind: str
    path: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[OptionKey, OptionValue] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The object's own name: the last segment of its path."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Removal:
    """An explicit deletion: a whole object (``option`` is None) or one option of it."""

    kind: str
    path: str
    option: OptionKey | None = None


@dataclass
class DesiredState:
    """Everything one operation wants a tenant to hold.

    ``owner`` names the package (e.g. ``facebook-bp``) whose objects these are. With an owner,
    objects and options the owner created earlier and no longer desires are planned for
    deletion (upgrade, uninstall), while anything a user added is kept. Without an owner
    (single commands such as ``gsetup app create``) only ``removals`` delete.
    """

    tenant: str
    objects: list[DesiredObject] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    owner: str | None = None

    def add(self, obj: DesiredObject) -> DesiredObject:
        """Append an object; a second object on the same path merges into the first."""
        for i, existing in enumerate(self.objects):
            if existing.kind == obj.kind and existing.path == obj.path:
                merged = DesiredObject(
                    obj.kind,
                    obj.path,
                    {**existing.attrs, **obj.attrs},
                    {**existing.options, **obj.options},
                )
                self.objects[i] = merged
                return merged
        self.objects.append(obj)
        return obj


def options(
    sections: Mapping[str, Mapping[str, str]],
    *,
    overwrite: bool = True,
    secret_keys: Iterable[str] = (),
) -> dict[OptionKey, OptionValue]:
    """Build option values from ``{section: {key: value}}``."""
    secrets = set(secret_keys)
    return {  # positional: an option file can hold tens of thousands
        (section, key): OptionValue(value, overwrite, key in secrets)
        for section, keys in sections.items()
        for key, value in keys.items()
    }


def object_path(kind: str, *names: str) -> str:
    """The tenant-relative path of an object of ``kind`` named by ``names``."""
    folder = KIND_FOLDERS[kind]
    return "/".join([folder, *names]) if folder else "/".join(names)
