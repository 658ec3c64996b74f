"""The component versions Twitter BP - Threaded Routing needs ("Deploying", step 1), and how
gsetup compares Genesys version numbers."""

from __future__ import annotations

import re

# "Social Media Plug-in for Workspace version 8.5.400.86 or higher", "Cloud API Driver for
# Twitter 8.5.400.53 or higher", "Cloud API Driver for Facebook 8.5.400.67 or higher
# (required only if you have both Facebook and Twitter channels in the same Digital
# Messaging Server)".
PLUGIN_MINIMUM = "8.5.400.86"
DRIVER_MINIMUMS = {"twitter": "8.5.400.53", "facebook": "8.5.400.67"}

_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)+")


def parse_version(text: str) -> tuple[int, ...] | None:
    """``8.5.400.86`` as numbers to compare; None for anything that is not dotted numbers
    (gsetup's built-in driver package says ``gsetup-builtin-1``)."""
    text = text.strip()
    if not _VERSION.fullmatch(text):
        return None
    return tuple(int(part) for part in text.split("."))
