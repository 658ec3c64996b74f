"""What a strategy file may name: functions, external services and the expression context.

The loader refuses anything not listed here, so a typo is found when the file is loaded and
the routing runtime only has to implement what this module promises.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Signature:
    """The argument names a function accepts; ``result`` says whether it returns a value."""

    required: frozenset[str]
    optional: frozenset[str] = frozenset()
    result: bool = False

    @property
    def allowed(self) -> frozenset[str]:
        """Every argument name the function accepts."""
        return self.required | self.optional


def _sig(required: str = "", optional: str = "", *, result: bool = False) -> Signature:
    return Signature(frozenset(required.split()), frozenset(optional.split()), result)


# `call` blocks. Names are gsetup's; the IRD function each stands for is in
# docs/strategy-format.md.
FUNCTIONS: dict[str, Signature] = {
    # Update[key, value]; user data is a mapping, so a key is never duplicated (KVListSetData).
    "update_user_data": _sig("key value"),
    "delete_user_data": _sig("key"),
    # MergeItxData: merge this interaction into an older one of the same business process that
    # has the same value in `column` and is still before its target; true when merged.
    "merge_itx_data": _sig("column value", "flags", result=True),
    # An interaction other than this one with `column` = `value` in `state` (queued, routing or
    # agent), optionally created before `before`; none when there is no such interaction.
    "find_interaction": _sig("column value state", "before", result=True),
    # Hold this interaction while an older one whose user data `key` has `value` is still in
    # this strategy, so that a sender's messages reach agents in the order they were created.
    "keep_order": _sig("key value", "order"),
    # The comments of a Facebook post, from its _facebookXML: a list of {id, author, text}.
    "facebook_comments": _sig("xml", result=True),
    # An option of the Digital Messaging Server channel the interaction came from.
    "channel_option": _sig("option", "default", result=True),
}

# `service` blocks: the external services (ESP servers) and their methods.
SERVICES: dict[str, frozenset[str]] = {
    "UCS": frozenset(
        {
            "IdentifyContact",
            "InteractionExists",
            "CreateInteraction",
            "UpdateInteraction",
            "FindInteraction",
        }
    ),
    "ClassificationServer": frozenset({"Screen", "Classify"}),
    "DMS": frozenset({"SendMessage", "SubmitPost", "SubmitComment"}),
    "Klout": frozenset({"Score"}),
}

# Names every expression may use: the interaction's attached data and its properties.
CONTEXT_NAMES: frozenset[str] = frozenset({"udata", "itx"})
# Only a target's skill expression sees the agent it is tested against.
AGENT_NAME = "agent"

FORMAT = "gsetup-strategy/1"
