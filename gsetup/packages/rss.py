"""RSS BP. The guide lists its objects but has no page for it: the four stages here are the
minimum that reads an item once, screens it and delivers it (docs/packages.md)."""

from __future__ import annotations

from gsetup.packages.attributes import ENGLISH_SENTIMENT, IWD_VALUES, RSS_VALUES, capacity_for
from gsetup.packages.facebook import VERSION
from gsetup.packages.model import Package
from gsetup.packages.stages import Stage, build

# The guide gives no RSS BP release; it carries the Facebook family's version (8.5.1).

_layout = build(
    "RSS",
    "RSS",
    "",
    (
        Stage(
            "Inbound",
            "rss-bp/inbound.yaml.j2",
            "Drops items already in UCS, creates the item and its author's contact.",
        ),
        Stage(
            "Classify-Screen",
            "rss-bp/classify-screen.yaml.j2",
            "Screens and classifies the item for sentiment and actionability.",
        ),
        Stage(
            "Agent Delivery",
            "common/agent-delivery.yaml.j2",
            "Delivers to any agent with capacity.",
        ),
        Stage("Stop", "common/stop.yaml.j2", "Terminates items an agent is done with."),
    ),
)

RSS_BP = Package(
    name="rss-bp",
    title="RSS BP",
    version=VERSION,
    family="rss",
    description="Submits items of RSS feeds to agents after screening and classification.",
    **_layout,
    # The guide's RSS list: no _umsMediaAccount, which is common to Facebook and Twitter only.
    values=(*RSS_VALUES, ENGLISH_SENTIMENT),
    script_pairs=(),
    iwd_values=IWD_VALUES,
    capacity=capacity_for(RSS_VALUES),
)

PACKAGES = (RSS_BP,)
