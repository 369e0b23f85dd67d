"""Passwords of the network's NATS users.

``crocevia up`` keeps one file per user, ``<data-dir>/secrets/nats/<user>`` (0600, in 0700
directories), made on the first start and kept afterwards; nats-server gets them through
the environment variables the accounts file names, each service reads its own file
(``CROCEVIA_NATS_PASSWORD_FILE``). For docker compose the same passwords live in a ``.env``
file (``crocevia nats-passwords --env-file .env``).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from pathlib import Path

from crocevia.nats_accounts import password_variable
from crocevia_common.private_files import make_private_dirs, write_private

_FIRST = string.ascii_letters
_REST = string.ascii_letters + string.digits


def new_password(length: int = 32) -> str:
    """A random password safe in a URL and in a nats-server variable (letters and digits,
    a letter first: never read as a number)."""
    return secrets.choice(_FIRST) + "".join(secrets.choice(_REST) for _ in range(length - 1))


def private_directory(path: Path) -> Path:
    """Make ``path`` readable by its owner only (0700), and the parents it creates too."""
    make_private_dirs(path).chmod(0o700)
    return path


def ensure_password(directory: Path, user: str) -> str:
    """The password of ``user`` in ``directory``, made on first use and kept after."""
    path = directory / user
    if not path.exists():
        write_private(path, new_password() + "\n")
    path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def ensure_passwords(directory: Path, users: Iterable[str]) -> dict[str, str]:
    """The password of each of ``users``, in a private ``directory``."""
    private_directory(directory)
    return {user: ensure_password(directory, user) for user in users}


def server_environment(passwords: dict[str, str]) -> dict[str, str]:
    """The variables nats-server reads the passwords from (``CROCEVIA_NATS_PASSWORD_<USER>``)."""
    return {password_variable(user): password for user, password in passwords.items()}


def ensure_env_file(path: Path, users: Iterable[str]) -> list[str]:
    """Give every one of ``users`` a password variable in the ``.env`` file ``path`` (0600),
    keeping the lines it has; return the variables added."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    present = {line.split("=", 1)[0].strip() for line in lines if "=" in line and not line.lstrip().startswith("#")}
    added = [v for v in (password_variable(u) for u in users) if v not in present]
    lines += [f"{variable}={new_password()}" for variable in added]
    write_private(path, "\n".join(lines) + "\n")
    return added
