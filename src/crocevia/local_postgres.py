"""Databases on a PostgreSQL server of this machine, made as ``deploy/postgres/init`` makes
them for compose (one role and one database per service, no one else may connect), under
names with a suffix of their own so that several runs can share the server."""

from __future__ import annotations

import asyncio
import contextlib
import re

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from crocevia.compose_plan import DatabaseLogin
from crocevia.processes import NetworkError

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _checked(name: str) -> str:
    if not _NAME.match(name) or len(name) > 63:
        raise ValueError(f"not a plain PostgreSQL name: {name!r}")
    return name


def _reason(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class LocalDatabases:
    """``create()`` a role and a database per service on the server of ``admin_url`` (a
    superuser's), ``drop()`` them all."""

    def __init__(self, admin_url: str, suffix: str) -> None:
        self.admin = make_url(admin_url).set(drivername="postgresql+asyncpg")
        self.suffix = _checked(suffix)
        self._made: list[DatabaseLogin] = []

    @property
    def address(self) -> str:
        """``host:port`` of the server."""
        return f"{self.admin.host or '127.0.0.1'}:{self.admin.port or 5432}"

    def local(self, login: DatabaseLogin) -> DatabaseLogin:
        """The role and database that stand for ``login`` in this run."""
        return DatabaseLogin(f"{login.role}_{self.suffix}", login.password, f"{login.database}_{self.suffix}")

    def create(self, logins: dict[str, DatabaseLogin]) -> dict[str, str]:
        """Make each service's role and database; return each service's URL."""
        made = {service: self.local(login) for service, login in logins.items()}
        self._made += made.values()  # dropped even when only some were made
        statements = []
        for login in made.values():
            role, database = _checked(login.role), _checked(login.database)
            statements += [
                f"CREATE ROLE {role} LOGIN PASSWORD {_literal(login.password)}",
                f"CREATE DATABASE {database} OWNER {role}",
                f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC",
            ]
        try:
            asyncio.run(self._run(*statements))
        except (OSError, SQLAlchemyError) as exc:
            with contextlib.suppress(NetworkError):
                self.drop()  # what was made before the failure
            raise NetworkError(f"PostgreSQL at {self.address}: {_reason(exc)}") from None
        return {
            service: self.admin.set(
                username=login.role, password=login.password, database=login.database
            ).render_as_string(hide_password=False)
            for service, login in made.items()
        }

    def drop(self) -> None:
        """Drop every database and role ``create()`` made; idempotent."""
        made, self._made = self._made, []
        statements = [f"DROP DATABASE IF EXISTS {login.database} WITH (FORCE)" for login in made]
        if not made:
            return
        try:
            asyncio.run(self._run(*statements, *(f"DROP ROLE IF EXISTS {login.role}" for login in made)))
        except (OSError, SQLAlchemyError) as exc:
            names = ", ".join(login.database for login in made)
            raise NetworkError(f"PostgreSQL at {self.address}: could not drop {names}: {_reason(exc)}") from None

    async def _run(self, *statements: str) -> None:
        engine = create_async_engine(self.admin, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                for statement in statements:
                    await connection.execute(text(statement))
        finally:
            await engine.dispose()
