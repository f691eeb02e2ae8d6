"""What the account endpoints read from ``request.state``; ``gateway.lifespan`` builds it."""

from __future__ import annotations

from gateway.accounts.service import Accounts
from gateway.audit import AuditLog
from gateway.authentication import AuthenticationState


class AccountsState(AuthenticationState):
    accounts: Accounts
    audit: AuditLog
