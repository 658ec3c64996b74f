"""The typed data a package is described with: answers, business attribute values, queues,
strategies and the package itself. Pure data; building a desired state is
:mod:`gsetup.packages.desired`'s job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from gsetup.columns import ScriptPair

Family = Literal["facebook", "twitter", "rss"]


@dataclass(frozen=True)
class Answers:
    """What the BP wizard asks (the guide's steps 5-8), as an answers file or prompts give it.

    ``capacity_rule`` None means the package's own ``Default_Social_Media_Capacity_rule``,
    which is then created; the name of an existing rule means: use that one, create none.
    """

    tenant: str
    iwd_custom_properties: bool
    strategy_dir: str
    capacity_rule: str | None = None


@dataclass(frozen=True)
class BusinessAttribute:
    """A business attribute (a folder of values) such as ``Media Type``."""

    name: str
    display_name: str
    description: str
    attr_type: str


@dataclass(frozen=True)
class AttributeValue:
    """One value of a business attribute, with its annex as ``{(section, key): value}``."""

    attribute: BusinessAttribute
    name: str
    display_name: str
    description: str
    is_default: bool = False
    annex: Mapping[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Queue:
    """An interaction queue of a Business Process."""

    name: str
    description: str


@dataclass(frozen=True)
class Strategy:
    """A strategy (serving ``queue``) or a subroutine (``queue`` None) and its template.

    ``template`` is relative to ``gsetup/templates/strategies``.
    """

    name: str
    template: str
    queue: str | None
    description: str

    @property
    def subroutine(self) -> bool:
        """Subroutines serve no queue; strategies call them."""
        return self.queue is None

    @property
    def file_name(self) -> str:
        """The strategy file's name in the strategy directory, derived from its name."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") + ".yaml"


@dataclass(frozen=True)
class Package:
    """An installable Business Process package of the catalogue.

    ``values`` are the business attribute values the guide's "Objects Installed" page lists
    for it; ``iwd_values`` are added when the wizard's iWD checkbox is ticked. ``capacity``
    holds the per media type maxima of the default capacity rule; an add-on package (one
    that ``requires`` another) has none and leaves capacity to the package it requires.
    ``queue_prefix`` and ``suffix`` are how its queue and strategy names are made
    (:func:`gsetup.packages.stages.build`). ``settings`` are extra values the strategy
    templates are rendered with; ``foreign_queues`` queues of another product it routes to.
    """

    name: str
    title: str
    version: str
    family: Family
    description: str
    queue_prefix: str
    suffix: str
    queues: tuple[Queue, ...]
    strategies: tuple[Strategy, ...]
    values: tuple[AttributeValue, ...]
    script_pairs: tuple[ScriptPair, ...]
    requires: tuple[str, ...] = ()
    iwd_values: tuple[AttributeValue, ...] = ()
    capacity: Mapping[str, int] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)
    # Queues of another product that the strategies route to (iWD's adapter queue): created
    # when missing, in no Business Process, and never changed when someone else made them.
    foreign_queues: tuple[str, ...] = ()

    def stage_queue(self, stage: str) -> str:
        """The name of the package's queue of ``stage``; KeyError when it has none."""
        name = f"{self.queue_prefix} {stage} Queue"
        if name not in {q.name for q in self.queues}:
            raise KeyError(name)
        return name

    def subroutine(self, base: str) -> str:
        """The name of the package's subroutine ``base``; KeyError when it has none."""
        name = f"{base}{self.suffix}"
        if name not in {s.name for s in self.strategies if s.subroutine}:
            raise KeyError(name)
        return name
