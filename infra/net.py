"""Loopback ports and HTTP health checks."""

from __future__ import annotations

import contextlib
import socket
import urllib.error
import urllib.request

LOOPBACK = "127.0.0.1"

# No proxy, whatever the environment says: the services live on this machine.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_ports(count: int) -> list[int]:
    """Distinct ports that were free on 127.0.0.1 a moment ago (bound to port 0).

    Another process may take one before the service binds it: callers retry once."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True if GET ``url`` answers 200."""
    try:
        with _opener.open(url, timeout=timeout) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
