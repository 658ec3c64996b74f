"""The influence service that replaces Klout: a score from the author's follower count."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol


class InfluenceProvider(Protocol):
    """``Klout.Score``: an influence score 0-100 for a user."""

    def score(self, args: Mapping[str, Any], udata: Mapping[str, Any]) -> Mapping[str, Any]:
        """``{value, followers}`` for the user the arguments name."""


FOLLOWER_KEYS = ("followers", "_twitterFollowersCount", "_twitterFromFollowers", "FollowersCount")


class FollowerCountInfluence:
    """score = 20 x log10(followers + 1), at most 100: 9 followers score 20, 99 score 40,
    99,999 score 100. The count comes from the ``followers`` argument, else from the
    interaction's user data (the drivers' follower-count keys)."""

    def score(self, args: Mapping[str, Any], udata: Mapping[str, Any]) -> Mapping[str, Any]:
        """The score; an unknown follower count scores 0."""
        followers = args.get("followers")
        for key in FOLLOWER_KEYS:
            if followers is not None:
                break
            followers = udata.get(key)
        try:
            count = max(0, int(followers)) if followers is not None else 0
        except (TypeError, ValueError):
            count = 0
        return {"value": min(100, round(20 * math.log10(count + 1))), "followers": count}
