"""What the recording endpoints read from ``request.state``; ``gateway.lifespan`` builds it."""

from __future__ import annotations

from gateway.audit import AuditLog
from gateway.authentication import AuthenticationState
from gateway.database import Database
from gateway.publisher import SamplePublisher
from gateway.recordings.repository import EcgRepository


class RecordingsState(AuthenticationState):
    audit: AuditLog
    database: Database
    repository: EcgRepository
    publisher: SamplePublisher
