"""Console users: creation with a hashed password, and authentication."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import messages_vi as msg
from intake.models import Agency, Role, User
from intake.services.errors import InvalidInput

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """scrypt with a random salt, stored as `scrypt$n$r$p$salt$hash` (base64)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    enc = base64.b64encode
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + f"{enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    salt = base64.b64decode(salt_b64)
    expected = base64.b64decode(digest_b64)
    actual = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
    )
    return hmac.compare_digest(actual, expected)


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    now: datetime,
    agency_code: str | None = None,
) -> User:
    """Create a console user. Usernames are unique; passwords need at least 10 characters."""
    errors: dict[str, str] = {}
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        errors["username"] = msg.ERR_USERNAME_CHARS
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = msg.ERR_USERNAME_TAKEN.format(username=username)
    if len(password) < 10:
        errors["password"] = msg.ERR_PASSWORD_SHORT
    agency = None
    if agency_code:
        agency = session.scalar(select(Agency).where(Agency.code == agency_code))
        if agency is None:
            errors["agency"] = msg.ERR_AGENCY_UNKNOWN.format(agency=agency_code)
    if role == Role.AGENCY_OFFICER and agency is None and "agency" not in errors:
        errors["agency"] = msg.ERR_OFFICER_NEEDS_AGENCY
    if errors:
        raise InvalidInput(errors)
    user = User(
        username=username,
        full_name=full_name.strip() or username,
        role=role,
        password_hash=hash_password(password),
        agency=agency,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


# Checked when the username is unknown, so that an unknown user costs the same scrypt time as a
# wrong password and the answer time does not tell which usernames exist.
@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, else None.

    Unknown user, inactive user and wrong password are indistinguishable to the caller, and
    take the same time: the password is always checked against a scrypt hash."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    password_ok = verify_password(password, user.password_hash if user else _dummy_hash())
    if user is None or not password_ok or not user.active:
        return None
    return user


def update_user(
    session: Session, user: User, *, full_name: str, role: Role, agency_id: int | None
) -> User:
    """Change a user's name, role and agency (an agency officer needs an agency)."""
    errors: dict[str, str] = {}
    agency = session.get(Agency, agency_id) if agency_id is not None else None
    if agency_id is not None and agency is None:
        errors["agency"] = msg.ERR_AGENCY_UNKNOWN.format(agency=agency_id)
    if role == Role.AGENCY_OFFICER and agency is None and "agency" not in errors:
        errors["agency"] = msg.ERR_OFFICER_NEEDS_AGENCY
    if errors:
        raise InvalidInput(errors)
    user.full_name = full_name.strip() or user.username
    user.role = role
    user.agency = agency
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give a user a new password (their other sessions end: the stamp changes)."""
    if len(password) < 10:
        raise InvalidInput({"password": msg.ERR_PASSWORD_SHORT})
    user.password_hash = hash_password(password)
    session.flush()


def set_active(session: Session, user: User, active: bool, *, by: User) -> None:
    """Deactivate (sessions end, login refused) or reactivate a user; not oneself."""
    if user.id == by.id and not active:
        raise InvalidInput({"active": "Bạn không thể tự khóa tài khoản của mình."})
    user.active = active
    session.flush()
