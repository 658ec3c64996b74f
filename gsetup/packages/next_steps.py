"""The manual steps the guide requires after a Business Process is installed."""

from __future__ import annotations

from pathlib import Path

from gsetup.columns import IWD, ScriptPair
from gsetup.packages.model import Answers, Package
from gsetup.packages.stages import IWD_ADAPTER_QUEUE

# Packages whose inbound strategy (their first) calls merge_itx_data, the guide's MergeItxData.
_MERGING = frozenset({"facebook-bp", "facebook-bp-iwd", "twitter-bp-tr"})

# The DMS Facebook channel option x-submit-comments-itx each BP needs: Single Comment Routing
# works on the per-comment interactions that true creates, Facebook BP (and its iWD add-on)
# only with false.
SUBMIT_COMMENTS_BY_PACKAGE = {
    "facebook-bp": "false",
    "facebook-bp-iwd": "false",
    "facebook-bp-single-comment": "true",
}


def script_pairs(package: Package, answers: Answers) -> tuple[ScriptPair, ...]:
    """The CleanUp/Alter pairs to run: the package's, and iWD's when its properties were
    added (the guide: the iWD pair is identical in every directory; run it once)."""
    pairs = list(package.script_pairs)
    if answers.iwd_custom_properties and IWD not in pairs:
        pairs.insert(0, IWD)
    return tuple(pairs)


def placed_pairs(package: Package) -> tuple[ScriptPair, ...]:
    """The pairs placed in the install home's Scripts/<RDBMS>/: the guide ships the iWD pair
    with every Facebook and Twitter BP, whatever the iWD checkbox, beside the package's own."""
    if package.family not in ("facebook", "twitter"):
        return package.script_pairs
    return tuple(dict.fromkeys((IWD, *package.script_pairs)))


def next_steps(package: Package, answers: Answers, scripts_dir: Path) -> list[str]:
    """What the user must still do, in order, as lines of text."""
    pairs = script_pairs(package, answers)
    lines = _script_lines(pairs, scripts_dir)
    lines.extend(_unused_lines([p for p in placed_pairs(package) if p not in pairs], scripts_dir))
    if package.name in _MERGING:
        lines.append(
            "Set the Interaction Server option settings/delay-updates to false: "
            f"merge_itx_data in {package.strategies[0].name} needs every property update written "
            "to the database at once (`gsetup configure delay-updates`)."
        )
    if package.name in SUBMIT_COMMENTS_BY_PACKAGE:
        value = SUBMIT_COMMENTS_BY_PACKAGE[package.name]
        lines.append(
            "In each Digital Messaging Server Facebook channel section, x-submit-comments-itx "
            f"must be {value} for {package.title}: Facebook BP works only with false, "
            "Facebook BP - Single Comment Routing needs true (`gsetup configure "
            f"facebook-comments --facebook-bp {package.name}`)."
        )
    lines.extend(_desktop_lines(package))
    lines.extend(_package_lines(package))
    return lines


def _desktop_lines(package: Package) -> list[str]:
    # The Social Media plug-in's mandatory queue options point at the BP's outbound queues.
    try:
        init, outbound = package.stage_queue("Outbound Init"), package.stage_queue("Outbound")
    except KeyError:
        return []
    return [
        f"Workspace Desktop Edition [interaction-workspace] {package.family}.default-queue = "
        f"{init} and {package.family}.outbound-queue = {outbound} (`gsetup configure "
        "workspace`)."
    ]


def _script_lines(pairs: tuple[ScriptPair, ...], scripts_dir: Path) -> list[str]:
    if not pairs:
        return []
    from gsetup.sqlscripts.catalog import DBMSES

    rdbms = scripts_dir / ("<" + "|".join(d.install_dir for d in DBMSES) + ">")
    lines = ["Stop Interaction Server and DB Server (IXN)."]
    lines.extend(
        f"Run {rdbms / pair.cleanup} first, then {rdbms / pair.alter}, against Interaction "
        "Server's database (`gsetup sql apply` does both)."
        for pair in pairs
    )
    lines.append("Start Interaction Server and DB Server (IXN).")
    return lines


def _unused_lines(pairs: list[ScriptPair], scripts_dir: Path) -> list[str]:
    # The iWD pair placed without the checkbox: named, so that nobody wonders what it is for.
    return [
        f"{pair.cleanup} and {pair.alter} are in {scripts_dir / '<RDBMS>'} too, as the guide "
        "ships them: run them (CleanUp first) only when you add the iWD custom properties."
        for pair in pairs
    ]


def _package_lines(package: Package) -> list[str]:
    if package.name in ("facebook-bp-iwd", "twitter-bp-iwd"):
        return [
            "Install the iWD Business Processes Standard Genesys to iWD Adapter and IWDBP "
            "(iWD 8.5.104 and later: manually); the adapter's entry queue must be "
            f"{IWD_ADAPTER_QUEUE!r} (created by this package when it did not exist), or "
            "change the route in the delivery strategy file."
        ]
    if package.name == "twitter-bp-tr":
        return [
            "Deactivate the strategies of Twitter BP if it is installed, set grouping-timeout "
            "(10-3600 seconds within which a sender's tweets are grouped) in each Digital "
            "Messaging Server Twitter channel section, and Digital Messaging Server "
            "[endpoints:<tenant id>] twitter_queue = Twitter TR Inbound Queue: `gsetup "
            "configure twitter-tr --grouping-timeout SECONDS` does all three.",
            "Install Social Media Plug-in for Workspace 8.5.400.86 or higher, Cloud API Driver "
            "for Twitter 8.5.400.53 or higher and, when a DMS has Facebook and Twitter "
            "channels, Cloud API Driver for Facebook 8.5.400.67 or higher (`gsetup driver "
            "list`; `gsetup configure workspace --plugin-version VERSION` records the "
            "plug-in's).",
            "Restart Digital Messaging Server, Universal Routing Server, Universal Contact "
            "Server, Interaction Server and Workspace Desktop Edition.",
        ]
    if package.name == "twitter-bp":
        return [
            "Keep compliance-enabled = true in the Twitter channel sections of Digital "
            "Messaging Server (Cloud API Driver for Twitter 9.0.012.09 and later): Twitter's "
            "policy requires processing Tweet deletions."
        ]
    return []
