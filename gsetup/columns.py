"""The Interaction Server columns the Business Processes add: one source of truth.

The Alter/CleanUp scripts (``gsetup.sqlscripts``) are generated from these definitions and the
BP packages create one Interaction Custom Property per column whose annex
``translation/translate-to`` names the column, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "integer", "number"]


@dataclass(frozen=True)
class CustomColumn:
    """One column of the ``interactions`` table and the custom property that fills it."""

    name: str  # column in Interaction Server's interactions table
    property: str  # attached-data key: the Interaction Custom Property's name (case sensitive)
    type: ColumnType
    length: int | None  # characters, for strings
    indexed: bool  # the routing runtime searches on it
    why: str  # the reason for the type, published in docs/sql.md


@dataclass(frozen=True)
class ScriptPair:
    """A CleanUp/Alter pair of the guide and the columns it manages."""

    group: Literal["iwd", "facebook", "twitter"]
    cleanup: str  # file name, exactly as the guide names it
    alter: str
    columns: tuple[CustomColumn, ...]


IWD = ScriptPair(
    "iwd",
    "CleanUpTableInteractionsForIWDIntegration851.sql",
    "AlterTableInteractionsForIWDIntegration851.sql",
    (
        CustomColumn(
            "desktop_sentiment",
            "desktop_sentiment",
            "string",
            32,
            False,
            "a sentiment label such as positive, negative or neutral",
        ),
        CustomColumn(
            "desktop_actionable",
            "desktop_actionable",
            "string",
            32,
            False,
            "an actionability label such as actionable or nonactionable",
        ),
        CustomColumn(
            "desktop_influence",
            "desktop_influence",
            "integer",
            None,
            False,
            "an influence score, a whole number",
        ),
    ),
)

FACEBOOK = ScriptPair(
    "facebook",
    "CleanUpTableInteractionsForFacebook851.sql",
    "AlterTableInteractionsForFacebook851.sql",
    (
        CustomColumn(
            "facebookPostId",
            "_facebookPostId",
            "string",
            128,
            True,
            "Facebook ids are strings such as 1234567890_9876543210; the inbound "
            "strategy merges interactions of the same post, so it is indexed",
        ),
        CustomColumn(
            "facebookInQueueAtTarget",
            "_facebookInQueueAtTarget",
            "integer",
            None,
            False,
            "a 0/1 flag set by the strategies",
        ),
        CustomColumn(
            "facebookCommentId",
            "_facebookCommentId",
            "string",
            128,
            False,
            "a Facebook comment id, a string like a post id",
        ),
        CustomColumn(
            "facebookInBufferBeforeTarget",
            "_facebookInBufferBeforeTarget",
            "integer",
            None,
            False,
            "a 0/1 flag set by the strategies",
        ),
    ),
)

TWITTER = ScriptPair(
    "twitter",
    "CleanUpTableInteractionsForTwitter854.sql",
    "AlterTableInteractionsForTwitter854.sql",
    (
        CustomColumn(
            "twitterGroupId",
            "_twitterGroupId",
            "string",
            255,
            True,
            "the sender's user id (sorted ids for direct messages) plus the id of the "
            "post that started the group; Threaded Routing groups on it, so it is indexed",
        ),
        CustomColumn(
            "twitterInBufferBeforeTarget",
            "_twitterInBufferBeforeTarget",
            "integer",
            None,
            False,
            "a 0/1 flag set by the strategies",
        ),
        # The guide lists the property as _twitterInAfterBeforeTarget; the column it fills is
        # twitterInBufferAfterTarget. gsetup keeps the guide's property name.
        CustomColumn(
            "twitterInBufferAfterTarget",
            "_twitterInAfterBeforeTarget",
            "integer",
            None,
            False,
            "a 0/1 flag set by the strategies",
        ),
    ),
)

SCRIPT_PAIRS: tuple[ScriptPair, ...] = (IWD, FACEBOOK, TWITTER)
