"""The read side: what a tenant has installed, asked in one place.

The write side is the plan engine (``gsetup.plan``): desired state -> Plan -> one
transaction. This package answers the questions the commands, the doctor, the configure steps
and the routing runtime ask of a tenant: which packages are installed (version, install home,
strategy directory, the answers of the last install), their strategies and queues, the agents
with their resolved capacity rule, agent groups, capacity rules, applications, business
attributes, any object for browsing (lists without options, one object with them), the
install history, and the options of one object (in the order they were added), one section, or
some section prefixes of several objects. Each query takes an open connection and a tenant
id (the history a tenant name, ``option_rows`` an object id), reads only what it returns in a
fixed number of statements (never one per object or option), and returns frozen records
(``gsetup.deployment.model``). ``open_tenant`` checks the user may see the tenant and gives
the connection and id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gsetup.deployment.agents import agent_groups, agents, capacity_rules, default_capacity_rule
from gsetup.deployment.apps import (
    application,
    application_options,
    applications,
    option_rows,
    options,
    options_of,
)
from gsetup.deployment.attributes import business_attributes
from gsetup.deployment.history import history
from gsetup.deployment.model import (
    Agent,
    AgentGroup,
    Application,
    AttributeValue,
    BusinessAttribute,
    CapacityRule,
    ConfigObject,
    ConfiguredApplication,
    HistoryEntry,
    InstalledPackage,
    Options,
    Queue,
    StoredOption,
    Strategy,
)
from gsetup.deployment.objects import configured_object, object_id, objects
from gsetup.deployment.packages import (
    FILES_SECTION,
    HOME_KEY,
    HOME_SECTION,
    MADE_KEY,
    installations,
    installed_packages,
    recorded_answers,
    tenants_with_package,
)
from gsetup.deployment.routing import queues, strategies

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from gsetup.context import Context

__all__ = [
    "FILES_SECTION",
    "HOME_KEY",
    "HOME_SECTION",
    "MADE_KEY",
    "Agent",
    "AgentGroup",
    "Application",
    "AttributeValue",
    "BusinessAttribute",
    "CapacityRule",
    "ConfigObject",
    "ConfiguredApplication",
    "HistoryEntry",
    "InstalledPackage",
    "Options",
    "Queue",
    "StoredOption",
    "Strategy",
    "agent_groups",
    "agents",
    "application",
    "application_options",
    "applications",
    "business_attributes",
    "capacity_rules",
    "configured_object",
    "default_capacity_rule",
    "history",
    "installations",
    "installed_packages",
    "object_id",
    "objects",
    "open_tenant",
    "option_rows",
    "options",
    "options_of",
    "queues",
    "recorded_answers",
    "strategies",
    "tenants_with_package",
]


@contextmanager
def open_tenant(ctx: Context, tenant: str) -> Iterator[tuple[Connection, int]]:
    """A connection and the id of ``tenant``, which the user must be allowed to see."""
    from gsetup.configdb.tenants import tenant_id

    ctx.identity.require(tenant, change=False)
    with ctx.db.engine.connect() as conn:
        yield conn, tenant_id(conn, tenant)
