"""What cannot be processed goes to the dead-letter topic with the reason, and is
acknowledged: one bad message never blocks its partition. Each is counted by its kind
(``ecg_worker_dead_letters``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from faust.types import EventT, TopicT

from schemas.codec import Schema, encode
from schemas.topics import request_id_of
from streams.metrics import DeadLetterKind, WorkerMetrics

log = logging.getLogger(__name__)

# Sends ``event`` to the dead-letter topic with the kind and text of the reason;
# returns once Kafka has it.
DeadLetter = Callable[[EventT[bytes], DeadLetterKind, str], Awaitable[None]]


async def send_dead_letter(
    topic: TopicT,
    metrics: WorkerMetrics,
    event: EventT[bytes],
    kind: DeadLetterKind,
    reason: str,
) -> None:
    """Send ``event``'s message to ``topic`` with ``reason`` and wait until Kafka has
    it: before the offending message is acknowledged."""
    message = event.message
    log.warning(
        "dead letter (%s) from %s[%d]@%d: %s",
        kind.value,
        message.topic,
        message.partition,
        message.offset,
        reason,
        extra={"request_id": request_id_of(message.headers), "kind": kind.value},
    )
    metrics.dead_letter(kind)
    record = {
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "reason": reason,
        "payload": message.value or b"",
    }
    sent = await topic.send(key=message.key, value=encode(Schema.DEAD_LETTER, record))
    await sent
