"""Accounts: argon2 password hashes and the rules for user and profile names.

The hash is argon2id with the library's current parameters; ``needs_rehash``
lets a login upgrade an old hash. Passwords never reach the command line or
the store in clear (see ``paperradar users add``).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import PaperradarError

ROLES = ("admin", "member")
MIN_PASSWORD = 8
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# One hasher, no state beyond its parameters: verifying is thread-safe.
_HASHER = PasswordHasher()


class AccountError(PaperradarError):
    """A user or profile name, role or password that cannot be used."""


def check_name(name: str, what: str = "user name") -> str:
    """Lower-case letters, digits, ``.``, ``_`` and ``-``: safe in URLs, paths and the CLI."""
    if not NAME_RE.fullmatch(name):
        raise AccountError(
            f"{what} {name!r} is not allowed: use 1-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. ada or vision-2)."
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"role {role!r} is unknown; use one of {', '.join(ROLES)}.")
    return role


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password is too short: use at least {MIN_PASSWORD} characters.")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
