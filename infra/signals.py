"""Turn SIGINT, SIGTERM and SIGHUP into an exception while services start, so
that whatever was started gets stopped; and hold them off while stopping."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Handler = Callable[[int, FrameType | None], None]


class StopSignalError(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise StopSignalError(signum)


def _postpone(signum: int, _frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    print(f"infra: {name} received while stopping the services; still stopping", file=sys.stderr)


@contextmanager
def _handled_by(handler: Handler) -> Iterator[None]:
    previous = {sig: signal.getsignal(sig) for sig in HANDLED}
    for sig in HANDLED:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def interrupts_raise() -> AbstractContextManager[None]:
    return _handled_by(_raise)


def interrupts_postponed() -> AbstractContextManager[None]:
    """A handler rather than SIG_IGN, so children started meanwhile (pg_ctl)
    keep the default dispositions."""
    return _handled_by(_postpone)
