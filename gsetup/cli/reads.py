"""The read commands' bodies (``list``, ``tenant list``, ``object show``, ``app show``,
``history``), without typer.

The typer commands and the quick dispatch of :mod:`gsetup.cli.quick` both call these, so a read
answers the same whichever path parsed it. Nothing here imports typer or the ORM.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsetup.cli.common import emit_json
from gsetup.cli.render import print_lines, print_mapping, print_table

if TYPE_CHECKING:
    from gsetup.context import Context
    from gsetup.deployment import ConfigObject


def show_packages(ctx: Context, *, as_json: bool) -> None:
    """``gsetup list``: the catalogue, what each package requires and where it is installed."""
    from gsetup.commands.packages import list_packages

    packages = list_packages(ctx)
    if as_json:
        emit_json(packages)
        return
    rows = [
        (
            p["name"],
            p["version"],
            ", ".join(p["requires"]),
            "; ".join(
                f"{i['tenant']} {i['version']} {i['installed_at'] or ''}".strip()
                for i in p["installed"]
            ),
            "; ".join(_where(i) for i in p["installed"]),
        )
        for p in packages
    ]
    print_table("Packages", ("package", "version", "requires", "installed", "where"), rows)


def _where(installed: dict[str, Any]) -> str:
    """The install home, and the strategy directory unless it is the home's default one."""
    home, strategies = installed["install_home"], installed["strategy_dir"]
    if home is None or strategies is None:
        return home or strategies or ""
    if strategies == str(Path(home) / "Strategies"):
        return str(home)
    return f"{home} (strategies: {strategies})"


def show_tenants(ctx: Context, *, as_json: bool) -> None:
    """``gsetup tenant list``: the tenants the user may see."""
    from gsetup.commands.tenants import list_tenants

    names = list_tenants(ctx)
    if as_json:
        emit_json(names)
    else:
        print_table("Tenants", ("name",), [(n,) for n in names])


def show_object(ctx: Context, full_path: str, *, as_json: bool) -> None:
    """``gsetup object show``: one object by its full path (tenant first)."""
    from gsetup.commands.objects import show_object as find
    from gsetup.commands.objects import split_full_path

    tenant, path = split_full_path(full_path)
    obj = find(ctx, tenant, path)
    emit_json(object_json(tenant, obj)) if as_json else print_object(tenant, obj)


def show_app(ctx: Context, tenant: str, name: str, *, as_json: bool) -> None:
    """``gsetup app show``: an application's settings and options."""
    from gsetup.commands.objects import show_app as find

    found = find(ctx, tenant, name)
    emit_json(object_json(tenant, found)) if as_json else print_object(tenant, found)


def show_history(
    ctx: Context, tenant: str | None, limit: int, *, changes: bool, as_json: bool
) -> None:
    """``gsetup history``: the newest ``limit`` entries, with their changes if asked."""
    from gsetup.commands.history import list_history

    entries = list_history(ctx, tenant, limit, with_changes=changes)
    if as_json:
        emit_json(entries)
        return
    print_table(
        "Install history",
        ("id", "at", "tenant", "operation", "package", "version", "account", "changes"),
        [_history_row(e) for e in entries],
    )
    for entry in entries if changes else ():
        print_lines(f"Changes of entry {entry['id']}", [_change(c) for c in entry["changes"]])


def object_json(tenant: str, obj: ConfigObject) -> dict[str, Any]:
    """An object as ``--json`` gives it; ``options`` (secrets masked) only when read."""
    data: dict[str, Any] = {
        "tenant": tenant,
        "kind": obj.kind,
        "path": f"{tenant}/{obj.path}" if obj.path else tenant,
        "attrs": dict(obj.attrs),
        "managed_by": list(obj.managers),
    }
    if obj.options is not None:
        data["options"] = _sections(obj)
    return data


def print_object(tenant: str, obj: ConfigObject) -> None:
    """An object's attributes, options (secrets masked) and managing packages."""
    print_mapping(
        f"{tenant}/{obj.path}" if obj.path else tenant,
        {"type": obj.kind, **obj.attrs, "managed by": ", ".join(obj.managers) or "(user)"},
    )
    for section, keys in _sections(obj).items():
        print_mapping(f"  [{section}]", keys)


def _sections(obj: ConfigObject) -> dict[str, dict[str, str]]:
    """The object's options by section and key, secrets masked."""
    from gsetup.plan.model import MASK

    found: dict[str, dict[str, str]] = {}
    for (section, key), option in sorted((obj.options or {}).items()):
        found.setdefault(section, {})[key] = MASK if option.secret else option.value
    return found


def _history_row(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        entry["id"],
        entry["at"],
        entry["tenant"],
        entry["operation"],
        entry["package"] or "",
        entry["version"] or "",
        entry["account"],
        ", ".join(f"{v} {k}" for k, v in entry["summary"].items() if v),
    )


def _change(change: dict[str, Any]) -> str:
    text = f"{change['action']} {change['path']}"
    if "before" in change or "after" in change:
        text += f": {change.get('before')!r} -> {change.get('after')!r}"
    return text
