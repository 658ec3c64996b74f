"""Interaction Server database scripts: generation, listing, export, placement and apply.

The scripts are generated from gsetup.columns (``python -m gsetup.sqlscripts.generate``)
and shipped as package data; see docs/sql.md.
"""

from __future__ import annotations

from gsetup.sqlscripts.placement import export_scripts, place_scripts, remove_placed_scripts

__all__ = ["export_scripts", "place_scripts", "remove_placed_scripts"]
