"""Social Media Plugin for Workspace Desktop Edition: the mandatory queue options, the
media filters of the contact history and the emoji picker (guide, "Configuration Options")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from gsetup.configdb.tenants import check_name
from gsetup.configure.emojis import emoji_objects, load_emojis
from gsetup.configure.guard import expect_options
from gsetup.configure.plugin_options import plugin_option_values
from gsetup.configure.snapshot import Snapshot, choose_package, find_app, read_tenant
from gsetup.context import Context
from gsetup.deployment import ConfiguredApplication
from gsetup.errors import BadInputError
from gsetup.fileio import quote_prefix
from gsetup.packages.model import Family, Package
from gsetup.packages.requirements import parse_version
from gsetup.plan.model import Plan
from gsetup.plan.run import run_plan
from gsetup.state import DesiredObject, DesiredState, OptionKey, OptionValue

WORKSPACE = "WorkspaceDesktop"
SECTION = "interaction-workspace"
MEDIA_FILTERS = (SECTION, "contact.history.media-filters")
# "To support filtering of all types of Facebook and Twitter interactions in WDE, add the
# values facebook, facebooksession, facebookprivatemessage, twitter, and twitterdirect".
SOCIAL_MEDIA = ("facebook", "facebooksession", "facebookprivatemessage", "twitter", "twitterdirect")
# The plug-in's outbound queues: where an agent's new message waits while being written,
# and where a sent reply goes.
QUEUE_STAGES = ("Outbound Init", "Outbound")
FAMILIES: tuple[Family, ...] = ("facebook", "twitter")
# The Social Media plug-in's version, as the user gives it: the plug-in is installed on the
# agents' desktops, out of gsetup's sight. Kept with WDE as a driver's record is kept with
# DMS (gsetup/drivers/installed.py): an option section the application ignores.
PLUGIN_VERSION = ("gsetup-plugin", "version")


def plugin_version_option(
    version: str, where: str = "--plugin-version"
) -> dict[OptionKey, OptionValue]:
    """The record of the plug-in's version; an error naming ``where`` it was given unless it
    is dotted numbers."""
    if parse_version(version) is None:
        raise BadInputError(
            f"{where} {quote_prefix(version)} is not allowed; use the plug-in's version "
            "as Genesys numbers it, such as 8.5.400.86"
        )
    return {PLUGIN_VERSION: OptionValue(version.strip())}


def desktop_queue_options(package: Package) -> dict[OptionKey, OptionValue]:
    """``<family>.default-queue`` and ``<family>.outbound-queue`` for ``package``'s queues."""
    init, outbound = (package.stage_queue(stage) for stage in QUEUE_STAGES)
    return {
        (SECTION, f"{package.family}.default-queue"): OptionValue(init),
        (SECTION, f"{package.family}.outbound-queue"): OptionValue(outbound),
    }


def merge_media_filters(current: str | None) -> str:
    """``current`` with the social media types it lacks appended; its own text, order and
    entries are kept (a filter already listed is not added twice)."""
    text = (current or "").strip()
    listed = {item.strip() for item in text.split(",")}
    missing = [media for media in SOCIAL_MEDIA if media not in listed]
    if not missing:
        return current or ""
    return ",".join([text.rstrip(","), *missing] if text.rstrip(",") else missing)


def _queue_options(snap: Snapshot, given: dict[Family, str | None]) -> dict[OptionKey, OptionValue]:
    """The queue options of each family's chosen BP; an error when neither family has one."""
    opts: dict[OptionKey, OptionValue] = {}
    for family in FAMILIES:
        package = choose_package(snap, family, QUEUE_STAGES, given[family], f"--{family}-bp")
        if package is not None:
            opts.update(desktop_queue_options(package))
    if not opts:
        raise BadInputError(
            f"tenant {snap.tenant!r} has no Facebook or Twitter Business Process with outbound "
            "queues for the plug-in's queue options: install one first "
            "(`gsetup install facebook-bp`, `gsetup install twitter-bp`)"
        )
    return opts


def _version_option(
    app: ConfiguredApplication, given: str | None, ask: Callable[[], str] | None
) -> dict[OptionKey, OptionValue]:
    """The plug-in version to record: the one given, else the one asked for when WDE has
    none recorded yet; nothing when neither."""
    if given is None and ask is not None and PLUGIN_VERSION not in app.options:
        given = ask().strip() or None
    return plugin_version_option(given) if given is not None else {}


def configure_workspace(
    ctx: Context,
    tenant: str,
    *,
    workspace: str | None,
    facebook_bp: str | None,
    twitter_bp: str | None,
    emojis: Path | None,
    emoji_attribute: str,
    skip_emojis: bool,
    dry_run: bool,
    plugin_version: str | None = None,
    settings: Sequence[str] = (),
    ask_version: Callable[[], str] | None = None,
) -> Plan:
    """Set the plug-in's queue options for the installed Facebook and Twitter BPs, add the
    social media types to the contact history filters, define the emoji picker with its font,
    set the display options given as ``KEY=VALUE`` and record the plug-in's version (given,
    else asked with ``ask_version`` when none is recorded; an empty answer skips it)."""
    display = plugin_option_values(settings, emojis=not skip_emojis)
    emoji_set = None if skip_emojis else load_emojis(emojis)
    check_name(emoji_attribute, "business attribute")
    snap = read_tenant(ctx, tenant, [emoji_attribute])
    app = find_app(snap, WORKSPACE, workspace, "--workspace")
    opts = _queue_options(snap, {"facebook": facebook_bp, "twitter": twitter_bp})
    have = app.options.get(MEDIA_FILTERS)
    old = have.value if have is not None else None
    opts[MEDIA_FILTERS] = OptionValue(merge_media_filters(old))
    opts.update(_version_option(app, plugin_version, ask_version))
    opts.update(display)
    state = DesiredState(tenant)
    if emoji_set is not None:
        for obj in emoji_objects(snap, emoji_attribute, emoji_set):
            state.add(obj)
        for family in FAMILIES:
            opts[(SECTION, f"{family}.emojis-business-attribute")] = OptionValue(emoji_attribute)
    state.add(DesiredObject("application", app.path, {}, opts))
    guard = expect_options({(app.path, MEDIA_FILTERS): old})
    return run_plan(ctx, state, "configure workspace", dry_run=dry_run, before_commit=guard)
