"""What cannot be processed goes to the dead-letter topic with the reason, and is
acknowledged: one bad message never blocks its partition."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from faust.types import EventT, TopicT

from schemas.codec import Schema, encode

log = logging.getLogger(__name__)

# Sends ``event`` to the dead-letter topic with the reason; returns once Kafka has it.
DeadLetter = Callable[[EventT[bytes], str], Awaitable[None]]


async def send_dead_letter(topic: TopicT, event: EventT[bytes], reason: str) -> None:
    """Send ``event``'s message to ``topic`` with ``reason`` and wait until Kafka has
    it: before the offending message is acknowledged."""
    message = event.message
    log.warning(
        "dead letter from %s[%d]@%d: %s",
        message.topic,
        message.partition,
        message.offset,
        reason,
    )
    record = {
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "reason": reason,
        "payload": message.value or b"",
    }
    sent = await topic.send(key=message.key, value=encode(Schema.DEAD_LETTER, record))
    await sent
