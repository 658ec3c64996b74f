"""DMS pairs, and running the DMS stand-in for an application of the configuration database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from gsetup.commands.app_tokens import TokenKind
from gsetup.commands.drivers import DMS_TYPE, load_dms, option_values
from gsetup.context import Context
from gsetup.dms.control import ControlReader
from gsetup.dms.forward import IntakeReader
from gsetup.dms.settings import CONTROL_KEY, CONTROL_SECTION, DmsSettings, Peer
from gsetup.errors import BadInputError, GsetupError
from gsetup.runtime.credentials import SECTION, TOKEN_KEY, URL_KEY

if TYPE_CHECKING:
    from gsetup.deployment import Application

CONTROL = TokenKind(CONTROL_SECTION, CONTROL_KEY, "control token", "dms token")
T = TypeVar("T")


@dataclass(frozen=True)
class DmsPair:
    """A primary/backup pair as configured: ``linked`` holds the backup link to ``backup``."""

    linked: str
    backup: str

    @property
    def members(self) -> tuple[str, str]:
        """Both members, the one holding the link first."""
        return self.linked, self.backup

    def other(self, name: str) -> str:
        """The member that is not ``name``."""
        return self.backup if name == self.linked else self.linked


def find_pair(ctx: Context, tenant: str, dms: str) -> DmsPair | None:
    """The pair ``dms`` belongs to, from the backup link either way; None when single."""
    from gsetup import deployment

    app = load_dms(ctx, tenant, dms).info
    if app.backup:
        load_dms(ctx, tenant, app.backup)  # a backup that is not a DMS is refused
        return DmsPair(dms, app.backup)
    with deployment.open_tenant(ctx, tenant) as (conn, tid):
        linked = [a for a in deployment.applications(conn, tid) if a.backup == dms]
    for other in linked:
        if other.app_type != DMS_TYPE:
            raise BadInputError(
                f"application {other.name!r} names {dms!r} as its backup but is of "
                f"type {other.app_type}, not {DMS_TYPE}"
            )
        return DmsPair(other.name, dms)
    return None


def dms_settings(ctx: Context, tenant: str, app: str) -> DmsSettings:
    """What the stand-in for ``app`` runs with: address, pair, intake, installed drivers."""
    from gsetup.drivers.installed import read_record
    from gsetup.drivers.specs import DRIVERS
    from gsetup.drivers.staging import check_working_dir

    obj = load_dms(ctx, tenant, app)
    host, port = _address(obj.info)
    working = check_working_dir(obj.info.working_dir, app)
    pair = find_pair(ctx, tenant, app)
    peer = None if pair is None else _peer(ctx, tenant, pair.other(app))
    values = option_values(obj)
    intake_url, intake_token = _intake(values)
    return DmsSettings(
        app=app,
        host=host,
        port=port,
        working_dir=working,
        role="backup" if pair is not None and pair.backup == app else "primary",
        peer=peer,
        intake_url=intake_url,
        intake_token=intake_token,
        drivers=tuple(d for d in DRIVERS if read_record(d, values) is not None),
        control_token=control_token(values),
    )


def _peer(ctx: Context, tenant: str, name: str) -> Peer:
    """The pair's other member ``name`` as configured: its address and control token."""
    obj = load_dms(ctx, tenant, name)
    host, port = _address(obj.info)
    return Peer(name, host, port, control_token(option_values(obj)))


def control_token(values: dict[tuple[str, str], str]) -> str:
    """An application's ``[gsetup-dms] control-token`` among its option values ("": none)."""
    return values.get((CONTROL_SECTION, CONTROL_KEY), "")


def _intake(values: dict[tuple[str, str], str]) -> tuple[str, str]:
    """The intake's URL and token among an application's option values."""
    return values.get((SECTION, URL_KEY), ""), values.get((SECTION, TOKEN_KEY), "")


def _intake_reader(ctx: Context, tenant: str, app: str) -> IntakeReader:
    """The intake's URL and token as the configuration database holds them now, for the
    stand-in's forwarder once a forward failed."""
    return _reader(ctx, lambda: _intake(option_values(load_dms(ctx, tenant, app))))


def _control_reader(ctx: Context, tenant: str, app: str, peer: str | None) -> ControlReader:
    """The control token of ``app``, and its ``peer``'s address and token, as the
    configuration database holds them now, for each role-changing request of the stand-in."""

    def current() -> tuple[str, Peer | None]:
        own = control_token(option_values(load_dms(ctx, tenant, app)))
        return own, None if peer is None else _peer(ctx, tenant, peer)

    return _reader(ctx, current)


def _reader(ctx: Context, read: Callable[[], T]) -> Callable[[], T | None]:
    """``read`` for the running stand-in: None while the database is out of reach (it goes
    on with what it has), and no connection kept between reads."""
    from sqlalchemy.exc import SQLAlchemyError

    def current() -> T | None:
        try:
            return read()
        except (GsetupError, SQLAlchemyError):
            return None
        finally:
            ctx.db.engine.dispose()

    return current


def _address(app: Application) -> tuple[str, int]:
    if not app.host or app.port is None:
        raise BadInputError(
            f"application {app.name!r} needs a host and a port for the DMS stand-in: "
            f"gsetup app update {app.name} --host 127.0.0.1 --port PORT"
        )
    return app.host, app.port


def run_dms(
    ctx: Context, tenant: str, app: str, ready: Callable[[DmsSettings], None] | None = None
) -> None:
    """Run the stand-in for ``app`` until it is stopped (SIGTERM or Ctrl-C)."""
    from gsetup.dms.server import bind, serve, service_for

    ctx.identity.require(tenant, change=False)
    settings = dms_settings(ctx, tenant, app)
    ctx.db.engine.dispose()  # read once: the stand-in keeps no connection
    sock = bind(settings)
    try:
        peer = settings.peer.app if settings.peer else None
        service = service_for(
            settings, _intake_reader(ctx, tenant, app), _control_reader(ctx, tenant, app, peer)
        )
    except BaseException:
        sock.close()
        raise
    if ready is not None:
        ready(settings)
    serve(service, sock)
