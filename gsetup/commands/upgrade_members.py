"""One member of a DMS pair during an upgrade: its state, stop, start, switchover, and the
old driver version kept aside for a rollback."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gsetup.commands.dms import control_token
from gsetup.commands.drivers import load_dms, option_values
from gsetup.context import Context
from gsetup.drivers.package import InstallRecord
from gsetup.drivers.specs import Driver
from gsetup.drivers.staging import driver_directory
from gsetup.errors import GsetupError
from gsetup.httpclient import tls
from gsetup.process import control
from gsetup.process.config import ProcessConfig
from gsetup.process.control import Status

ASIDE_DIR = ".gsetup-upgrade"


@dataclass(frozen=True)
class Member:
    """A DMS of the pair and how it is started."""

    name: str
    process: ProcessConfig
    control_token: str = ""  # its [gsetup-dms] control-token, sent with a switchover

    @property
    def working_dir(self) -> Path:
        """Its working directory (process configs of DMS always have one)."""
        assert self.process.working_dir is not None
        return self.process.working_dir


@dataclass(frozen=True)
class MemberState:
    """What a member reports: running, healthy, role, and the driver version it loaded."""

    name: str
    running: bool
    healthy: bool
    role: str | None
    version: str | None
    detail: str = ""

    def summary(self) -> str:
        """As the report's last line shows it: role and version, or why there are none."""
        if self.role is None:
            why = "unreachable" if self.running else "not running"
            return f"{self.name} {why}" + (f" ({self.detail})" if self.detail else "")
        return f"{self.name} {self.role} on {self.version}" + (
            "" if self.healthy else ", unhealthy"
        )

    def to_json(self) -> dict[str, object]:
        """JSON-ready data."""
        return {
            "dms": self.name,
            "running": self.running,
            "healthy": self.healthy,
            "role": self.role,
            "version": self.version,
            "detail": self.detail,
        }


def load_member(ctx: Context, tenant: str, name: str) -> Member:
    """The member and its process settings (a DMS needs a working directory)."""
    from gsetup.commands.process import process_of

    process = process_of(ctx, tenant, name)
    if process.working_dir is None:
        from gsetup.errors import BadInputError

        raise BadInputError(f"application {name!r} has no working directory; set it first")
    return Member(name, process, control_token(option_values(load_dms(ctx, tenant, name))))


def state_of(member: Member, driver: Driver) -> MemberState:
    """Ask the member (its process adapter and health document)."""
    return _state(member.name, control.status(member.process), driver)


def _state(name: str, status: Status, driver: Driver) -> MemberState:
    document = status.health.document or {}
    role = document.get("role")
    version = next(
        (d.get("version") for d in document.get("drivers", []) if d.get("driver") == driver),
        None,
    )
    return MemberState(
        name,
        status.running,
        status.healthy,
        role if isinstance(role, str) else None,
        version if isinstance(version, str) else None,
        status.health.detail,
    )


def stop(member: Member, timeout: float) -> None:
    """Stop the member and wait until it is down."""
    control.stop(member.process, timeout=timeout)


def start(member: Member, driver: Driver, version: str, timeout: float) -> MemberState:
    """Start the member and wait until it is healthy with ``version`` of the driver loaded.

    A member that loaded that version and names the driver as broken will not heal: that
    fails at once rather than after the timeout.
    """

    def ready(status: Status) -> bool:
        now = _state(member.name, status, driver)
        broken = _driver_error(status, driver)
        if now.running and now.version == version and broken:
            raise GsetupError(
                f"application {member.name!r} did not become healthy with the {driver} "
                f"driver {version}: {broken}"
            )
        return now.healthy and now.version == version

    return _state(
        member.name,
        control.start(member.process, wait=True, timeout=timeout, ready=ready),
        driver,
    )


def _driver_error(status: Status, driver: Driver) -> str:
    drivers = (status.health.document or {}).get("drivers", [])
    return next(
        (str(d["error"]) for d in drivers if d.get("driver") == driver and d.get("error")), ""
    )


def switch_over(primary: Member, backup: Member, driver: Driver, timeout: float) -> None:
    """Ask ``primary`` to hand over to ``backup``; return once the roles say so."""
    import time

    import httpx

    if state_of(backup, driver).role == "primary" and state_of(primary, driver).role == "backup":
        return  # done before (a resumed upgrade)
    url = f"http://{primary.process.host}:{primary.process.port}/switchover"
    try:
        headers = {"Authorization": f"Bearer {primary.control_token}"}
        answer = httpx.post(url, headers=headers, timeout=timeout, verify=tls())
    except httpx.HTTPError as exc:
        raise GsetupError(f"switchover {primary.name} -> {backup.name}: {url}: {exc}") from exc
    if answer.status_code != 200:
        raise GsetupError(
            f"switchover {primary.name} -> {backup.name} refused: HTTP {answer.status_code} "
            f"{answer.text[:300]}"
        )
    deadline = time.monotonic() + timeout
    while (state_of(backup, driver).role, state_of(primary, driver).role) != ("primary", "backup"):
        if time.monotonic() > deadline:
            raise GsetupError(f"switchover {primary.name} -> {backup.name}: roles did not follow")
        time.sleep(0.1)


def aside_directory(member: Member, driver: Driver) -> Path:
    """Where the member's old driver version is kept during an upgrade."""
    return member.working_dir / ASIDE_DIR / f"channel-{driver}"


def set_aside(member: Member, record: InstallRecord) -> Path:
    """Copy the installed driver's files aside, its manifest too: a package of the old
    version, byte for byte, that a rollback installs back. A copy left by an earlier
    upgrade is replaced."""
    target = aside_directory(member, record.driver)
    prefix = driver_directory(record.driver) + "/"
    temporary = target.with_name(target.name + ".partial")
    shutil.rmtree(temporary, ignore_errors=True)
    for item in record.files:
        destination = temporary / item.path.removeprefix(prefix)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(member.working_dir / item.path, destination)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(temporary, target)
    return target


def drop_aside(member: Member) -> None:
    """Remove what was kept aside (the upgrade or its rollback is over)."""
    shutil.rmtree(member.working_dir / ASIDE_DIR, ignore_errors=True)
