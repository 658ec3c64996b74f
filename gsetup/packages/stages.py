"""Name a Business Process's queues and strategies the way the guide does.

The guide names a stage's strategy "<Family> <Stage> Strategy<suffix>" (suffix "-iWD",
"-TR", " - Single Comment Routing"...) and Threaded Routing's queues "Twitter TR <Stage>
Queue"; gsetup names every variant's queues that way, so that variants installed in one
tenant never share a queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from gsetup.packages.model import Queue, Strategy

# The entry queue of the iWD Business Process "Standard Genesys to iWD Adapter", where the iWD
# packages hand interactions to iWD. They create it when the iWD installation has not.
IWD_ADAPTER_QUEUE = "Standard Genesys to iWD Adapter Queue"


@dataclass(frozen=True)
class Stage:
    """A stage: its strategy serves the stage's queue. ``name`` overrides the pattern."""

    stage: str
    template: str
    description: str
    name: str | None = None


@dataclass(frozen=True)
class Subroutine:
    """A subroutine; its name is ``base`` followed by the variant's suffix."""

    base: str
    template: str
    description: str


class Layout(TypedDict):
    """A variant's queues and strategies and how they are named; a :class:`Package` takes
    it as keyword arguments."""

    queue_prefix: str
    suffix: str
    queues: tuple[Queue, ...]
    strategies: tuple[Strategy, ...]


def build(
    family: str,
    queue_prefix: str,
    suffix: str,
    stages: tuple[Stage, ...],
    subroutines: tuple[Subroutine, ...] = (),
    parking: str | None = None,
) -> Layout:
    """The queues and strategies of one variant. ``parking`` describes a queue without a
    strategy, "<prefix> Parking Queue", where interactions are parked."""
    queues: list[Queue] = []
    strategies: list[Strategy] = []
    for s in stages:
        queue = f"{queue_prefix} {s.stage} Queue"
        name = s.name or f"{family} {s.stage} Strategy{suffix}"
        queues.append(Queue(queue, f"The {s.stage} stage, served by {name}."))
        strategies.append(Strategy(name, s.template, queue, s.description))
    if parking is not None:
        queues.append(Queue(f"{queue_prefix} Parking Queue", parking))
    strategies.extend(
        Strategy(f"{r.base}{suffix}", r.template, None, r.description) for r in subroutines
    )
    return Layout(
        queue_prefix=queue_prefix, suffix=suffix, queues=tuple(queues), strategies=tuple(strategies)
    )
