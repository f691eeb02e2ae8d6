"""When each window result of the simulated ECGs arrives on the windows topic, for the
chunk -> window-result latency of ``ecg simulate``.

It reads as ``ecg tail`` and any downstream consumer do (``schemas.consumer``, no
consumer group, nothing committed), from the end of every partition, resolved before
``start`` returns: a window emitted after that is seen. Only the keys it was told to
watch are decoded, and of each window only the fields that say which it is
(``schemas.consumer.leading_fields``): a window result carries its beats and measures
as well, which this watch does not read.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from client.tail import TailError, connect_consumer
from schemas.consumer import DecodeError, decode, leading_fields, read_schemas

CONNECT_SECONDS = 10.0
POLL_MS = 100
WINDOW_FIELDS = ("ecg_id", "index", "start_sample", "end_sample")  # a window's first fields


class WatchError(Exception):
    """Kafka is unreachable or lacks the topic: the window latency cannot be measured."""


@dataclass(frozen=True)
class Arrival:
    end_sample: int
    time: float  # the event loop's clock


class WindowWatch:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._schemas = leading_fields(read_schemas(), WINDOW_FIELDS)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        # ECG id (the message key) -> window index -> its first arrival.
        self.arrivals: dict[bytes, dict[int, Arrival]] = {}
        self.undecodable = 0
        self.error: str | None = None  # why reading stopped early
        self._arrived = asyncio.Event()

    @property
    def seen(self) -> int:
        return sum(len(windows) for windows in self.arrivals.values())

    def watch(self, ecg_id: str) -> None:
        self.arrivals.setdefault(ecg_id.encode(), {})

    async def wait_until_seen(self, count: int) -> None:
        """Return once ``count`` windows arrived or reading stopped."""
        while self.seen < count and self.error is None:
            self._arrived.clear()
            await self._arrived.wait()

    async def start(self) -> None:
        """Connect and settle the start offsets, then read in the background."""
        self._consumer = AIOKafkaConsumer(
            self._topic,
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        try:
            await connect_consumer(self._consumer, self._bootstrap, [self._topic], CONNECT_SECONDS)
        except BaseException as exc:
            await self._consumer.stop()
            if isinstance(exc, TailError):
                raise WatchError(str(exc)) from None
            raise
        self._task = asyncio.create_task(self._read(self._consumer))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=POLL_MS)
                now = loop.time()
                for batch in batches.values():
                    self._record(batch, now)
        except KafkaError as exc:
            self.error = f"reading {self._topic} failed: {exc!r}"
            self._arrived.set()

    def _record(self, batch: list[Any], now: float) -> None:
        for message in batch:
            windows = self.arrivals.get(message.key or b"")
            if windows is None:
                continue
            try:
                window = decode(message.value or b"", self._schemas)
            except DecodeError:
                self.undecodable += 1
                continue
            windows.setdefault(int(window["index"]), Arrival(int(window["end_sample"]), now))
            self._arrived.set()
