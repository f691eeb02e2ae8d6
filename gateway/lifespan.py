"""The clients the gateway holds while it runs, opened and closed by the lifespan.

Neither client needs its service at startup: the pool connects on first use
and the producer retries in the background (see ``gateway.publisher``), so the
gateway comes up, reports 503 on ``/healthz`` and recovers by itself.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette

from gateway.accounts.passwords import Passwords
from gateway.accounts.service import Accounts
from gateway.accounts.sessions import Sessions
from gateway.accounts.state import AccountsState
from gateway.accounts.throttle import Throttle
from gateway.accounts.users import Users
from gateway.audit import AuditLog
from gateway.database import Database
from gateway.devices.leases import Leases
from gateway.devices.repository import StreamRepository
from gateway.devices.state import DevicesState
from gateway.health import HealthState
from gateway.observability import PENDING_BYTES
from gateway.publisher import SamplePublisher
from gateway.recordings.repository import EcgRepository
from gateway.recordings.state import RecordingsState
from gateway.settings import Settings
from gateway.tokens import Tokens

log = logging.getLogger(__name__)


class State(AccountsState, RecordingsState, DevicesState, HealthState):
    """Every room's services: each room's handlers see it as that room's own state."""


def lifespan(
    settings: Settings, tokens: Tokens, passwords: Passwords
) -> Callable[[Starlette], AbstractAsyncContextManager[State]]:
    @asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[State]:
        log.info(
            "gateway starting (env=%s, kafka=%s, database=%s)",
            settings.env,
            settings.kafka_bootstrap,
            settings.redacted_database_url,
        )
        _warn_about_the_signing_key(settings)
        database = Database.from_settings(settings)
        publisher = SamplePublisher(settings)
        users, sessions, audit = Users(database), Sessions(database), AuditLog(database)
        throttle = Throttle(database)
        await passwords.prepare()
        async with AsyncExitStack() as stack:
            await database.open()
            stack.push_async_callback(database.close)
            await publisher.start()
            stack.push_async_callback(publisher.stop)
            PENDING_BYTES.set_function(lambda: publisher.pending_bytes)
            leases = Leases.from_settings(settings)  # written before the pool and producer close
            stack.push_async_callback(leases.close_all)
            yield {
                "database": database,
                "repository": EcgRepository(database),
                "streams": StreamRepository(database),
                "publisher": publisher,
                "leases": leases,
                "sessions": sessions,
                "audit": audit,
                "accounts": Accounts(settings, tokens, passwords, users, sessions, throttle, audit),
            }

    return run


def _warn_about_the_signing_key(settings: Settings) -> None:
    if settings.jwt_secret_generated:
        log.warning(
            "ECG_JWT_SECRET is not set: tokens are signed with a random key of this process "
            "(development only); they stop working when it restarts and other gateways "
            "refuse them"
        )
    elif settings.jwt_secret_weakness is not None:
        log.warning(
            "ECG_JWT_SECRET is weak (%s); tolerated in development only",
            settings.jwt_secret_weakness,
        )
