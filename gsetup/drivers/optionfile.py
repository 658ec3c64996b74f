"""The options file each Cloud API driver ships (``driver-for-<driver>-options.cfg``).

Rendered from ``gsetup/templates/drivers/*.cfg.j2`` with the defaults of
:mod:`gsetup.drivers.specs`; the result is in the format :mod:`gsetup.options` reads.
"""

from __future__ import annotations

from gsetup.drivers.specs import (
    ACCESS_POINTS,
    CHANNEL_OPTIONS,
    DRIVER_CLASSNAMES,
    Driver,
    channel_section,
    validate_option,
)
from gsetup.options import format_value


def option_file_name(driver: Driver) -> str:
    """The file name the guide gives the driver's options file."""
    return f"driver-for-{driver}-options.cfg"


def driver_defaults(driver: Driver, *, tenant_dbid: int = 1) -> dict[str, str]:
    """The values a new channel of ``driver`` starts with, for every option that has one.

    ``inbound-route`` points at the driver's access point of tenant ``tenant_dbid`` (1 is the
    single-tenant Environment tenant).
    """
    values = {
        key: spec.default
        for key, spec in CHANNEL_OPTIONS[driver].items()
        if spec.default is not None
    }
    values["driver-classname"] = DRIVER_CLASSNAMES[driver]
    values["inbound-route"] = f"{tenant_dbid}:{ACCESS_POINTS[driver]}"
    return values


def render_driver_options(
    driver: Driver, *, channel: str | None = None, tenant_dbid: int = 1
) -> str:
    """Render the driver's options file for its channel section (``channel`` names an
    additional channel ``channel-<driver>-<channel>``)."""
    import jinja2

    section = channel_section(driver, channel)
    values = driver_defaults(driver, tenant_dbid=tenant_dbid)

    def value(key: str) -> str:
        # Validating here keeps the shipped file and the specs from drifting apart.
        checked = validate_option(driver, section, key, values[key])
        return format_value(section, key, checked)

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gsetup", "templates/drivers"),
        autoescape=False,  # option files, not HTML: nothing to escape
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template(f"{option_file_name(driver)}.j2")
    return template.render(section=section, value=value)
