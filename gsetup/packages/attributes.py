"""The business attributes and values the Business Processes install, each defined once.

Names and display names follow the guide's "Objects Installed with Sample Business
Processes" page; Interaction Custom Properties are generated from :mod:`.columns` so that
their ``translation/translate-to`` annex always names a column the Alter scripts add.
"""

from __future__ import annotations

import dataclasses

from gsetup.columns import FACEBOOK, IWD, TWITTER, ScriptPair
from gsetup.packages.model import AttributeValue, BusinessAttribute

MEDIA_TYPE = BusinessAttribute(
    "Media Type", "Media Type", "The media types interactions can have.", "Media Type"
)
CONTACT_ATTRIBUTES = BusinessAttribute(
    "ContactAttributes",
    "Contact Attributes",
    "Attributes Universal Contact Server keeps for each contact.",
    "Contact Attributes",
)
INTERACTION_ATTRIBUTES = BusinessAttribute(
    "InteractionAttributes",
    "Interaction Attributes",
    "Attributes of interactions shown and searched in the desktop.",
    "Interaction Attributes",
)
CUSTOM_PROPERTIES = BusinessAttribute(
    "InteractionCustomProperties",
    "Interaction Custom Properties",
    "Attached-data keys Interaction Server copies into columns of its interactions table.",
    "Custom",
)
LANGUAGE = BusinessAttribute(
    "Language", "Language", "Languages for content analysis and responses.", "Language"
)


def _value(
    attribute: BusinessAttribute, name: str, display_name: str | None, description: str
) -> AttributeValue:
    # The guide lists objects by display name and gives the name only where it differs.
    return AttributeValue(attribute, name, display_name or name, description)


def _custom_properties(pair: ScriptPair) -> tuple[AttributeValue, ...]:
    return tuple(
        AttributeValue(
            CUSTOM_PROPERTIES,
            column.property,
            column.property,
            f"Copied into interactions.{column.name}: {column.why}.",
            annex={("translation", "translate-to"): column.name},
        )
        for column in pair.columns
    )


# Common to Facebook and Twitter.
UMS_MEDIA_ACCOUNT = _value(
    CONTACT_ATTRIBUTES,
    "_umsMediaAccount",
    None,
    "The social media account a contact wrote from.",
)
ENGLISH_SENTIMENT = _value(
    LANGUAGE,
    "English_Sentiment",
    "English for Sentiment Analysis",
    "The language Classification Server uses to screen and classify for sentiment.",
)

# Facebook.
FACEBOOK_VALUES: tuple[AttributeValue, ...] = (
    _value(
        CONTACT_ATTRIBUTES,
        "_facebookActorId",
        "Facebook Actor ID",
        "The Facebook id of the person who wrote.",
    ),
    _value(
        CONTACT_ATTRIBUTES,
        "_facebookActorName",
        "Facebook Actor Name",
        "The Facebook name of the person who wrote.",
    ),
    _value(
        INTERACTION_ATTRIBUTES,
        "_facebookPostId",
        None,
        "The id of the Facebook post an interaction belongs to.",
    ),
    *_custom_properties(FACEBOOK),
    _value(MEDIA_TYPE, "facebook", None, "Facebook posts and comments."),
    _value(MEDIA_TYPE, "facebookprivatemessage", None, "Facebook private messages."),
    _value(MEDIA_TYPE, "facebooksession", None, "Facebook chat sessions (Messenger)."),
)

# Twitter. The guide spells the second contact attribute "_twitterFrom Addr"; a space
# cannot be part of an attached-data key, so the name is _twitterFromAddr.
TWITTER_MEDIA = _value(MEDIA_TYPE, "twitter", None, "Twitter tweets, mentions and direct messages.")
TWITTER_VALUES: tuple[AttributeValue, ...] = (
    _value(
        CONTACT_ATTRIBUTES,
        "_twitterFromUserId",
        "Twitter User ID",
        "The Twitter id of the person who wrote.",
    ),
    _value(
        CONTACT_ATTRIBUTES,
        "_twitterFromAddr",
        "Twitter From Address",
        "The Twitter screen name of the person who wrote.",
    ),
    *_custom_properties(TWITTER),
    _value(
        INTERACTION_ATTRIBUTES,
        "TwitterMsgId",
        None,
        "The Twitter status id of a tweet or direct message.",
    ),
    _value(
        INTERACTION_ATTRIBUTES,
        "_twitterGroupId",
        None,
        "The group of tweets Threaded Routing delivers together.",
    ),
    TWITTER_MEDIA,
    # The guide: "twitterdirect should be added manually ... with the same values as the
    # mediatype twitter attribute". gsetup adds it, copying every value but the names.
    dataclasses.replace(TWITTER_MEDIA, name="twitterdirect", display_name="twitterdirect"),
)

# The guide's "Enable compliance with Twitter" prerequisite.
COMPLIANCE_ID = AttributeValue(
    INTERACTION_ATTRIBUTES,
    "ComplianceId",
    "ComplianceId",
    "Twitter ComplianceId",
    annex={("settings", "is-sortable"): "true"},
)

# RSS.
RSS_VALUES: tuple[AttributeValue, ...] = (
    _value(CONTACT_ATTRIBUTES, "_rssItemAuthor", None, "The author of an RSS item."),
    _value(MEDIA_TYPE, "rss", None, "Items of RSS feeds."),
)

# The wizard's "Interaction Custom Properties for iWD integration" checkbox.
IWD_VALUES = _custom_properties(IWD)

# Default_Social_Media_Capacity_rule maxima per media type: how many interactions of the
# type one agent may hold at once. Posts, tweets and private messages are asynchronous, so an
# agent can work on several; a Facebook session is a live chat and needs more attention.
CAPACITY_RULE = "Default_Social_Media_Capacity_rule"
CAPACITY_LIMITS: dict[str, int] = {
    "facebook": 5,
    "facebookprivatemessage": 5,
    "facebooksession": 3,
    "twitter": 5,
    "twitterdirect": 5,
    "rss": 5,
}


def capacity_for(values: tuple[AttributeValue, ...]) -> dict[str, int]:
    """The capacity rule limits for the media types among ``values``."""
    return {v.name: CAPACITY_LIMITS[v.name] for v in values if v.attribute is MEDIA_TYPE}
