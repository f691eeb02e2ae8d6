"""Taking in a whole ECG: store it, publish its samples, and undo the row if
Kafka does not acknowledge them, so that the client can retry with the same id.

Chunks that were sent before a failure may still reach Kafka; consumers drop
them as duplicates by ``(ecg_id, seq)`` when the retry publishes them again.
"""

from __future__ import annotations

import logging
from uuid import UUID

from gateway.publisher import SamplePublisher
from gateway.recordings.repository import EcgRepository
from gateway.uploads import Upload

log = logging.getLogger(__name__)


async def submit(
    upload: Upload, owner_id: UUID, repository: EcgRepository, publisher: SamplePublisher
) -> int:
    """Store and publish ``upload``; return the number of chunks Kafka acknowledged."""
    publisher.ensure_connected()
    await repository.add(upload, owner_id)
    try:
        return await publisher.publish(upload)
    except BaseException:
        try:
            await repository.remove(upload.id)
        except Exception:
            log.exception("could not remove ECG %s after a failed publish", upload.id)
        raise
