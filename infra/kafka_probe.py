"""Is the broker serving? Ask it for cluster metadata over the Kafka wire protocol.

An open TCP port is not enough: a KRaft broker listens before it has joined the
cluster. A Metadata response that lists at least one broker means clients can
produce, consume and create topics; in a cluster, one that lists every broker means
all have registered, so topics with a replica on each can be created. Stdlib only:
one Metadata v1 request.
"""

from __future__ import annotations

import socket
import struct

METADATA_API_KEY = 3
METADATA_VERSION = 1
CLIENT_ID = b"ecg-infra-probe"
CORRELATION_ID = 0x0EC6
MAX_RESPONSE = 16 * 1024 * 1024


class ProtocolError(ValueError):
    pass


def metadata_request() -> bytes:
    header = struct.pack(
        ">hhih", METADATA_API_KEY, METADATA_VERSION, CORRELATION_ID, len(CLIENT_ID)
    )
    body = struct.pack(">i", 0)  # v1: an empty topic list asks for brokers only
    payload = header + CLIENT_ID + body
    return struct.pack(">i", len(payload)) + payload


def broker_count(response: bytes) -> int:
    """The number of brokers in a Metadata v1 response (without the size prefix)."""
    if len(response) < 8:
        raise ProtocolError("short Metadata response")
    correlation_id, brokers = struct.unpack_from(">ii", response)
    if correlation_id != CORRELATION_ID:
        raise ProtocolError(f"unexpected correlation id {correlation_id}")
    if brokers < 0:
        raise ProtocolError(f"negative broker count {brokers}")
    return int(brokers)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ProtocolError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def brokers_online(host: str, port: int, timeout: float = 2.0) -> int:
    """Send one Metadata request; return how many brokers the cluster reports."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(metadata_request())
        (size,) = struct.unpack(">i", _read_exactly(sock, 4))
        if not 8 <= size <= MAX_RESPONSE:
            raise ProtocolError(f"implausible response size {size}")
        return broker_count(_read_exactly(sock, size))


def is_serving(host: str, port: int, *, brokers: int = 1) -> bool:
    """Whether the broker on ``port`` answers and lists at least ``brokers`` brokers."""
    try:
        return brokers_online(host, port) >= brokers
    except (OSError, ProtocolError, struct.error):
        return False
