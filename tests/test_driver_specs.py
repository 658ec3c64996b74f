"""Driver channel options: defaults, ranges, section names and the shipped options files."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsetup.drivers.optionfile import driver_defaults, option_file_name, render_driver_options
from gsetup.drivers.package import builtin_package, parse_manifest
from gsetup.drivers.specs import (
    CHANNEL_OPTIONS,
    DRIVER_CLASSNAMES,
    DRIVERS,
    RPC_CACHE_TIMEOUT,
    ChannelSection,
    Driver,
    channel_section,
    check_channel_name,
    parse_channel_section,
    secret_keys,
    validate_option,
    validate_value,
)
from gsetup.drivers.terms import SOCIAL_ENGAGEMENT_TERMS
from gsetup.errors import BadInputError
from gsetup.options import parse_options


@pytest.mark.parametrize(
    ("driver", "key", "default"),
    [
        ("facebook", "reconnection-timeout", "180"),
        ("twitter", "reconnection-timeout", "180"),
        ("facebook", "ucs-in-use", "false"),
        ("facebook", "x-submit-comments-itx", "false"),
        ("facebook", "skip-private", None),
        ("twitter", "compliance-enabled", "true"),
        ("twitter", "grouping-timeout", None),
        ("twitter", "gsa-url-base", "socialanalytics.genesyscloud.com/api/v2.0"),
        ("facebook", "gsa-account-name", ""),
    ],
)
def test_defaults_follow_the_guide(driver: Driver, key: str, default: str | None) -> None:
    assert CHANNEL_OPTIONS[driver][key].default == default


def test_hub_secrets_are_marked() -> None:
    assert secret_keys("twitter") == {"gsa-api-key", "password"}
    assert secret_keys("facebook") == {"gsa-api-key", "password", "access-token"}


@pytest.mark.parametrize(
    ("driver", "key", "value", "canonical"),
    [
        ("facebook", "reconnection-timeout", "10", "10"),
        ("facebook", "reconnection-timeout", " 0600 ", "600"),
        ("twitter", "grouping-timeout", "10", "10"),
        ("twitter", "grouping-timeout", "3600", "3600"),
        ("twitter", "compliance-enabled", "TRUE", "true"),
        ("facebook", "skip-private", "False", "false"),
        ("facebook", "inbound-route", "101:facebook_queue", "101:facebook_queue"),
        ("facebook", "inbound-route", "101:facebook_queue,101:fb_session", None),
        ("twitter", "inbound-route", "1:twitter_queue", "1:twitter_queue"),
        ("facebook", "gsa-api-key", "  any text;#=  ", "  any text;#=  "),
        ("twitter", "x-inbound-media", "anything", "anything"),  # no spec: free text
    ],
)
def test_allowed_values(driver: Driver, key: str, value: str, canonical: str | None) -> None:
    section = channel_section(driver)
    assert validate_option(driver, section, key, value) == (canonical or value)


@pytest.mark.parametrize(
    ("driver", "key", "value", "message"),
    [
        ("facebook", "reconnection-timeout", "9", "use a whole number of at least 10"),
        ("facebook", "reconnection-timeout", "3 minutes", "use a whole number of at least 10"),
        ("twitter", "grouping-timeout", "9", "use a whole number from 10 to 3600"),
        ("twitter", "grouping-timeout", "3601", "use a whole number from 10 to 3600"),
        ("twitter", "grouping-timeout", "", "use a whole number from 10 to 3600"),
        ("twitter", "compliance-enabled", "yes", "use true or false"),
        ("facebook", "ucs-in-use", "1", "use true or false"),
        ("twitter", "inbound-route", "101:a,101:b", "<tenant dbid>:<access point>"),
        ("facebook", "inbound-route", "1:a,1:b,1:c", "up to 2 separated by commas"),
        ("facebook", "inbound-route", "Environment:facebook_queue", "<tenant dbid>"),
        ("facebook", "inbound-route", "101:", "<tenant dbid>:<access point>"),
    ],
)
def test_refused_values_name_the_key_and_what_is_allowed(
    driver: Driver, key: str, value: str, message: str
) -> None:
    section = channel_section(driver)
    with pytest.raises(BadInputError) as caught:
        validate_option(driver, section, key, value)
    assert str(caught.value).startswith(f"[{section}] {key}: {value!r} is not allowed")
    assert message in str(caught.value)


def test_rpc_cache_timeout_is_a_hub_field_from_0_to_3600() -> None:
    assert RPC_CACHE_TIMEOUT.default == "90"
    assert validate_value(RPC_CACHE_TIMEOUT, "0", where="RPC cache timeout") == "0"
    with pytest.raises(BadInputError, match="from 0 to 3600"):
        validate_value(RPC_CACHE_TIMEOUT, "3601", where="RPC cache timeout")


@pytest.mark.parametrize(
    ("section", "parsed"),
    [
        ("channel-facebook", ChannelSection("facebook")),
        ("channel-twitter-acme", ChannelSection("twitter", "acme")),
        ("channel-Twitter-acme_help", ChannelSection("twitter", "acme_help")),
        ("channel-facebook-eu.west-2", ChannelSection("facebook", "eu.west-2")),
        ("channel-facebook-monitor-page1", ChannelSection("facebook", None, "page1")),
        ("channel-facebook-acme-monitor-page1", ChannelSection("facebook", "acme", "page1")),
        ("channel-rss", None),
        ("channel-facebookx", None),
        ("channel-facebook-", None),
        ("channel-facebook-a b", None),
        ("endpoints:101", None),
    ],
)
def test_channel_sections_are_recognised(section: str, parsed: ChannelSection | None) -> None:
    assert parse_channel_section(section) == parsed


def test_additional_channel_sections() -> None:
    assert channel_section("twitter") == "channel-twitter"
    assert channel_section("twitter", "acme-help") == "channel-twitter-acme-help"


@pytest.mark.parametrize("name", ["", "a b", "-a", "a-", "a--b", "a/b", "monitor", "x-monitor-y"])
def test_bad_channel_names_refused(name: str) -> None:
    with pytest.raises(BadInputError, match="channel name"):
        check_channel_name(name)


def test_an_option_in_another_drivers_section_is_refused() -> None:
    with pytest.raises(BadInputError, match=r"\[channel-twitter\] is not a facebook channel"):
        validate_option("facebook", "channel-twitter", "ucs-in-use", "true")


def test_monitor_section_options_have_their_own_specs() -> None:
    section = "channel-facebook-monitor-page1"
    assert validate_option("facebook", section, "inbound-media", "facebooksession")
    with pytest.raises(BadInputError):
        validate_option("facebook", "channel-facebook", "inbound-route", "facebooksession")


def test_unknown_driver_refused() -> None:
    with pytest.raises(BadInputError, match="unknown driver 'rss'; use one of: facebook, twitter"):
        channel_section("rss")  # type: ignore[arg-type]


@pytest.mark.parametrize("driver", DRIVERS)
def test_rendered_options_file_reads_back_and_validates(driver: Driver) -> None:
    text = render_driver_options(driver, channel="acme", tenant_dbid=101)
    parsed = parse_options(text, option_file_name(driver))
    section = f"channel-{driver}-acme"
    assert list(parsed) == [section]
    values = parsed[section]
    assert values["inbound-route"] == f"101:{driver}_queue"
    assert values["driver-classname"] == DRIVER_CLASSNAMES[driver]
    assert values == driver_defaults(driver, tenant_dbid=101)
    for key, value in values.items():
        assert validate_option(driver, section, key, value) == value


@pytest.mark.parametrize("driver", DRIVERS)
def test_builtin_options_file_is_what_the_template_renders_now(driver: Driver) -> None:
    shipped = builtin_package(driver) / option_file_name(driver)
    assert shipped.read_text(encoding="utf-8") == render_driver_options(driver), (
        "regenerate gsetup/drivers/data/*/driver-for-*-options.cfg with render_driver_options"
    )


@pytest.mark.parametrize("driver", DRIVERS)
def test_builtin_properties_name_the_same_class(driver: Driver) -> None:
    text = (builtin_package(driver) / "driver.properties").read_text(encoding="utf-8")
    assert f"driver-classname={DRIVER_CLASSNAMES[driver]}\n" in text


def test_legal_terms_name_their_place_and_version() -> None:
    assert SOCIAL_ENGAGEMENT_TERMS.version == "9.0.0"
    assert "Legal Terms for Social Engagement 9.0.0" in SOCIAL_ENGAGEMENT_TERMS.where
    assert SOCIAL_ENGAGEMENT_TERMS.question == "Do you accept these terms?"


def test_the_documented_table_is_the_channel_option_specs() -> None:
    """Each row of docs/drivers.md's option table: the drivers, type, default, range and when
    a change takes effect that gsetup checks values against."""
    docs = (Path(__file__).parent.parent / "docs" / "drivers.md").read_text(encoding="utf-8")
    table = docs.split("| Option | Drivers |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    rows = {cells[0].strip("`"): cells[1:] for cells in (_cells(row) for row in table)}
    keys = {key for driver in DRIVERS for key in CHANNEL_OPTIONS[driver]}
    assert set(rows) == keys
    kinds = {"int": "integer", "bool": "boolean", "text": "text", "route": "route"}
    for key, (drivers, kind, default, allowed, notes) in rows.items():
        specs = {d: CHANNEL_OPTIONS[d][key] for d in DRIVERS if key in CHANNEL_OPTIONS[d]}
        assert drivers == ("both" if len(specs) == 2 else next(iter(specs))), key
        (spec,) = set(specs.values()) if key != "inbound-route" else [specs["facebook"]]
        assert kind == kinds[spec.kind] + (", secret" if spec.secret else ""), key
        for driver in specs:
            value = driver_defaults(driver).get(key)
            if key == "driver-classname":
                assert default == "see above" and value == DRIVER_CLASSNAMES[driver]
            elif value is None:
                assert default.startswith("none"), key
            else:
                shown = default.strip("`").replace("<tenant dbid>", "1").replace("<driver>", driver)
                assert shown == (value or "empty"), key
        if spec.kind == "bool":
            assert allowed == "true, false", key
        if spec.kind == "int":
            assert allowed == (
                f"at least {spec.minimum} (seconds)"
                if spec.maximum is None
                else f"{spec.minimum} to {spec.maximum} (seconds)"
            ), key
        assert ("immediately" in notes) == (not spec.after_restart), key


def _cells(row: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in row.strip().strip("|").split("|"))


def test_the_documented_manifest_is_valid() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "drivers.md").read_text(encoding="utf-8")
    example = docs.split("```yaml\n", 1)[1].split("```", 1)[0]
    manifest = parse_manifest(example.encode(), "docs/drivers.md")
    assert manifest.files == ("driver-for-twitter-options.cfg", "lib/twitter-driver.jar")
