"""Refuse to commit a value computed from a read that another writer has since changed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from gsetup.errors import ConflictError
from gsetup.plan.model import Plan
from gsetup.state import OptionKey

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

BeforeCommit = Callable[["Connection", Plan], None]


def expect_options(read: Mapping[tuple[str, OptionKey], str | None]) -> BeforeCommit:
    """A ``before_commit`` hook that rolls back when an option the step merged into (such as
    the media filters) no longer holds the value read before planning (None: absent).

    The apply re-plans under the tenant lock, so the plan's ``before`` is the value the
    merge overwrites; a different one means someone changed it in between, and writing the
    merge would lose their change.
    """

    def check(_conn: Connection, plan: Plan) -> None:
        for change in plan.changes:
            if change.target != "option" or change.option is None:
                continue
            key = (change.path, change.option)
            if key not in read or change.action == "keep":
                continue
            found = change.before if change.action == "update" else None
            if found != read[key]:
                section, name = change.option
                raise ConflictError(
                    f"{change.path} [{section}] {name} changed while gsetup was planning; "
                    "nothing was written: run the command again"
                )

    return check
