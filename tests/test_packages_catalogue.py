"""The package catalogue against the guide's lists of strategies, queues and objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsetup.columns import SCRIPT_PAIRS
from gsetup.errors import BadInputError, NotFoundError
from gsetup.packages import Answers, catalogue, desired_state, get_package, next_steps
from gsetup.packages.attributes import CAPACITY_LIMITS
from gsetup.packages.model import Package
from gsetup.state import DesiredObject, DesiredState, OptionValue

ANSWERS = Answers(tenant="Environment", iwd_custom_properties=False, strategy_dir="/srv/bp")
WITH_IWD = Answers(tenant="Environment", iwd_custom_properties=True, strategy_dir="/srv/bp")
IWD_PROPERTIES = {"desktop_actionable", "desktop_influence", "desktop_sentiment"}


def by_kind(state: DesiredState, kind: str) -> dict[str, DesiredObject]:
    return {o.path: o for o in state.objects if o.kind == kind}


def values_of(state: DesiredState, attribute: str) -> dict[str, DesiredObject]:
    prefix = f"Business Attributes/{attribute}/"
    return {
        o.name: o
        for o in state.objects
        if o.kind == "attribute_value" and o.path.startswith(prefix)
    }


def counts(name: str) -> tuple[int, int, int]:
    package = get_package(name)
    subroutines = sum(s.subroutine for s in package.strategies)
    return len(package.strategies) - subroutines, subroutines, len(package.queues)


def test_catalogue_lists_the_guides_packages() -> None:
    assert [p.name for p in catalogue()] == [
        "facebook-bp",
        "facebook-bp-simplified",
        "facebook-bp-iwd",
        "facebook-bp-single-comment",
        "twitter-bp",
        "twitter-bp-iwd",
        "twitter-bp-tr",
        "rss-bp",
    ]
    assert get_package("facebook-bp-iwd").requires == ("facebook-bp",)
    assert get_package("twitter-bp-iwd").requires == ("twitter-bp",)
    assert get_package("twitter-bp-tr").version == "8.5.400.91"
    assert get_package("twitter-bp-tr").title == "Twitter BP - Threaded Routing"


def test_unknown_package_names_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"no package 'facebook'.*facebook-bp, "):
        get_package("facebook")


def test_counts_the_guide_gives() -> None:
    # "eight strategies, four subroutines, and nine queues"
    assert counts("facebook-bp") == (8, 4, 9)
    # "ten strategies, four subroutines, and ten queues"
    assert counts("twitter-bp-tr") == (10, 4, 10)


@pytest.mark.parametrize(
    ("package", "names"),
    [
        (
            "facebook-bp",
            [
                "Facebook Inbound Strategy",
                "Facebook Inbound Buffer Strategy",
                "Facebook Classify-Screen Strategy",
                "Facebook Calculation Strategy",
                "Facebook Agent Delivery Strategy",
                "Facebook Outbound Strategy",
                "Facebook Stop Strategy",
                "Stop Interaction Comments in Parking Queue",
            ],
        ),
        (
            "facebook-bp-iwd",
            [
                "Facebook Inbound Strategy-iWD",
                "Facebook Inbound Buffer Strategy-iWD",
                "Facebook Calculation Strategy-iWD",
                "Facebook iWD Delivery Strategy",
            ],
        ),
        (
            "facebook-bp-single-comment",
            [
                "Facebook Inbound Strategy - Single Comment Routing",
                "Facebook Calculation Strategy - Single Comment Routing",
                "Facebook Agent Delivery Strategy - Single Comment Routing",
                "Facebook Outbound Strategy - Single Comment Routing",
                "Facebook Stop Strategy - Single Comment Routing",
            ],
        ),
        ("facebook-bp-simplified", ["Facebook Agent Delivery Strategy - Simplified"]),
        (
            "twitter-bp",
            [
                "Twitter Inbound Strategy",
                "Twitter Classify-Screen Strategy",
                "Twitter Influence Calculation Strategy",
                "Twitter Calculation Strategy",
                "Twitter Agent Delivery Strategy",
                "Twitter Outbound Strategy",
            ],
        ),
        (
            "twitter-bp-iwd",
            [
                "Twitter Inbound Strategy-iWD",
                "Twitter Classify-Screen Strategy-iWD",
                "Twitter Influence Calculation Strategy-iWD",
                "Twitter Calculation Strategy-iWD",
            ],
        ),
        (
            "twitter-bp-tr",
            [
                "Twitter Inbound Strategy-TR",
                "Twitter Inbound Buffer Strategy-TR",
                "Twitter Post Buffer Strategy-TR",
                "TwitterCalculationOfDesktopFlagsOtherPosts-TR",
                "TwitterCalculationOfDesktopFlags-TR",
            ],
        ),
    ],
)
def test_strategies_the_guide_names(package: str, names: list[str]) -> None:
    assert set(names) <= {s.name for s in get_package(package).strategies}


def test_queues_the_guide_names() -> None:
    assert {"Facebook Inbound Queue", "Facebook Outbound Init Queue"} <= {
        q.name for q in get_package("facebook-bp").queues
    }
    assert {"Twitter Outbound Init Queue"} <= {q.name for q in get_package("twitter-bp").queues}
    assert {
        "Twitter TR Inbound Queue",
        "Twitter TR Outbound Init Queue",
        "Twitter TR Outbound Queue",
    } <= {q.name for q in get_package("twitter-bp-tr").queues}


def test_no_two_packages_share_a_queue_or_strategy() -> None:
    queues = [q.name for p in catalogue() for q in p.queues]
    strategies = [s.name for p in catalogue() for s in p.strategies]
    assert len(queues) == len(set(queues))
    assert len(strategies) == len(set(strategies))


def test_business_process_queues_and_strategies_reference_each_other() -> None:
    state = desired_state("facebook-bp", ANSWERS)
    bp = by_kind(state, "business_process")
    assert bp == {
        "Business Processes/Facebook BP": DesiredObject(
            "business_process",
            "Business Processes/Facebook BP",
            {"package": "facebook-bp", "version": "8.5.100.00", "strategy_dir": "/srv/bp"},
        )
    }
    queues = by_kind(state, "queue")
    strategies = by_kind(state, "strategy")
    assert all(
        q.attrs["business_process"] == "Business Processes/Facebook BP" for q in queues.values()
    )
    inbound = strategies["Strategies/Facebook Inbound Strategy"].attrs
    assert inbound == {
        "business_process": "Business Processes/Facebook BP",
        "queue": "Interaction Queues/Facebook Inbound Queue",
        "file": "facebook-inbound-strategy.yaml",
        "active": True,
        "subroutine": False,
    }
    parking = strategies["Strategies/Stop Interaction Comments in Parking Queue"].attrs
    assert (parking["queue"], parking["active"], parking["subroutine"]) == (None, False, True)
    served = {s.attrs["queue"] for s in strategies.values()} - {None}
    assert served <= set(queues)
    assert state.owner == "facebook-bp" and state.tenant == "Environment"


def test_common_objects() -> None:
    for name in ("facebook-bp", "twitter-bp", "twitter-bp-tr", "facebook-bp-simplified"):
        state = desired_state(name, ANSWERS)
        assert "_umsMediaAccount" in values_of(state, "ContactAttributes")
        language = values_of(state, "Language")["English_Sentiment"]
        assert language.attrs["display_name"] == "English for Sentiment Analysis"
        assert "Capacity Rules/Default_Social_Media_Capacity_rule" in by_kind(
            state, "capacity_rule"
        )


def test_business_attributes_have_the_guides_names_and_types() -> None:
    state = desired_state("twitter-bp", WITH_IWD)
    attributes = {
        o.name: (o.attrs["display_name"], o.attrs["attr_type"])
        for o in by_kind(state, "business_attribute").values()
    }
    assert attributes == {
        "ContactAttributes": ("Contact Attributes", "Contact Attributes"),
        "Language": ("Language", "Language"),
        "InteractionCustomProperties": ("Interaction Custom Properties", "Custom"),
        "InteractionAttributes": ("Interaction Attributes", "Interaction Attributes"),
        "Media Type": ("Media Type", "Media Type"),
    }


def test_facebook_objects() -> None:
    state = desired_state("facebook-bp", ANSWERS)
    contact = {n: o.attrs["display_name"] for n, o in values_of(state, "ContactAttributes").items()}
    assert contact == {
        "_umsMediaAccount": "_umsMediaAccount",
        "_facebookActorId": "Facebook Actor ID",
        "_facebookActorName": "Facebook Actor Name",
    }
    assert set(values_of(state, "InteractionAttributes")) == {"_facebookPostId"}
    assert set(values_of(state, "InteractionCustomProperties")) == {
        "_facebookCommentId",
        "_facebookInBufferBeforeTarget",
        "_facebookInQueueAtTarget",
        "_facebookPostId",
    }
    assert set(values_of(state, "Media Type")) == {
        "facebook",
        "facebookprivatemessage",
        "facebooksession",
    }


def test_twitter_objects() -> None:
    state = desired_state("twitter-bp", ANSWERS)
    contact = {n: o.attrs["display_name"] for n, o in values_of(state, "ContactAttributes").items()}
    assert contact == {
        "_umsMediaAccount": "_umsMediaAccount",
        "_twitterFromUserId": "Twitter User ID",
        "_twitterFromAddr": "Twitter From Address",
    }
    assert set(values_of(state, "InteractionCustomProperties")) == {
        "_twitterGroupId",
        "_twitterInBufferBeforeTarget",
        "_twitterInAfterBeforeTarget",
    }
    assert set(values_of(state, "InteractionAttributes")) == {
        "TwitterMsgId",
        "_twitterGroupId",
        "ComplianceId",
    }
    assert set(values_of(state, "Media Type")) == {"twitter", "twitterdirect"}


def test_compliance_id_is_sortable() -> None:
    compliance = values_of(desired_state("twitter-bp", ANSWERS), "InteractionAttributes")[
        "ComplianceId"
    ]
    assert compliance.attrs == {
        "display_name": "ComplianceId",
        "description": "Twitter ComplianceId",
        "is_default": False,
    }
    assert compliance.options == {("settings", "is-sortable"): OptionValue("true")}


def test_twitterdirect_has_the_same_values_as_twitter() -> None:
    media = values_of(desired_state("twitter-bp", ANSWERS), "Media Type")
    twitter, direct = media["twitter"], media["twitterdirect"]
    assert direct.attrs["display_name"] == "twitterdirect"
    assert {**direct.attrs, "display_name": "twitter"} == twitter.attrs
    assert direct.options == twitter.options


def test_rss_objects() -> None:
    state = desired_state("rss-bp", ANSWERS)
    assert set(values_of(state, "ContactAttributes")) == {"_rssItemAuthor"}
    assert set(values_of(state, "Media Type")) == {"rss"}
    assert set(values_of(state, "Language")) == {"English_Sentiment"}
    assert (
        by_kind(state, "capacity_rule")["Capacity Rules/Default_Social_Media_Capacity_rule"].attrs[
            "limits"
        ]["rss"]
        == 5
    )


@pytest.mark.parametrize(
    "package", ["facebook-bp", "twitter-bp", "rss-bp", "facebook-bp-single-comment"]
)
def test_iwd_properties_only_with_the_option(package: str) -> None:
    without = values_of(desired_state(package, ANSWERS), "InteractionCustomProperties")
    with_iwd = values_of(desired_state(package, WITH_IWD), "InteractionCustomProperties")
    assert not IWD_PROPERTIES & set(without)
    assert set(with_iwd) >= IWD_PROPERTIES


@pytest.mark.parametrize("package", ["facebook-bp-iwd", "twitter-bp-iwd"])
def test_iwd_packages_install_the_iwd_properties_and_nothing_shared(package: str) -> None:
    state = desired_state(package, ANSWERS)
    assert set(values_of(state, "InteractionCustomProperties")) == IWD_PROPERTIES
    assert {o.kind for o in state.objects} == {
        "business_attribute",
        "attribute_value",
        "business_process",
        "queue",
        "strategy",
    }


def test_every_custom_property_translates_to_a_column() -> None:
    columns = {c.property: c.name for pair in SCRIPT_PAIRS for c in pair.columns}
    seen = set()
    for package in catalogue():
        state = desired_state(package.name, WITH_IWD)
        for name, value in values_of(state, "InteractionCustomProperties").items():
            assert value.options == {("translation", "translate-to"): OptionValue(columns[name])}
            seen.add(name)
    assert seen == set(columns)


def test_default_capacity_rule_is_created_and_made_the_tenant_default() -> None:
    state = desired_state("facebook-bp", ANSWERS)
    rule = by_kind(state, "capacity_rule")["Capacity Rules/Default_Social_Media_Capacity_rule"]
    # The rule is shared by every base package, so it always holds every social media type.
    assert rule.attrs["limits"] == {
        "facebook": 5,
        "facebookprivatemessage": 5,
        "facebooksession": 3,
        "twitter": 5,
        "twitterdirect": 5,
        "rss": 5,
    }
    twitter = by_kind(desired_state("twitter-bp", ANSWERS), "capacity_rule")
    assert twitter["Capacity Rules/Default_Social_Media_Capacity_rule"].attrs == rule.attrs
    assert by_kind(state, "tenant")[""].attrs == {
        "default_capacity_rule": "Capacity Rules/Default_Social_Media_Capacity_rule"
    }


def test_an_existing_capacity_rule_is_used_and_none_created() -> None:
    answers = Answers("Environment", False, "/srv/bp", capacity_rule="Agents Rule")
    state = desired_state("twitter-bp", answers)
    assert by_kind(state, "capacity_rule") == {}
    assert by_kind(state, "tenant")[""].attrs == {
        "default_capacity_rule": "Capacity Rules/Agents Rule"
    }


def test_add_on_packages_leave_capacity_alone() -> None:
    state = desired_state("facebook-bp-iwd", ANSWERS)
    assert not by_kind(state, "capacity_rule") and not by_kind(state, "tenant")


@pytest.mark.parametrize("field", ["tenant", "strategy_dir", "capacity_rule"])
def test_empty_answers_are_refused(field: str) -> None:
    values = {
        "tenant": "Environment",
        "iwd_custom_properties": False,
        "strategy_dir": "/srv/bp",
        "capacity_rule": "Rule",
    }
    answers = Answers(**{**values, field: " "})  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match=f"answer '{field}' is empty"):
        desired_state("facebook-bp", answers)


def test_next_steps_name_scripts_delay_updates_and_submit_comments() -> None:
    steps = next_steps(get_package("facebook-bp"), WITH_IWD, Path("/opt/fb/Scripts"))
    text = "\n".join(steps)
    iwd = text.index("CleanUpTableInteractionsForIWDIntegration851.sql")
    assert iwd < text.index("AlterTableInteractionsForIWDIntegration851.sql")
    assert text.index("CleanUpTableInteractionsForFacebook851.sql") < text.index(
        "AlterTableInteractionsForFacebook851.sql"
    )
    assert "/opt/fb/Scripts/" in text
    assert "settings/delay-updates to false" in text
    assert "x-submit-comments-itx must be false" in text
    single = "\n".join(next_steps(get_package("facebook-bp-single-comment"), ANSWERS, Path("/s")))
    assert "x-submit-comments-itx must be true" in single
    assert "delay-updates" not in single
    # Without the iWD checkbox the iWD pair is placed all the same, named, and not to be run.
    assert "Run /s/<" not in single.split("IWDIntegration")[0].rsplit("\n", 1)[-1]
    assert (
        "CleanUpTableInteractionsForIWDIntegration851.sql and "
        "AlterTableInteractionsForIWDIntegration851.sql are in /s/<RDBMS> too" in single
    )


def test_next_steps_for_threaded_routing() -> None:
    text = "\n".join(next_steps(get_package("twitter-bp-tr"), ANSWERS, Path("/s")))
    assert "CleanUpTableInteractionsForTwitter854.sql" in text
    assert "merge_itx_data in Twitter Inbound Strategy-TR" in text
    assert "grouping-timeout" in text
    assert "twitter_queue = Twitter TR Inbound Queue" in text
    assert "twitter.default-queue = Twitter TR Outbound Init Queue" in text
    assert "`gsetup configure twitter-tr --grouping-timeout SECONDS` does all three" in text
    assert "Social Media Plug-in for Workspace 8.5.400.86 or higher" in text


def _documented(package: Package) -> str:
    """The section of docs/packages.md's "What each package installs" for ``package``, as the
    catalogue has it."""
    served = {s.queue for s in package.strategies}
    lines = [f"### {package.name} — {package.title} {package.version}", "", package.description]
    if package.requires:
        lines += ["", f"Requires: {', '.join(package.requires)}."]
    lines += ["", "| Strategy / subroutine | Queue it serves | File |", "|---|---|---|"]
    lines += [
        f"| {s.name} | {s.queue or '(subroutine)'} | {s.file_name} |" for s in package.strategies
    ]
    lines += [
        f"| (none: interactions are parked) | {q.name} | |"
        for q in package.queues
        if q.name not in served
    ]
    lines += ["", "| Business attribute | Value (display name) | Annex |", "|---|---|---|"]
    for value in package.values:
        shown = value.name
        if value.display_name != value.name:
            shown += f" ({value.display_name})"
        annex = ", ".join(f"{section}/{key}={v}" for (section, key), v in value.annex.items())
        lines.append(f"| {value.attribute.display_name} | {shown} | {annex} |")
    if package.capacity:
        limits = ", ".join(f"{media} {limit}" for media, limit in CAPACITY_LIMITS.items())
        lines += [
            "",
            "Capacity rule Default_Social_Media_Capacity_rule (shared, every social media type: "
            f"{limits}); this package's media types: {', '.join(package.capacity)}.",
        ]
    if package.iwd_values:
        lines += [
            "",
            f"With the iWD checkbox: {', '.join(sorted(v.name for v in package.iwd_values))}.",
        ]
    groups = ", ".join(pair.group for pair in package.script_pairs) or "none"
    return "\n".join([*lines, "", f"Scripts: {groups}."])


def test_docs_describe_each_package_as_the_catalogue_has_it() -> None:
    """Strategies, their queues and files, business attribute values, capacity, iWD
    properties and scripts: docs/packages.md's section of each package is the catalogue's."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "packages.md").read_text(
        encoding="utf-8"
    )
    sections = doc.split("\n## What each package installs\n", 1)[1].split("\n### ")[1:]
    assert [f"### {s}".rstrip("\n") for s in sections] == [_documented(p) for p in catalogue()]


def test_the_capacity_rule_carries_every_social_media_type() -> None:
    for package in (p for p in catalogue() if p.capacity):
        state = desired_state(package.name, ANSWERS)
        rule = by_kind(state, "capacity_rule")["Capacity Rules/Default_Social_Media_Capacity_rule"]
        assert rule.attrs["limits"] == CAPACITY_LIMITS
