"""The legal terms to accept before deploying or upgrading the Cloud API drivers.

The solution guide ("Legal Terms for Social Engagement 9.0.x", "Installing On-premise
Components"): the terms must be read and accepted before a deployment or an upgrade, by new
and upgrading customers alike. gsetup does not copy the terms' text; the wizard shows where
they are and records the version accepted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LegalTerms:
    """Where the terms are, their version, and the question the wizard asks."""

    title: str
    version: str
    where: str
    notice: str
    question: str


SOCIAL_ENGAGEMENT_TERMS = LegalTerms(
    title="Legal Terms for Social Engagement 9.0.0",
    version="9.0.0",
    where=(
        'Genesys Social Engagement solution guide, chapter "Legal Terms for Social Engagement '
        '9.0.0" (linked from "Installing On-premise Components")'
    ),
    notice=(
        "This document must be read in full and its terms accepted prior to the deployment or "
        "upgrade of Genesys Social Engagement."
    ),
    question="Do you accept these terms?",
)
