"""The types of the attached-data keys the Cloud API drivers set (docs/traffic.md).

Attached data is a Genesys KV list: values are strings, integers, numbers or nested KV lists
(JSON objects). The keys the Business Processes read have fixed types; a value of another
type would make a strategy misroute the interaction, so intake refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gsetup.fileio import quote_prefix, value_kind

# Integers (a string of digits is accepted too: drivers send KV values as text).
INTEGER_KEYS = frozenset(
    {
        "FacebookItxType",
        "_facebookItxType",
        "_facebookContentCreatedOnlyByAdmin",
        "_facebookNComments",
        "_facebookNLikes",
        "_facebookShareCount",
        "_facebookCreatedTime",
        "_facebookUpdatedTime",
        "_facebookMediaAttachmentsCount",
        "_twitterFollowersCount",
    }
)
# Strings: ids stay text (a tweet's 64-bit status id does not survive a JSON number).
STRING_KEYS = frozenset(
    {
        "Subject",
        "_facebookXML",
        "_facebookMessageText",
        "_facebookPostId",
        "_facebookCommentId",
        "_facebookActorId",
        "_facebookActorName",
        "_umsChannel",
        "_umsChannelMonitor",
        "_umsInboundIxnSubmittedBy",
        "_umsMediaType",
        "TwitterMsgId",
        "_twitterFromUserId",
        "_twitterFromAddr",
        "_twitterToUserId",
        "_twitterInReplyToStatusId",
        "_twitterGroupId",
        "_rssItemAuthor",
    }
)
_DIGITS = re.compile(r"-?[0-9]+")  # ASCII (\d also takes other scripts' digits)
_SHOWN = 40  # characters of a refused key or value quoted in a message


def attached_data_error(data: Mapping[str, Any]) -> str | None:
    """Why ``data`` is not attached data the drivers could send, or None when it is."""
    for key, value in data.items():
        problem = _value_error(key, value)
        if problem is not None:
            return problem
    return None


def _value_error(key: str, value: Any) -> str | None:
    if key in INTEGER_KEYS:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and _DIGITS.fullmatch(value))
        ):
            return f"attached_data.{key} is an integer, not {_shown(value)}"
        return None
    if key in STRING_KEYS:
        if not isinstance(value, str):
            return f"attached_data.{key} is a string, not {_shown(value)}"
        return None
    if isinstance(value, Mapping):
        return attached_data_error(value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        name = key if len(key) <= _SHOWN else quote_prefix(key, _SHOWN)
        return (
            f"attached_data.{name}: a value is a string, a number or a JSON object (a KV list), "
            f"not {value_kind(value, json=True)}"
        )
    return None


def _shown(value: Any) -> str:
    """A refused value in a message: text and numbers quoted and cut (a request's value may
    be a megabyte), anything else by its JSON kind."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return quote_prefix(value, _SHOWN)
    return value_kind(value, json=True)
