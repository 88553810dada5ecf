"""The bench BMC's users: read from a TOML file the server refuses unless only its
owner can read it. There is no built-in user and no default password.

    # bmc-users.toml (chmod 600)
    kg = "bench-bmc-key"          # optional: two-key logins (the BMC key Kg, 20 bytes max)
    role_logins = true            # optional: a null user name logs in by privilege alone
    [[user]]
    name = "admin"
    password = "correct horse"    # at most 20 bytes (16 for IPMI 1.5 logins)
    privilege = "administrator"   # callback, user, operator or administrator
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import UsersFileError
from ..api import ADMINISTRATOR, CALLBACK, OPERATOR, USER

PRIVILEGES = {
    "callback": CALLBACK,
    "user": USER,
    "operator": OPERATOR,
    "administrator": ADMINISTRATOR,
}
PRIVILEGE_NAMES = {v: k for k, v in PRIVILEGES.items()}
MAX_USERS = 15  # user IDs 2..16; ID 1 is the (disabled) null user


@dataclass(frozen=True)
class User:
    uid: int  # IPMI user ID (2 and up)
    name: bytes
    password: bytes
    privilege: int


@dataclass
class Users:
    users: list[User] = field(default_factory=list)
    kg: bytes | None = None
    role_logins: bool = False

    def by_name(self, name: bytes) -> User | None:
        return next((u for u in self.users if u.name == name), None)

    def by_role(self, privilege: int) -> User | None:
        """Role-only login: the first user whose maximum privilege is the one asked for."""
        if not self.role_logins:
            return None
        return next((u for u in self.users if u.privilege == privilege), None)

    def by_uid(self, uid: int) -> User | None:
        return next((u for u in self.users if u.uid == uid), None)


def _bytes(value, what: str, limit: int, path) -> bytes:
    if not isinstance(value, str):
        raise UsersFileError(f"{path}: {what} must be a string")
    b = value.encode()
    if not b or len(b) > limit:
        raise UsersFileError(f"{path}: {what} must be 1 to {limit} bytes")
    return b


def parse(text: str, path="users file") -> Users:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsersFileError(f"{path}: not TOML ({e})") from None
    unknown = set(doc) - {"kg", "role_logins", "user"}
    if unknown:
        raise UsersFileError(f"{path}: unknown key {sorted(unknown)[0]!r} (kg, role_logins, user)")
    entries = doc.get("user", [])
    if not isinstance(entries, list) or not entries:
        raise UsersFileError(f"{path}: no [[user]] entries (a BMC without users admits nobody)")
    if len(entries) > MAX_USERS:
        raise UsersFileError(f"{path}: {len(entries)} users; at most {MAX_USERS}")
    role_logins = doc.get("role_logins", False)
    if not isinstance(role_logins, bool):  # a string "false" must not switch them on
        raise UsersFileError(f"{path}: role_logins must be true or false (no quotes)")
    users = Users(role_logins=role_logins)
    if "kg" in doc:
        users.kg = _bytes(doc["kg"], "kg", 20, path)
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or set(e) - {"name", "password", "privilege"}:
            raise UsersFileError(f"{path}: user {i + 1}: keys are name, password, privilege")
        name = _bytes(e.get("name"), f"user {i + 1} name", 16, path)
        if users.by_name(name):
            raise UsersFileError(f"{path}: user {name.decode()!r} twice")
        password = _bytes(e.get("password"), f"user {name.decode()!r} password", 20, path)
        priv = PRIVILEGES.get(str(e.get("privilege", "")).lower())
        if priv is None:
            raise UsersFileError(
                f"{path}: user {name.decode()!r} privilege must be one of {', '.join(PRIVILEGES)}"
            )
        users.users.append(User(i + 2, name, password, priv))
    return users


def load(path: str | os.PathLike) -> Users:
    """Read a users file; refused when missing or readable or writable by group or others."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as e:
        raise UsersFileError(f"{p}: {e.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsersFileError(
            f"{p}: readable or writable by others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"it holds passwords: chmod 600 {p}"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UsersFileError(
            f"{p}: not UTF-8 text (byte {e.start}); a users file is TOML"
        ) from None
    return parse(text, p)
