"""The Business Process for use with Facebook packages: the guide's four Facebook BPs."""

from __future__ import annotations

from gsetup.columns import FACEBOOK, IWD
from gsetup.packages.attributes import (
    ENGLISH_SENTIMENT,
    FACEBOOK_VALUES,
    IWD_VALUES,
    UMS_MEDIA_ACCOUNT,
    capacity_for,
)
from gsetup.packages.model import Package
from gsetup.packages.stages import IWD_ADAPTER_QUEUE, Stage, Subroutine, build

# The guide's latest Facebook BP release is 8.5.1 (its scripts are named ...Facebook851.sql);
# the installation package's build number is not published, so gsetup uses .00.
VERSION = "8.5.100.00"

_VALUES = (UMS_MEDIA_ACCOUNT, ENGLISH_SENTIMENT, *FACEBOOK_VALUES)
_CAPACITY = capacity_for(FACEBOOK_VALUES)

INBOUND = Stage(
    "Inbound",
    "facebook/inbound.yaml.j2",
    "Filters questions, parks comment-only interactions, merges interactions of "
    "the same post and passes the rest to the buffer stage.",
)
BUFFER = Stage(
    "Inbound Buffer",
    "facebook/inbound-buffer.yaml.j2",
    "Holds an interaction while an agent handles another one of the same post.",
)
CLASSIFY = Stage(
    "Classify-Screen",
    "facebook/classify-screen.yaml.j2",
    "Screens and classifies the post; subroutines do the comments.",
)
CALCULATION = Stage(
    "Calculation",
    "facebook/calculation.yaml.j2",
    "Turns the classification keys into desktop_sentiment, desktop_actionable and desktop_expand.",
)
AGENT_DELIVERY = Stage(
    "Agent Delivery",
    "facebook/agent-delivery.yaml.j2",
    "Creates the interaction in UCS and delivers it to any agent with "
    "capacity (the guide's skill expression 1=1).",
)
OUTBOUND = Stage(
    "Outbound",
    "facebook/outbound.yaml.j2",
    "Sends the agent's reply through Digital Messaging Server.",
)
OUTBOUND_INIT = Stage(
    "Outbound Init",
    "common/outbound-init.yaml.j2",
    "Holds an outbound interaction while the agent writes it; ends it after one month.",
)
STOP = Stage("Stop", "common/stop.yaml.j2", "Terminates interactions with no reply.")

SCREEN = Subroutine(
    "Facebook Screen Comments Subroutine",
    "facebook/screen-comments.yaml.j2",
    "Screens a comment for sentiment and actionability.",
)
CLASSIFY_COMMENTS = Subroutine(
    "Facebook Classify Comments Subroutine",
    "facebook/classify-comments.yaml.j2",
    "Classifies a comment for sentiment and actionability.",
)
IDENTIFY = Subroutine(
    "Facebook Identify Contact Subroutine",
    "facebook/identify-contact.yaml.j2",
    "Finds or creates the UCS contact of a Facebook author.",
)
PARK = Subroutine(
    "Stop Interaction Comments in Parking Queue",
    "facebook/park-comments.yaml.j2",
    "Creates the contact of a comment's author, then terminates the interaction; "
    "parks it when the contact cannot be created.",
)

_PARKING = "Comment-only interactions that could not be processed wait here; no strategy."

_fb = build(
    "Facebook",
    "Facebook",
    "",
    (INBOUND, BUFFER, CLASSIFY, CALCULATION, AGENT_DELIVERY, OUTBOUND, OUTBOUND_INIT, STOP),
    (SCREEN, CLASSIFY_COMMENTS, IDENTIFY, PARK),
    parking=_PARKING,
)
FACEBOOK_BP = Package(
    name="facebook-bp",
    title="Facebook BP",
    version=VERSION,
    family="facebook",
    description="Submits Facebook interactions to agents: merges comments of one post, "
    "buffers them while an agent handles the post, screens and classifies them.",
    **_fb,
    values=_VALUES,
    script_pairs=(FACEBOOK,),
    iwd_values=IWD_VALUES,
    capacity=_CAPACITY,
    settings={"delivery_queue": "Facebook Agent Delivery Queue"},
)

_iwd = build(
    "Facebook",
    "Facebook iWD",
    "-iWD",
    (
        INBOUND,
        BUFFER,
        CLASSIFY,
        CALCULATION,
        Stage(
            "Delivery",
            "common/iwd-delivery.yaml.j2",
            "Passes the interaction to the Standard Genesys to iWD Adapter.",
            name="Facebook iWD Delivery Strategy",
        ),
    ),
    (SCREEN, CLASSIFY_COMMENTS, IDENTIFY, PARK),
    parking=_PARKING,
)
FACEBOOK_BP_IWD = Package(
    name="facebook-bp-iwd",
    title="Facebook BP-iWD",
    version=VERSION,
    family="facebook",
    description="Facebook BP's inbound, buffer and classification stages, then hands the "
    "interaction to iWD (Standard Genesys to iWD Adapter, IWDBP).",
    **_iwd,
    # The guide's "Facebook with iWD Integration" objects; the rest comes with facebook-bp.
    values=IWD_VALUES,
    script_pairs=(IWD,),
    requires=("facebook-bp",),
    settings={"delivery_queue": "Facebook iWD Delivery Queue"},
    foreign_queues=(IWD_ADAPTER_QUEUE,),
)

_scr = build(
    "Facebook",
    "Facebook SCR",
    " - Single Comment Routing",
    (
        Stage(
            "Inbound",
            "facebook-bp-single-comment/inbound.yaml.j2",
            "Filters questions and posts with several comments; passes a post with one comment on.",
        ),
        CLASSIFY,
        CALCULATION,
        AGENT_DELIVERY,
        OUTBOUND,
        OUTBOUND_INIT,
        STOP,
    ),
    (SCREEN, CLASSIFY_COMMENTS, IDENTIFY),
)
FACEBOOK_BP_SINGLE_COMMENT = Package(
    name="facebook-bp-single-comment",
    title="Facebook BP - Single Comment Routing",
    version=VERSION,
    family="facebook",
    description="Like Facebook BP, but submits only interactions of a post and exactly one "
    "comment (DMS x-submit-comments-itx = true).",
    **_scr,
    values=_VALUES,
    script_pairs=(FACEBOOK,),
    iwd_values=IWD_VALUES,
    capacity=_CAPACITY,
    settings={"delivery_queue": "Facebook SCR Agent Delivery Queue"},
)

_simple = build(
    "Facebook",
    "Facebook Simplified",
    " - Simplified",
    (
        Stage(
            "Inbound",
            "facebook-bp-simplified/inbound.yaml.j2",
            "Parks comment-only interactions; creates the rest in UCS with their post and "
            "comment ids (with the guide's private message workaround).",
        ),
        Stage(
            "Agent Delivery",
            "common/agent-delivery.yaml.j2",
            "Delivers to any agent with capacity (the guide's skill expression 1=1).",
        ),
        OUTBOUND,
        OUTBOUND_INIT,
        STOP,
    ),
    parking="Comment-only interactions are parked here; no strategy serves it.",
)
FACEBOOK_BP_SIMPLIFIED = Package(
    name="facebook-bp-simplified",
    title="Facebook BP - Simplified",
    version=VERSION,
    family="facebook",
    description="Processes Facebook interactions in the most simple way: create in UCS, "
    "deliver to an agent; comment-only interactions are parked.",
    **_simple,
    values=_VALUES,
    script_pairs=(FACEBOOK,),
    iwd_values=IWD_VALUES,
    capacity=_CAPACITY,
)

PACKAGES = (FACEBOOK_BP, FACEBOOK_BP_SIMPLIFIED, FACEBOOK_BP_IWD, FACEBOOK_BP_SINGLE_COMMENT)
