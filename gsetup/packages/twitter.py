"""The Business Process for use with Twitter packages: Twitter BP, with iWD, Threaded Routing."""

from __future__ import annotations

from gsetup.columns import IWD, TWITTER
from gsetup.packages.attributes import (
    COMPLIANCE_ID,
    ENGLISH_SENTIMENT,
    IWD_VALUES,
    TWITTER_VALUES,
    UMS_MEDIA_ACCOUNT,
    capacity_for,
)
from gsetup.packages.model import Package
from gsetup.packages.stages import IWD_ADAPTER_QUEUE, Stage, Subroutine, build

# "Business process for use with Twitter 8.5.400.91", the release the guide names.
VERSION = "8.5.400.91"

# ComplianceId: the guide's "Enable compliance with Twitter", which gsetup applies.
_VALUES = (UMS_MEDIA_ACCOUNT, ENGLISH_SENTIMENT, *TWITTER_VALUES, COMPLIANCE_ID)
_CAPACITY = capacity_for(TWITTER_VALUES)

INBOUND = Stage(
    "Inbound",
    "twitter/inbound.yaml.j2",
    "Keeps the order of creation, creates the interaction in UCS once, threads it "
    "and creates the contact.",
)
CLASSIFY = Stage(
    "Classify-Screen",
    "twitter/classify-screen.yaml.j2",
    "Screens and classifies; attaches Actionability and Sentiment.",
)
INFLUENCE = Stage(
    "Influence Calculation",
    "twitter/influence.yaml.j2",
    "Asks the Klout service for the author's influence and attaches it.",
)
CALCULATION = Stage(
    "Calculation",
    "twitter/calculation.yaml.j2",
    "Turns the classification keys into desktop_sentiment, desktop_actionable and desktop_expand.",
)
AGENT_DELIVERY = Stage(
    "Agent Delivery",
    "common/agent-delivery.yaml.j2",
    "Delivers to any agent with capacity (the guide's skill expression 1=1).",
)
OUTBOUND = Stage(
    "Outbound",
    "twitter/outbound.yaml.j2",
    "Sends the agent's reply through Digital Messaging Server, retrying; keeps the "
    "status id and the ComplianceId.",
)
OUTBOUND_INIT = Stage(
    "Outbound Init",
    "common/outbound-init.yaml.j2",
    "Holds an outbound interaction while the agent writes it; ends it after one month.",
)
STOP = Stage("Stop", "common/stop.yaml.j2", "Terminates interactions with no reply.")

SCREEN = Subroutine(
    "Twitter Screen Subroutine",
    "twitter/screen.yaml.j2",
    "Screens a text for sentiment and actionability.",
)
CLASSIFY_TEXT = Subroutine(
    "Twitter Classify Subroutine",
    "twitter/classify.yaml.j2",
    "Classifies a text for sentiment and actionability.",
)
DESKTOP_FLAGS = Subroutine(
    "TwitterCalculationOfDesktopFlags",
    "twitter/desktop-flags.yaml.j2",
    "Folds one tweet's classification into the desktop flags.",
)

_bp = build(
    "Twitter",
    "Twitter",
    "",
    (INBOUND, CLASSIFY, INFLUENCE, CALCULATION, AGENT_DELIVERY, OUTBOUND, OUTBOUND_INIT, STOP),
    (SCREEN, CLASSIFY_TEXT, DESKTOP_FLAGS),
)
TWITTER_BP = Package(
    name="twitter-bp",
    title="Twitter BP",
    version=VERSION,
    family="twitter",
    description="Submits tweets and direct messages to agents after screening, "
    "classification and influence calculation; sends replies with retries.",
    **_bp,
    values=_VALUES,
    script_pairs=(TWITTER,),
    iwd_values=IWD_VALUES,
    capacity=_CAPACITY,
    settings={"delivery_queue": "Twitter Agent Delivery Queue"},
)

# The guide names no delivery strategy for Twitter BP with iWD: its calculation stage hands
# the interaction to the iWD adapter.
_iwd = build(
    "Twitter",
    "Twitter iWD",
    "-iWD",
    (INBOUND, CLASSIFY, INFLUENCE, CALCULATION),
    (SCREEN, CLASSIFY_TEXT, DESKTOP_FLAGS),
)
TWITTER_BP_IWD = Package(
    name="twitter-bp-iwd",
    title="Twitter BP with iWD",
    version=VERSION,
    family="twitter",
    description="Twitter BP's inbound, screening and calculation stages, then hands the "
    "interaction to iWD (Standard Genesys to iWD Adapter, IWDBP).",
    **_iwd,
    values=IWD_VALUES,
    script_pairs=(IWD,),
    requires=("twitter-bp",),
    settings={"delivery_queue": IWD_ADAPTER_QUEUE},
    foreign_queues=(IWD_ADAPTER_QUEUE,),
)

# Ten strategies, four subroutines, ten queues: the three grouping stages replace Twitter
# Inbound Strategy; "the remaining seven strategies are the same" as Twitter BP's.
_tr = build(
    "Twitter",
    "Twitter TR",
    "-TR",
    (
        Stage(
            "Inbound",
            "twitter-bp-tr/inbound.yaml.j2",
            "Merges the interaction into an older one of the same Twitter group, or passes it "
            "to the buffer.",
        ),
        Stage(
            "Inbound Buffer",
            "twitter-bp-tr/inbound-buffer.yaml.j2",
            "Holds the interaction for the channel's grouping-timeout so the sender's other "
            "tweets join it.",
        ),
        Stage("Post Buffer", "twitter/inbound.yaml.j2", INBOUND.description),
        CLASSIFY,
        INFLUENCE,
        CALCULATION,
        AGENT_DELIVERY,
        OUTBOUND,
        OUTBOUND_INIT,
        STOP,
    ),
    (
        SCREEN,
        CLASSIFY_TEXT,
        DESKTOP_FLAGS,
        Subroutine(
            "TwitterCalculationOfDesktopFlagsOtherPosts",
            "twitter-bp-tr/desktop-flags-other-posts.yaml.j2",
            "Calls TwitterCalculationOfDesktopFlags-TR for every tweet of the group.",
        ),
    ),
)
TWITTER_BP_TR = Package(
    name="twitter-bp-tr",
    title="Twitter BP - Threaded Routing",
    version=VERSION,
    family="twitter",
    description="Groups a sender's tweets that arrive within the channel's grouping-timeout "
    "and submits each group to an agent as one interaction.",
    **_tr,
    values=_VALUES,
    script_pairs=(TWITTER,),
    iwd_values=IWD_VALUES,
    capacity=_CAPACITY,
    settings={"delivery_queue": "Twitter TR Agent Delivery Queue", "grouped": "yes"},
)

PACKAGES = (TWITTER_BP, TWITTER_BP_IWD, TWITTER_BP_TR)
