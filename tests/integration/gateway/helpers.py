"""Helpers of the gateway's integration tests: serving an app over real HTTP, and
accounts made through the real stores and services against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import UUID, uuid4

import uvicorn
from starlette.applications import Starlette

from gateway.accounts.passwords import Passwords
from gateway.accounts.service import Accounts, TokenPair
from gateway.accounts.sessions import Sessions
from gateway.accounts.throttle import Throttle
from gateway.accounts.users import Users
from gateway.audit import AuditLog
from gateway.database import Database
from gateway.settings import Settings
from gateway.tokens import Role, Tokens


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serve an app with uvicorn on a free loopback port; yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    raise RuntimeError("the gateway did not start") from task.exception()
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        listener.close()


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[Database]:
    database = Database.from_settings(settings)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


def services(settings: Settings, database: Database) -> Accounts:
    """The gateway's account service, as its lifespan builds it."""
    users = Users(database)
    return Accounts(
        settings,
        Tokens(settings),
        Passwords(concurrency=2),
        users,
        Sessions(database),
        Throttle(database),
        AuditLog(database),
    )


def new_email() -> str:
    return f"{uuid4().hex}@example.org"


def random_address() -> str:
    """An address of TEST-NET-2 (RFC 5737): one per test keeps throttling counters apart."""
    return f"198.51.100.{secrets.randbelow(254) + 1}"


@dataclass(frozen=True)
class Account:
    id: UUID
    email: str
    password: str
    tokens: TokenPair

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.access.token}"}


async def open_account(settings: Settings, role: Role = "user") -> Account:
    """A new account of ``role``, logged in once."""
    email, password = new_email(), secrets.token_urlsafe(12)
    async with connected(settings) as database:
        accounts = services(settings, database)
        user = await Users(database).create(
            email, await Passwords(concurrency=1).hash(password), role
        )
        pair = await accounts.login(email, password, random_address())
    return Account(user.id, email, password, pair)
