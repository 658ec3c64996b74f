"""Each object kind's table and fields, so the plan engine can treat all kinds alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

from gsetup.configdb import tables


@dataclass(frozen=True)
class Kind:
    """How one kind is stored: its detail table, plain fields and references.

    ``fields`` map attribute names to columns of the same name with their default on create.
    ``refs`` map attribute names (whose desired value is a path) to an id column and the kind
    of the object referred to.
    """

    name: str
    table: Table
    title: str
    fields: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def attrs(self) -> tuple[str, ...]:
        """Every attribute name this kind has."""
        return (*self.fields, *self.refs)


# Creation order: an object's parent and the objects it refers to come first; deletions run
# in the reverse order.
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "tenant",
            tables.tenant_settings,
            "Tenant",
            refs={"default_capacity_rule": ("default_capacity_rule_id", "capacity_rule")},
        ),
        Kind(
            "business_attribute",
            tables.business_attribute,
            "Business Attribute",
            {"display_name": "", "description": "", "attr_type": "Custom"},
        ),
        Kind(
            "attribute_value",
            tables.attribute_value,
            "Attribute Value",
            {"display_name": "", "description": "", "is_default": False},
        ),
        Kind(
            "capacity_rule",
            tables.capacity_rule,
            "Capacity Rule",
            {"description": "", "limits": {}},
        ),
        Kind("skill", tables.skill, "Skill", {"description": ""}),
        Kind(
            "application",
            tables.application,
            "Application",
            {
                "app_type": "",
                "host": "",
                "port": None,
                "working_dir": "",
                "start_cmd": "",
                "stop_cmd": "",
                "redundancy_type": "",
            },
            {"backup": ("backup_id", "application")},
        ),
        Kind(
            "business_process",
            tables.business_process,
            "Business Process",
            {"package": "", "version": "", "strategy_dir": ""},
        ),
        Kind(
            "queue",
            tables.interaction_queue,
            "Interaction Queue",
            {"description": ""},
            {"business_process": ("business_process_id", "business_process")},
        ),
        Kind(
            "strategy",
            tables.strategy,
            "Strategy",
            {"file": "", "active": True, "subroutine": False},
            {
                "business_process": ("business_process_id", "business_process"),
                "queue": ("queue_id", "queue"),
            },
        ),
        Kind(
            "person",
            tables.person,
            "Person",
            {"first_name": "", "last_name": "", "is_agent": True, "skills": {}},
            {"capacity_rule": ("capacity_rule_id", "capacity_rule")},
        ),
        Kind(
            "agent_group",
            tables.agent_group,
            "Agent Group",
            {"members": []},
            {"capacity_rule": ("capacity_rule_id", "capacity_rule")},
        ),
    )
}

# Kinds whose path has a parent object: "Business Attributes/<attribute>/<value>".
PARENT_KIND = {"attribute_value": "business_attribute"}


def get_kind(name: str) -> Kind:
    """The kind called ``name``; a clear error lists the known kinds."""
    from gsetup.errors import BadInputError

    try:
        return KINDS[name]
    except KeyError:
        raise BadInputError(
            f"unknown object type {name!r}; known types: {', '.join(KINDS)}"
        ) from None
