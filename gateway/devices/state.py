"""What the stream endpoints and the WebSocket read from ``request.state``;
``gateway.lifespan`` builds it."""

from __future__ import annotations

from gateway.audit import AuditLog
from gateway.authentication import AuthenticationState
from gateway.devices.leases import Leases
from gateway.devices.repository import StreamRepository
from gateway.publisher import SamplePublisher


class DevicesState(AuthenticationState):
    audit: AuditLog
    streams: StreamRepository
    publisher: SamplePublisher
    leases: Leases
