"""What the auth endpoints do, apart from HTTP: log in, refresh, log out, change a
password, register. Each step writes its audit event.

Login costs the same whether or not the email has an account: the lookup, the
throttle and one Argon2id verification (against a dummy hash when there is no
account) run in both cases, and both failures raise the same error. Throttling is
keyed by the user id when the email has an account, so that no spelling of the
email (letter case, Unicode look-alikes that PostgreSQL folds) gets a fresh budget.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from gateway.accounts.credentials import Registration, check_new_password, claimed_email
from gateway.accounts.passwords import Passwords
from gateway.accounts.sessions import Sessions
from gateway.accounts.throttle import Throttle
from gateway.accounts.users import User, UserPage, Users
from gateway.audit import AuditEvent, AuditLog
from gateway.authentication import Principal
from gateway.errors import (
    AccountDisabledError,
    FieldError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidTokenError,
    OwnAccountError,
    RevokedTokenError,
    TooManyAttemptsError,
    UserNotFoundError,
)
from gateway.settings import Settings
from gateway.tokens import Claims, IssuedToken, Role, Tokens


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken

    def body(self) -> dict[str, Any]:
        claims = self.access.claims
        return {
            "access_token": self.access.token,
            "refresh_token": self.refresh.token,
            "token_type": "bearer",
            "expires_in": claims.expires_at - claims.issued_at,
        }


class Accounts:
    def __init__(
        self,
        settings: Settings,
        tokens: Tokens,
        passwords: Passwords,
        users: Users,
        sessions: Sessions,
        throttle: Throttle,
        audit: AuditLog,
    ) -> None:
        self._session_seconds = settings.session_seconds
        self._tokens = tokens
        self._passwords = passwords
        self._users = users
        self._sessions = sessions
        self._throttle = throttle
        self._audit = audit

    async def login(self, email: str, password: str, address: str | None) -> TokenPair:
        user = await self._users.find(email)
        event = AuditEvent(
            action="auth.login",
            outcome="failure",
            actor_id=user.id if user else None,
            actor_email=user.email if user else claimed_email(email),
            client_address=address,
        )
        try:
            attempt = await self._throttle.admit(str(user.id) if user else email.lower(), address)
        except TooManyAttemptsError as error:
            retry_after = {"retry_after": error.retry_after_seconds}
            await self._record(event, "throttled", detail=retry_after)
            raise
        verification = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not verification.matches:
            reason = "unknown_email" if user is None else "wrong_password"
            await self._record(event, "failure", detail={"reason": reason})
            raise InvalidCredentialsError()
        if user.disabled:
            await self._record(event, "disabled")
            raise AccountDisabledError()
        await self._throttle.succeeded(attempt)
        if verification.new_hash is not None:
            await self._users.upgrade_hash(user.id, user.password_hash, verification.new_hash)
        pair = await self._start_session(user)
        session = str(pair.refresh.claims.session_id)
        rehashed = {"rehashed": True} if verification.new_hash else None
        await self._record(event, "success", object_id=session, detail=rehashed)
        return pair

    async def refresh(self, claims: Claims, token: str, address: str | None) -> TokenPair:
        """Spend the refresh ``token`` (verified: ``claims``) for a new pair."""

        def issue(session_ends: float) -> IssuedToken:
            return self._tokens.issue(
                "refresh", claims.user_id, claims.session_id, not_after=session_ends
            )

        rotation = await self._sessions.rotate(claims, token, issue)
        event = AuditEvent(
            action="auth.refresh",
            outcome=rotation.outcome,
            actor_id=claims.user_id,
            object_id=str(claims.session_id),
            client_address=address,
        )
        if rotation.outcome == "reused":
            await self._record(event, "session_revoked", action="auth.refresh_reuse")
            raise InvalidTokenError(
                "this refresh token was used before, so it may have been stolen: "
                "its session has ended; log in again"
            )
        if rotation.token is None or rotation.role is None:
            await self._record(event, "revoked")
            raise RevokedTokenError(claims.user_id)
        access = self._tokens.issue(
            "access",
            claims.user_id,
            claims.session_id,
            not_after=rotation.session_ends,
            role=rotation.role,
        )
        await self._record(event, "success")
        return TokenPair(access, rotation.token)

    async def logout(self, claims: Claims, address: str | None) -> None:
        """End the session of a verified access or refresh token."""
        ended = await self._sessions.end(claims)
        await self._audit.record(
            AuditEvent(
                action="auth.logout",
                outcome="success" if ended else "already_ended",
                actor_id=claims.user_id,
                object_id=str(claims.session_id),
                client_address=address,
                detail={"token_use": claims.use},
            )
        )

    async def register(self, registration: Registration) -> User:
        password_hash = await self._passwords.hash(registration.password)
        return await self._users.create(registration.email, password_hash, registration.role)

    async def change_password(
        self, principal: Principal, current: str, new: str, address: str | None
    ) -> None:
        """Check ``current`` (throttled like a login), set ``new``, end every session."""
        user = await self._users.get(principal.user_id)
        if user is None:
            raise RevokedTokenError(principal.user_id)
        check_new_password(new, user.email)
        attempt = await self._throttle.admit(str(user.id), address)
        if not (await self._passwords.verify(user.password_hash, current)).matches:
            raise InvalidInputError([FieldError("current_password", "is wrong")])
        await self._throttle.succeeded(attempt)
        await self._users.change_password(user.id, await self._passwords.hash(new))

    async def users(self, after: uuid.UUID | None, limit: int) -> UserPage:
        return await self._users.page(after, limit)

    async def update_user(
        self, admin: Principal, user_id: uuid.UUID, disabled: bool | None, role: Role | None
    ) -> tuple[User, int]:
        """An administrator disables, enables or changes the role of an account (not
        their own); the account as it is now, and the sessions that disabling ended."""
        if user_id == admin.user_id and (disabled or role == "user"):
            raise OwnAccountError()
        updated = await self._users.update(user_id, disabled, role)
        if updated is None:
            raise UserNotFoundError(user_id)
        return updated

    async def reset_password(self, user_id: uuid.UUID, password: str) -> int:
        """An administrator sets an account's password (the policy applies): every
        session of the account ends; return how many."""
        user = await self._users.get(user_id)
        if user is None:
            raise UserNotFoundError(user_id)
        check_new_password(password, user.email, field="password")
        new_hash = await self._passwords.hash(password)
        return await self._users.change_password(user_id, new_hash, "admin_reset")

    async def _start_session(self, user: User) -> TokenPair:
        session_id = uuid.uuid4()
        ends = time.time() + self._session_seconds
        refresh = self._tokens.issue("refresh", user.id, session_id, not_after=ends)
        await self._sessions.start(refresh, ends)
        access = self._tokens.issue("access", user.id, session_id, not_after=ends, role=user.role)
        return TokenPair(access, refresh)

    async def _record(
        self,
        event: AuditEvent,
        outcome: str,
        *,
        action: str | None = None,
        object_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._audit.record(
            AuditEvent(
                action=action or event.action,
                outcome=outcome,
                actor_id=event.actor_id,
                actor_email=event.actor_email,
                object_id=object_id or event.object_id,
                client_address=event.client_address,
                detail=detail,
            )
        )
