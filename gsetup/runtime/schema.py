"""The interaction store's tables: one MetaData, every table keyed by tenant first.

The ``interactions`` table has Interaction Server's system columns; the custom columns
(facebookPostId, twitterGroupId, desktop_sentiment...) are not declared here: the store adds
them by running the shipped Alter scripts (:mod:`gsetup.runtime.store`). Times are seconds
since the epoch (floats) of the runtime's clock, so a virtual clock can run 31 days in
milliseconds. Every query is tenant-scoped, so a store can be sharded by tenant.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Bumped whenever a table below changes. An older store is brought up to date by creating
# the tables (and sequences, indexes) of ADDED_IN, and by each version's filler
# (gsetup.runtime.store): those that record what it holds, 6's re-keying of the workers'
# table with its rows; a newer one is refused.
SCHEMA_VERSION = 6

NAME = 255
ID = 40

metadata = MetaData()

# key/value facts about the store itself: schema-version.
runtime_meta = Table(
    "runtime_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(NAME), nullable=False),
)

# Interaction Server's interactions table. state: queued (in a queue, its strategy not started),
# routing (its strategy suspended: wait, target, service answer, keep_order), offered (reserved
# for assigned_to until due_at), agent (held by assigned_to), stopped, error.
interactions = Table(
    "interactions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant", String(NAME), nullable=False),
    Column("type", String(16), nullable=False),  # Inbound, Outbound
    Column("media_type", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("queue", String(NAME)),
    Column("submitted_by", String(NAME)),  # the DMS application
    Column("channel", String(NAME)),  # the DMS channel section, e.g. channel-facebook
    Column("external_id", String(NAME)),
    Column("parent_id", String(ID)),
    Column("text", Text),
    Column("attached_data", Text, nullable=False),  # JSON object
    Column("received_at", Float, nullable=False),
    Column("placed_in_queue_at", Float),
    Column("due_at", Float),  # runnable at (None: nothing to do until an event)
    Column("assigned_to", String(NAME)),
    Column("strategy", String(NAME)),
    Column("position", Text),  # JSON: the suspended strategy's stack and variables
    Column("waiting", String(16)),  # what a routing interaction waits for
    Column("stop_reason", String(NAME)),
    Column("error", Text),
    Column("ended_at", Float),
    Column("offers", Integer, nullable=False, default=0),
    UniqueConstraint("tenant", "channel", "external_id", name="uq_itx_intake"),
    Index("ix_itx_due", "tenant", "due_at"),
    Index("ix_itx_queue", "tenant", "queue", "state"),
    Index("ix_itx_agent", "tenant", "assigned_to"),
    Index("ix_itx_waiting", "tenant", "waiting", "media_type", "placed_in_queue_at"),
)
# A compliance delete names the message alone, not its channel (uq_itx_intake's second).
itx_external = Index("ix_itx_external", interactions.c.tenant, interactions.c.external_id)

# Every offer ever made: (interaction, agent, time). Lets tests and status see re-offers.
offers = Table(
    "runtime_offers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(NAME), nullable=False),
    Column("interaction_id", String(ID), nullable=False),
    Column("agent", String(NAME), nullable=False),
    Column("offered_at", Float, nullable=False),
    Column("outcome", String(16)),  # accepted, rejected, expired
    Index("ix_offers_itx", "tenant", "interaction_id"),
)

# UCS: contacts, found by one identifying attribute (e.g. _facebookActorId=123).
contacts = Table(
    "ucs_contacts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant", String(NAME), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("identity", String(NAME), nullable=False),
    Column("attributes", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("tenant", "identity", name="uq_contact_identity"),
)

# UCS interaction history.
ucs_interactions = Table(
    "ucs_interactions",
    metadata,
    Column("id", String(ID), nullable=False),
    Column("tenant", String(NAME), nullable=False),
    Column("contact_id", String(ID)),
    Column("parent_id", String(ID)),
    Column("external_id", String(NAME)),
    Column("media_type", String(64)),
    Column("text", Text),
    Column("attributes", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("tenant", "id"),
    Index("ix_ucs_external", "tenant", "external_id"),
    Index("ix_ucs_contact", "tenant", "contact_id"),
)

# The scalar attributes of the UCS interactions, one row each, so FindInteraction and the
# compliance delete find an interaction by (name, value) through an index: searching the JSON
# text read every interaction of the tenant. value: the attribute's JSON encoding
# (gsetup.runtime.itx.dumps) when it is a string, number or boolean of at most NAME
# characters encoded; any other value has no row (services.ucs.indexed).
ucs_attributes = Table(
    "ucs_attributes",
    metadata,
    Column("tenant", String(NAME), nullable=False),
    Column("ucs_id", String(ID), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("value", String(NAME), nullable=False),
    PrimaryKeyConstraint("tenant", "ucs_id", "name"),
    Index("ix_ucs_attribute", "tenant", "name", "value"),
)

# Outbound requests to a DMS application: delivered over HTTP, at least once, with key.
outbox = Table(
    "runtime_outbox",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant", String(NAME), nullable=False),
    Column("interaction_id", String(ID), nullable=False),
    Column("app", String(NAME), nullable=False),
    Column("channel", String(NAME), nullable=False),
    Column("method", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("dedupe", String(80), nullable=False),  # RPC cache: same message, same recipient
    Column("duplicate_of", String(ID)),  # state cached: the row whose answer this one shares
    Column("state", String(16), nullable=False),  # pending, sent, failed, cached
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("timeout", Float, nullable=False),
    Column("due_at", Float),
    Column("lease_owner", String(NAME)),
    Column("lease_until", Float),
    Column("answer", Text),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
    Index("ix_outbox_due", "tenant", "state", "due_at"),
    Index("ix_outbox_dedupe", "tenant", "dedupe", "sent_at"),
)

# Agents at run time: presence, skills and capacity copied from the configuration at login.
agents = Table(
    "runtime_agents",
    metadata,
    Column("tenant", String(NAME), nullable=False),
    Column("name", String(NAME), nullable=False),
    Column("state", String(16), nullable=False),  # logged_out, not_ready, ready, removing
    Column("skills", Text, nullable=False),  # JSON {skill: level}
    Column("capacity", Text, nullable=False),  # JSON {media type: limit}
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("tenant", "name"),
)

# Interactions an agent has reserved or holds, per media type.
agent_loads = Table(
    "runtime_agent_loads",
    metadata,
    Column("tenant", String(NAME), nullable=False),
    Column("agent", String(NAME), nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("load", Integer, nullable=False),
    PrimaryKeyConstraint("tenant", "agent", "media_type"),
)

# Workers sharing the store: heartbeat and work done, for status and lease takeover. A worker
# id names a worker of its tenant (as the endpoints key it): two tenants' "w1" are two rows.
workers = Table(
    "runtime_workers",
    metadata,
    Column("worker_id", String(NAME), nullable=False),
    Column("tenant", String(NAME), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("processed", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("tenant", "worker_id"),
)

# Threaded Routing's Twitter groups, one row per sender (or direct-message pair) and channel:
# the group the next tweet joins while it arrives within grouping-timeout of started_at.
twitter_groups = Table(
    "runtime_twitter_groups",
    metadata,
    Column("tenant", String(NAME), nullable=False),
    Column("channel", String(NAME), nullable=False),
    Column("group_key", String(NAME), nullable=False),  # sender id, or the sorted pair
    Column("group_id", String(NAME), nullable=False),  # <group_key>:<first tweet's id>
    Column("started_at", Float, nullable=False),
    PrimaryKeyConstraint("tenant", "channel", "group_key"),
)

# merge_itx_data's copies: ``merged_id``'s text (an interaction merged, or one merged into it
# before) is in the ``_mergedItems`` of ``into_id``. A compliance delete finds them here by key.
merges = Table(
    "runtime_merges",
    metadata,
    Column("tenant", String(NAME), nullable=False),
    Column("merged_id", String(ID), nullable=False),
    Column("into_id", String(ID), nullable=False),
    PrimaryKeyConstraint("tenant", "merged_id", "into_id"),
)

# PostgreSQL: bumped after each commit that leaves an agent ready with free capacity
# (gsetup.runtime.agents.after_commit). SQLite has no sequences and needs none.
capacity_epoch = Sequence("runtime_capacity_epoch", metadata=metadata)

# The tables (and sequences, indexes) each schema version added to the one before it.
ADDED_IN: dict[int, tuple[Table | Sequence | Index, ...]] = {
    2: (twitter_groups,),
    3: (capacity_epoch,),
    4: (merges, itx_external),
    5: (ucs_attributes,),
}

SYSTEM = frozenset(c.name for c in interactions.columns)


def interactions_with(custom: list[tuple[str, str, int | None]]) -> Table:
    """The interactions table with the custom columns the Alter scripts added: (name as
    stored, type, length). Unquoted, as Interaction Server writes its SQL."""
    return Table(
        "interactions",
        MetaData(),
        *(c._copy() for c in interactions.columns),
        *(Column(name, _type(kind, length), quote=False) for name, kind, length in custom),
    )


def _type(kind: str, length: int | None) -> String | Integer | Numeric[Any]:
    if kind == "string":
        return String(length)
    return Integer() if kind == "integer" else Numeric(18, 4)
