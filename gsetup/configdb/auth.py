"""Who is using the database, and what they may see and change.

The embedded SQLite database trusts the operating-system user who owns its file (checked when
it is opened), like PostgreSQL's peer authentication. A server database requires a login:
accounts hold scrypt password hashes and per-tenant roles.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gsetup.configdb.tenants import check_name
from gsetup.errors import BadInputError, NotFoundError, PermissionDeniedError
from gsetup.fileio import quote_prefix
from gsetup.options import control_in

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

ROLES = ("viewer", "operator", "admin")  # each may do what the ones before it may
CHANGE_ROLES = ("operator", "admin")
# scrypt cost: 2**15 x 8 x 1 takes about 50 ms and 32 MiB, OWASP's recommended minimum.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    """An scrypt hash with a random salt, in a self-describing text form."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt" or not _is_text(password):  # no UTF-8 text: no password's
        return False
    actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(actual, base64.b64decode(digest))


def check_password(password: str, source: str = "") -> str:
    """Refuse a new password too short to be one, or holding a control character as an
    answer's secret may not (accounts and agent logins share the rule).

    ``source`` says where it came from, so the user knows what to fix: ``from NAME``.
    """
    # a line break or control cannot be typed at a login prompt, nor kept in a secret file
    held = control_in(check_password_text(password, source), answer=True)
    if held:
        raise BadInputError(
            f"{_named(source)} holds {held}; a password is one line of text (tab allowed)"
        )
    if len(password) < MIN_PASSWORD:
        raise BadInputError(
            f"{_named(source)} is too short: a password must have at least {MIN_PASSWORD} "
            "characters"
        )
    return password


def check_password_text(password: str, source: str = "") -> str:
    """Refuse a password that is not text (e.g. to log in with), ``source`` as for
    :func:`check_password`."""
    if not _is_text(password):
        raise BadInputError(
            f"{_named(source)} is not UTF-8 text: give a password of UTF-8 characters"
        )
    return password


def _named(source: str) -> str:
    return f"the password {source}" if source else "the password"


def _is_text(password: str) -> bool:
    """Whether ``password`` can be hashed: bytes of an environment variable that are not
    UTF-8 come as lone surrogates, which no UTF-8 encoding takes."""
    try:
        password.encode()
    except UnicodeEncodeError:
        return False
    return True


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32
    )


@dataclass(frozen=True)
class Identity:
    """A logged-in user and their roles per tenant name; ``superuser`` sees every tenant."""

    name: str
    superuser: bool = False
    roles: dict[str, str] = field(default_factory=dict)

    def role(self, tenant: str) -> str | None:
        """The user's role in ``tenant``, or None when it was not granted."""
        return "admin" if self.superuser else self.roles.get(tenant)

    def can_see(self, tenant: str) -> bool:
        """Whether the tenant is visible to this user."""
        return self.role(tenant) is not None

    def require(self, tenant: str, *, change: bool) -> None:
        """Raise unless the user may see (or, with ``change``, change) the tenant.

        A tenant the user was not granted is reported as unknown, so its existence stays hidden.
        """
        role = self.role(tenant)
        if role is None:
            raise NotFoundError(f"unknown tenant {quote_prefix(tenant)}")
        if change and role not in CHANGE_ROLES:
            raise PermissionDeniedError(
                f"account {self.name!r} is a {role} in tenant {tenant!r} and may not change it; "
                f"roles that may: {', '.join(CHANGE_ROLES)}"
            )

    def require_superuser(self, what: str) -> None:
        """Raise unless this user administers the whole database."""
        if not self.superuser:
            raise PermissionDeniedError(f"only a superuser account may {what}")


def os_identity() -> Identity:
    """The embedded database's user: the owner of the file, with every right."""
    return Identity(getpass.getuser(), superuser=True)


def login(conn: Connection, user: str, password: str) -> Identity:
    """Check the password of ``user``; one message for unknown users and wrong passwords."""
    from sqlalchemy import select

    from gsetup.configdb.tables import account, account_grant
    from gsetup.configdb.tables import tenant as tenants

    row = conn.execute(
        select(account.c.id, account.c.password_hash, account.c.superuser).where(
            account.c.name == user
        )
    ).first()
    # Hash even for an unknown user so timing does not tell which accounts exist.
    stored = row.password_hash if row else hash_password(secrets.token_hex(8))
    if not verify_password(password, stored) or row is None:
        raise PermissionDeniedError(
            f"login failed for account {quote_prefix(user)}: wrong user or password"
        )
    grants = conn.execute(
        select(tenants.c.name, account_grant.c.role)
        .join(account_grant, account_grant.c.tenant_id == tenants.c.id)
        .where(account_grant.c.account_id == row.id)
    ).all()
    return Identity(user, superuser=row.superuser, roles={name: role for name, role in grants})


def check_role(role: str) -> str:
    """Validate a role name."""
    if role not in ROLES:
        raise BadInputError(f"unknown role {quote_prefix(role)}; roles: {', '.join(ROLES)}")
    return role


def create_account(conn: Connection, user: str, password: str, *, superuser: bool) -> int:
    """Insert an account; the name must be new, also regardless of case."""
    from sqlalchemy import insert, text
    from sqlalchemy.exc import IntegrityError

    from gsetup.configdb.tables import account

    check_name(user, "account", spaces=False)
    check_password(password)
    values = {"name": user, "password_hash": hash_password(password), "superuser": superuser}
    if conn.dialect.name == "postgresql":
        # Creates one at a time (reads and logins go on): the index on lower(name) misses
        # twins that only casefold() folds ('STRASSE', 'straße'; non-ASCII letters in a C
        # locale), so the check below must see every create committed before this one.
        conn.execute(text("LOCK TABLE account IN SHARE ROW EXCLUSIVE MODE"))
    _check_new_account(conn, user)
    try:
        with conn.begin_nested():  # keeps the transaction usable to say why
            result = conn.execute(insert(account).values(**values))
    except IntegrityError:
        # Another create committed the name (or its case twin) since the check: its unique
        # indexes refused this one. Checked again, it is named as if it had come first.
        _check_new_account(conn, user)
        raise
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _check_new_account(conn: Connection, user: str) -> None:
    """Refuse a name an account has, or differs from an account's only by case."""
    from sqlalchemy import select

    from gsetup.configdb.tables import account
    from gsetup.errors import ConflictError

    # Names differing only by case would look like one account in history, locks and lists.
    names = list(conn.execute(select(account.c.name)).scalars())
    if user in names:
        raise ConflictError(f"account {user!r} already exists")
    for name in names:
        if name.casefold() == user.casefold():
            raise ConflictError(
                f"account {user!r} differs from the existing account {name!r} only by case; "
                "choose another name"
            )


def grant(conn: Connection, user: str, tenant: str, role: str) -> None:
    """Give ``user`` the ``role`` in ``tenant`` (replacing an earlier grant)."""
    from sqlalchemy import delete, insert, select

    from gsetup.configdb.tables import account, account_grant
    from gsetup.configdb.tables import tenant as tenants

    check_role(role)
    account_id = conn.execute(select(account.c.id).where(account.c.name == user)).scalar()
    if account_id is None:
        raise NotFoundError(f"unknown account {quote_prefix(user)}")
    tenant_id = conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).scalar()
    if tenant_id is None:
        raise NotFoundError(f"unknown tenant {quote_prefix(tenant)}")
    conn.execute(
        delete(account_grant).where(
            account_grant.c.account_id == account_id, account_grant.c.tenant_id == tenant_id
        )
    )
    conn.execute(
        insert(account_grant).values(account_id=account_id, tenant_id=tenant_id, role=role)
    )


def has_accounts(conn: Connection) -> bool:
    """Whether the database holds any login account."""
    from sqlalchemy import select

    from gsetup.configdb.tables import account

    return conn.execute(select(account.c.id).limit(1)).first() is not None


def list_accounts(conn: Connection) -> list[dict[str, Any]]:
    """Every account by name: name, superuser and roles (tenant -> role); two statements."""
    from sqlalchemy import select

    from gsetup.configdb.tables import account, account_grant
    from gsetup.configdb.tables import tenant as tenants

    accounts = conn.execute(
        select(account.c.id, account.c.name, account.c.superuser).order_by(account.c.name)
    ).all()
    roles: dict[int, dict[str, str]] = {}
    grants = select(account_grant.c.account_id, tenants.c.name, account_grant.c.role).join(
        tenants, tenants.c.id == account_grant.c.tenant_id
    )
    for account_id, tenant, role in conn.execute(grants.order_by(tenants.c.name)):
        roles.setdefault(account_id, {})[tenant] = role
    return [
        {"name": name, "superuser": superuser, "roles": roles.get(account_id, {})}
        for account_id, name, superuser in accounts
    ]
