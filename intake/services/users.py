"""Console users: creation with a hashed password, and authentication."""

from __future__ import annotations

import base64
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


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        return None
    return user
