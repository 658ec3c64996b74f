"""JSON views of the runtime facade's results (status, agents, offers), one shape for the
HTTP API and the CLI."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any


def to_json(result: Any) -> Any:
    """A facade dataclass (nested mappings and tuples included) as JSON-ready data."""
    return json.loads(json.dumps(asdict(result), default=dict))
