"""The catalogue of installable Business Process packages and what each installs."""

from __future__ import annotations

from gsetup.packages.catalogue import catalogue, get_package
from gsetup.packages.desired import desired_state
from gsetup.packages.model import Answers, Package
from gsetup.packages.next_steps import next_steps

__all__ = ["Answers", "Package", "catalogue", "desired_state", "get_package", "next_steps"]
