"""Strategy files (format ``gsetup-strategy/1``): model, loader, validator, expressions and
references. The file format only: it never imports the package catalogue, so the routing
runtime loads strategy files without it (rendering at install time is
``gsetup.installer.strategies``)."""

from __future__ import annotations

from gsetup.strategy.loader import load_strategy, parse_strategy
from gsetup.strategy.model import Strategy, walk
from gsetup.strategy.references import check_references

__all__ = [
    "Strategy",
    "check_references",
    "load_strategy",
    "parse_strategy",
    "walk",
]
