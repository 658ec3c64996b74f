"""The other interaction stores a tenant's runtimes used, recorded beside the configuration
database for ``gsetup agent remove`` to check: list them, and forget one dropped for good (it
would refuse every removal, unless told to skip the stores it cannot read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gsetup.configdb.database import redact_url, short_url, url_or_none
from gsetup.configdb.tenants import tenant_id
from gsetup.context import Context
from gsetup.errors import BadInputError, ConflictError, NotFoundError
from gsetup.fileio import quote_prefix
from gsetup.plan.model import Change, Plan
from gsetup.runtime.endpoints import UsedStore, store_key, unreadable, used_stores_of


def list_stores(ctx: Context, tenant: str | None) -> list[dict[str, Any]]:
    """The recorded stores of ``tenant`` (None: of every tenant the user may see), each
    with whether ``agent remove`` can read it now, and if not why."""
    if tenant is not None:
        check_tenant(ctx, tenant, change=False)
    found = [
        used
        for used in used_stores_of(default_store(ctx), tenant)
        if ctx.identity.can_see(used.tenant)
    ]
    problems = {store: unreadable(store) for store in {used.store for used in found}}
    return [
        {
            "tenant": used.tenant,
            "store": redact_url(used.store),
            "last_used_at": datetime.fromtimestamp(used.last_used_at, UTC).isoformat(
                timespec="seconds"
            ),
            "reachable": problems[used.store] is None,
            "reason": problems[used.store],
        }
        for used in found
    ]


def forget_store(
    ctx: Context, tenant: str, store: str, *, dry_run: bool, skip_unreachable: bool = False
) -> Plan:
    """Forget the recorded store ``store`` (its URL, with or without its password, or as
    listed) of ``tenant``. Refused while a runtime serves the tenant on it, and when that
    cannot be checked (the store cannot be read) unless ``skip_unreachable``."""
    from gsetup.runtime.endpoints import forget_store as forget

    check_tenant(ctx, tenant, change=True)
    if url_or_none(store) is None:
        raise BadInputError(
            f"{quote_prefix(redact_url(store))} is not a store URL; give one that gsetup route "
            "store list shows, e.g. sqlite:///path/runtime.db or postgresql+psycopg://user@host/dbname"
        )
    default = default_store(ctx)
    recorded = used_stores_of(default, tenant)
    matches = [used for used in recorded if store_key(used.store) == store_key(store)]
    if not matches:
        known = ", ".join(short_url(used.store) for used in recorded) or "none"
        raise NotFoundError(
            f"the store {short_url(store)} is not recorded for tenant {tenant!r} (recorded: "
            f"{known}; the default store is not one of them, it is always checked)"
        )
    _refuse_if_serving(tenant, store, matches, skip_unreachable)
    plan = Plan(
        tenant,
        changes=[
            Change(
                "delete",
                "store",
                "runtime store",
                short_url(used.store),
                note="gsetup agent remove no longer checks it",
            )
            for used in matches
        ],
    )
    if not dry_run:
        forget(default, tenant, [used.store for used in matches])
    return plan


def _refuse_if_serving(
    tenant: str, given: str, matches: list[UsedStore], skip_unreachable: bool
) -> None:
    """A runtime serving on the store would go on holding interactions there, unchecked;
    one that cannot be read may have such a runtime (a wrong password, a server down)."""
    from sqlalchemy.exc import SQLAlchemyError

    from gsetup.configdb.database import first_line
    from gsetup.runtime.context import Settings
    from gsetup.runtime.endpoints import running_url

    why = None
    for url in (given, *(used.store for used in matches)):
        try:
            serving = running_url(url, tenant, lease=Settings().lease)
        except SQLAlchemyError as exc:  # unreadable with this URL: try the recorded one
            why = why or first_line(exc)
            continue
        if serving is not None:
            raise ConflictError(
                f"a runtime serves tenant {tenant!r} on the store {short_url(given)} (at "
                f"{serving}): stop it first; the store stays in use"
            )
        return
    if not skip_unreachable:
        raise BadInputError(
            f"the store {short_url(given)} could not be read ({why}), so whether a runtime "
            f"serves tenant {tenant!r} on it is unknown; if it was dropped for good, give "
            "--skip-unreachable to forget it unchecked"
        )


def check_tenant(ctx: Context, tenant: str, *, change: bool) -> None:
    """A tenant the user may see (``change``: change), which exists: a mistyped name is not
    a tenant without stores (nor one without a runtime)."""
    ctx.identity.require(tenant, change=change)
    with ctx.db.engine.connect() as conn:
        tenant_id(conn, tenant)


def default_store(ctx: Context) -> str:
    """The interaction store beside the configuration database, where the other ones a
    tenant's runtimes used are recorded."""
    from gsetup.runtime.store import default_store_url

    return default_store_url(ctx.db.url.render_as_string(hide_password=False))
