"""Strategy files (format ``gsetup-strategy/1``): model, loader, validator and rendering."""

from __future__ import annotations

from gsetup.strategy.loader import load_strategy, parse_strategy
from gsetup.strategy.model import Strategy, walk
from gsetup.strategy.references import check_references
from gsetup.strategy.render import render_strategies

__all__ = [
    "Strategy",
    "check_references",
    "load_strategy",
    "parse_strategy",
    "render_strategies",
    "walk",
]
