"""Business attribute steps: the ComplianceId interaction attribute ("Enable compliance with
Twitter", Prerequisites) and the twitterdirect media type the guide says to add by hand
("Objects Installed with Sample Business Processes", Twitter, Important)."""

from __future__ import annotations

from gsetup.configure.snapshot import Snapshot, read_tenant
from gsetup.context import Context
from gsetup.errors import BadInputError
from gsetup.packages.attributes import COMPLIANCE_ID, INTERACTION_ATTRIBUTES, MEDIA_TYPE
from gsetup.packages.desired import attribute_object, value_object
from gsetup.packages.model import BusinessAttribute
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.state import DesiredObject, DesiredState, OptionValue, object_path

TWITTER = "twitter"
TWITTERDIRECT = "twitterdirect"


def existing_or_new(snap: Snapshot, attribute: BusinessAttribute) -> DesiredObject:
    """``attribute`` as the guide defines it when it is missing; left as it is otherwise."""
    if attribute.name in snap.attributes:
        return DesiredObject(
            "business_attribute", object_path("business_attribute", attribute.name)
        )
    return attribute_object(attribute)


def enable_twitter_compliance(ctx: Context, tenant: str, *, dry_run: bool) -> Plan:
    """The interaction attribute ComplianceId (annex ``settings/is-sortable = true``) the
    Twitter Outbound Strategy stores each sent tweet's compliance id in."""
    snap = read_tenant(ctx, tenant, [INTERACTION_ATTRIBUTES.name])
    state = DesiredState(tenant)
    state.add(existing_or_new(snap, INTERACTION_ATTRIBUTES))
    state.add(value_object(COMPLIANCE_ID))
    return run_plan(ctx, state, "configure twitter-compliance", dry_run=dry_run)


def add_twitterdirect(ctx: Context, tenant: str, *, dry_run: bool) -> Plan:
    """The media type twitterdirect, "with the same values as the mediatype twitter
    attribute": its description and annex copied, its own name as display name."""
    snap = read_tenant(ctx, tenant, [MEDIA_TYPE.name])
    twitter = snap.attribute_value(MEDIA_TYPE.name, TWITTER)
    if twitter is None:
        raise BadInputError(
            f"tenant {tenant!r} has no media type {TWITTER!r} to copy: install a Twitter "
            "Business Process first (`gsetup install twitter-bp`)"
        )
    annex = {
        key: OptionValue(option.value, secret=option.secret)
        for key, option in twitter.annex.items()
    }
    attrs = {"display_name": TWITTERDIRECT, "description": twitter.description}
    path = object_path("attribute_value", MEDIA_TYPE.name, TWITTERDIRECT)
    state = DesiredState(tenant, [DesiredObject("attribute_value", path, attrs, annex)])
    return run_plan(ctx, state, "configure twitterdirect", dry_run=dry_run)
