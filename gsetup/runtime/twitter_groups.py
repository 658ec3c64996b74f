"""Threaded Routing's Twitter groups: the ``_twitterGroupId`` the Cloud API Driver for Twitter
attaches, assigned at intake when the driver did not.

A tweet's group key is its sender's user id (``_twitterFromUserId``); a direct message's is
the sorted pair of sender and recipient ids (``_twitterToUserId``), joined by ``_``, so both
directions of a conversation share it. The group id is ``<key>:<id of the tweet that started
the group>``. A tweet joins its key's group while it arrives less than the channel's
``grouping-timeout`` seconds after the group *started* (the guide: "the timespan within which
tweets must arrive in order to be grouped together"; Inbound Buffer-TR releases the group at
that moment, so a later tweet could no longer be merged into it); from then on it starts a
new group. A missing or out-of-range timeout (10-3600) leaves the tweet without a group id,
and Threaded Routing works as Twitter BP; so do ids too long for the ``twitterGroupId``
column (255 characters), which would be cut and could join other senders' groups.

The groups are rows of the store (``runtime_twitter_groups``), written in the submission's
transaction: they survive restarts, and workers sharing a store agree under the row's lock.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jinja2.filters import do_int
from sqlalchemy import bindparam, select, update

from gsetup.drivers.specs import GROUPING_TIMEOUT
from gsetup.runtime import sql
from gsetup.runtime.schema import NAME, twitter_groups
from gsetup.runtime.store import insert_ignore

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from gsetup.runtime.context import EngineContext

GROUP_ID = "_twitterGroupId"
FROM_USER = "_twitterFromUserId"
TO_USER = "_twitterToUserId"
# configure twitter-tr writes the option and doctor reads it by this name.
TIMEOUT_OPTION = GROUPING_TIMEOUT.key
DIRECT = {"twitter": False, "twitterdirect": True}  # media type -> direct message


def grouping_timeout(options: Mapping[str, str]) -> int | None:
    """The channel's grouping timeout in seconds, or None when missing or out of range. Read
    as Inbound Buffer-TR reads it (jinja2's ``int`` filter), so intake groups exactly when
    the buffer holds."""
    seconds = do_int(options.get(TIMEOUT_OPTION), 0)
    low, high = GROUPING_TIMEOUT.minimum or 0, GROUPING_TIMEOUT.maximum or 0
    return seconds if low <= seconds <= high else None


def group_key(media_type: str, udata: Mapping[str, Any]) -> str | None:
    """The sender's id, or for a direct message the sorted pair of ids; None without them."""
    sender = udata.get(FROM_USER)
    if media_type not in DIRECT or not isinstance(sender, str) or not sender:
        return None
    if not DIRECT[media_type]:
        return sender
    recipient = udata.get(TO_USER)
    if not isinstance(recipient, str) or not recipient:
        return None
    return "_".join(sorted((sender, recipient)))


def assign_group(
    ctx: EngineContext,
    conn: Connection,
    now: float,
    app: str,
    body: Mapping[str, Any],
    udata: dict[str, Any],
) -> None:
    """Set ``udata[_twitterGroupId]`` for a new tweet of a grouping channel that has none."""
    if GROUP_ID in udata:
        return  # the driver's own grouping wins
    key = group_key(body["media_type"], udata)
    config = ctx.deployment.apps.get(app)
    timeout = grouping_timeout(config.options.get(body["channel"], {})) if config else None
    if key is None or timeout is None or len(key) + 1 + len(body["external_id"]) > NAME:
        return  # no grouping; or ids too long for the twitterGroupId column
    ident = {"b_tenant": ctx.tenant, "b_channel": body["channel"]}
    repeat = {**ident, "b_external": body["external_id"]}
    if sql.run(conn, sql.intake_duplicate(ctx.store.table), repeat).first() is not None:
        return  # a repeated submission changes no group
    udata[GROUP_ID] = _join_or_start(
        conn, ctx.store.postgresql, {**ident, "b_key": key}, body["external_id"], now, timeout
    )


def _join_or_start(
    conn: Connection,
    postgresql: bool,
    ident: dict[str, str],
    tweet: str,
    now: float,
    timeout: int,
) -> str:
    """The group the tweet joins, or the one it starts. The insert of a new key waits for a
    concurrent one (PostgreSQL) and then does nothing; the row is then read under its lock."""
    new_group = f"{ident['b_key']}:{tweet}"
    row = {
        "tenant": ident["b_tenant"],
        "channel": ident["b_channel"],
        "group_key": ident["b_key"],
        "group_id": new_group,
        "started_at": now,
    }
    keys = ("tenant", "channel", "group_key")
    if sql.run(conn, insert_ignore(postgresql, twitter_groups, keys), row).first() is not None:
        return new_group
    current = sql.run(conn, _current(), ident).one()
    if now - current.started_at < timeout:
        return str(current.group_id)
    sql.run(conn, _restart(), {**ident, "b_group": new_group, "b_now": now})
    return new_group


def _where() -> Any:
    g = twitter_groups.c
    return (
        (g.tenant == bindparam("b_tenant"))
        & (g.channel == bindparam("b_channel"))
        & (g.group_key == bindparam("b_key"))
    )


@functools.cache
def _current() -> Any:
    g = twitter_groups.c
    return select(g.group_id, g.started_at).where(_where()).with_for_update()


@functools.cache
def _restart() -> Any:
    return (
        update(twitter_groups)
        .where(_where())
        .values(group_id=bindparam("b_group"), started_at=bindparam("b_now"))
    )
