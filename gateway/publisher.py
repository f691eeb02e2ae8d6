"""Publishing an ECG's samples to Kafka, and the life of the producer.

The producer is idempotent with ``acks="all"``, so an acknowledged chunk is on
every in-sync replica and a retried batch is not written twice; chunks are keyed
by the ECG id, so one ECG's chunks stay in order on one partition.

Kafka down at startup: the lifespan makes one connection attempt; when it fails
the gateway starts anyway, logs a warning and keeps trying in the background
(1 s, doubling up to ``kafka_reconnect_max_seconds``). Until it is connected,
uploads get 503 with ``Retry-After`` and ``/healthz`` reports 503, so the process
never crash-loops and never looks healthy while it cannot publish. Once
connected, aiokafka reconnects by itself; an upload that Kafka does not
acknowledge within ``publish_timeout_seconds`` is answered 503.

Backpressure (``Backpressure``): a send is refused at once, with 503 and Retry-After,
instead of waiting out the timeout, while

- the broker is not acknowledging: after a send timed out or failed, one send every
  ``retry_after_seconds`` goes through as a probe and the others are refused until a
  send is acknowledged again. The producer keeps whatever it had queued (an idempotent
  aiokafka producer never drops a batch), so a refused chunk may still reach Kafka
  later; the windows agent drops such copies by their seq. Without this, every
  request of every device would hold a connection and, for a stream, its row lock for
  the whole timeout;
- the producer is saturated: more than ``kafka_max_pending_bytes`` of messages are
  waiting for their acknowledgement (aiokafka's queue has no bound of its own). One
  send is always admitted when nothing is pending, however large.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from gateway.chunks import sample_width, samples_per_chunk, split_into_chunks
from gateway.errors import KafkaUnavailableError
from gateway.observability import (
    PUBLISH_SECONDS,
    PUBLISHED_BYTES,
    PUBLISHED_MESSAGES,
    current_request_id,
)
from gateway.settings import MIB, Settings
from gateway.uploads import Upload
from schemas.sample_chunks import LeadInfo, encode_sample_chunk
from schemas.topics import REQUEST_ID_HEADER

log = logging.getLogger(__name__)


def message_key(ecg_id: UUID) -> bytes:
    return str(ecg_id).encode()


def encode_chunks(upload: Upload, chunk_bytes: int) -> list[bytes]:
    """The ``SampleChunk`` messages of an upload, in ``seq`` order."""
    signals = [lead.signal for lead in upload.leads]
    length = samples_per_chunk(len(signals), sample_width(signals), chunk_bytes)
    leads = [LeadInfo(lead.name, lead.gain, lead.baseline) for lead in upload.leads]
    return [
        encode_sample_chunk(
            upload.id,
            chunk.seq,
            chunk.start_sample,
            date=upload.date,
            sampling_rate=upload.sampling_rate,
            leads=leads,
            samples=chunk.samples,
            final=chunk.final,
        )
        for chunk in split_into_chunks(signals, length)
    ]


class Backpressure:
    """Which sends to refuse at once (see the module's docstring). Not thread-safe:
    one event loop's bookkeeping."""

    def __init__(
        self,
        max_pending_bytes: int,
        probe_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_pending_bytes = max_pending_bytes
        self._probe_interval = probe_interval
        self._clock = clock
        self.pending_bytes = 0
        self._failed_at: float | None = None  # the last failure while not acknowledging
        self._probing = False

    @contextlib.contextmanager
    def admit(self, size: int) -> Iterator[None]:
        """Hold ``size`` bytes as pending for the block, or raise KafkaUnavailableError;
        the block's outcome says whether the broker acknowledges."""
        if self.pending_bytes and self.pending_bytes + size > self._max_pending_bytes:
            raise KafkaUnavailableError(
                f"{self.pending_bytes // MIB} MiB of samples are waiting for the message "
                "broker's acknowledgement, as many as this gateway holds; retry later"
            )
        probe = False
        if self._failed_at is not None:
            if self._probing or self._clock() - self._failed_at < self._probe_interval:
                raise KafkaUnavailableError(
                    "the message broker is not acknowledging samples at the moment; retry later"
                )
            probe = self._probing = True
        self.pending_bytes += size
        try:
            yield
        except KafkaUnavailableError:
            self._failed_at = self._clock()
            raise
        else:
            self._failed_at = None
        finally:
            self.pending_bytes -= size
            if probe:
                self._probing = False


class SamplePublisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: Any = None
        self._connecting: asyncio.Task[None] | None = None
        self._backpressure = Backpressure(
            settings.kafka_max_pending_bytes, settings.retry_after_seconds
        )

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        if not await self._try_connect():
            self._connecting = asyncio.create_task(self._keep_connecting(), name="kafka-connect")

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def ping(self) -> None:
        producer = self._require_producer()
        try:
            async with asyncio.timeout(self._settings.health_timeout_seconds):
                await producer.client.fetch_all_metadata()
        except (KafkaError, OSError, TimeoutError) as exc:
            raise KafkaUnavailableError("the message broker does not answer") from exc

    async def publish(self, upload: Upload) -> int:
        """Send every chunk and wait until Kafka acknowledged all; return how many."""
        messages = encode_chunks(upload, self._settings.chunk_bytes)
        await self.send(upload.id, messages)
        return len(messages)

    async def send(self, ecg_id: UUID, messages: Sequence[bytes], topic: str | None = None) -> None:
        """Send the ECG's encoded chunks (or other messages keyed by the ECG, to
        ``topic``), in order, and wait until Kafka acknowledged all. Each carries the
        request's id as its ``request_id`` header (for the worker's logs), when there is
        one."""
        producer = self._require_producer()
        size = sum(len(message) for message in messages)
        with self._backpressure.admit(size):
            started = time.perf_counter()
            await self._send(
                producer, topic or self._settings.samples_topic, message_key(ecg_id), messages
            )
        PUBLISH_SECONDS.observe(time.perf_counter() - started)
        PUBLISHED_MESSAGES.inc(len(messages))
        PUBLISHED_BYTES.inc(size)

    @property
    def pending_bytes(self) -> int:
        """Bytes handed to Kafka and not acknowledged yet."""
        return self._backpressure.pending_bytes

    async def _send(self, producer: Any, topic: str, key: bytes, messages: Sequence[bytes]) -> None:
        timeout = self._settings.publish_timeout_seconds
        request_id = current_request_id()
        headers = [] if request_id is None else [(REQUEST_ID_HEADER, request_id.encode())]
        try:
            async with asyncio.timeout(timeout):
                deliveries = [
                    await producer.send(topic, value=message, key=key, headers=headers)
                    for message in messages
                ]
                outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
        except TimeoutError as exc:
            raise KafkaUnavailableError(
                f"the message broker did not acknowledge the samples within {timeout:g} s; "
                "retry later"
            ) from exc
        except KafkaError as exc:
            raise KafkaUnavailableError(
                "the message broker refused the samples; retry later"
            ) from exc
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise KafkaUnavailableError(
                    "the message broker refused the samples; retry later"
                ) from outcome

    def ensure_connected(self) -> None:
        self._require_producer()

    def _require_producer(self) -> Any:
        if self._producer is None:
            raise KafkaUnavailableError("the message broker is not connected yet; retry later")
        return self._producer

    async def _try_connect(self) -> bool:
        settings = self._settings
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id="ecg-gateway",
            acks="all",
            enable_idempotence=True,
            compression_type="zstd",
            linger_ms=settings.kafka_linger_ms,
            max_batch_size=settings.kafka_max_batch_bytes,
            request_timeout_ms=int(settings.kafka_request_timeout_seconds * 1000),
        )
        try:
            await producer.start()
        except (KafkaError, OSError, TimeoutError) as exc:
            await producer.stop()
            log.warning("Kafka at %s is unreachable: %s", settings.kafka_bootstrap, exc)
            return False
        except Exception:
            # Keep the background retry alive whatever the client raises; say so loudly.
            await producer.stop()
            log.exception("connecting to Kafka at %s failed", settings.kafka_bootstrap)
            return False
        self._producer = producer
        log.info("connected to Kafka at %s", settings.kafka_bootstrap)
        return True

    async def _keep_connecting(self) -> None:
        delay = 1.0
        while True:
            log.info("retrying Kafka at %s in %g s", self._settings.kafka_bootstrap, delay)
            await asyncio.sleep(delay)
            if await self._try_connect():
                return
            delay = min(delay * 2, self._settings.kafka_reconnect_max_seconds)
