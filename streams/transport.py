"""Faust's Kafka transport, with the consumer's fetches answered without a long wait.

Faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` and no setting to
change it. aiokafka sends one fetch at a time per broker, and leaves out of it the
partitions whose records the worker has not consumed yet: under load the samples'
partitions are often among those, so a fetch asks for the quiet ones only (the
results' topics the sink reads) and the broker holds it until 1.5 s pass; the samples,
consumed by then, wait behind it. With 1,000 devices chunks reached the windows agent
1.5 to 4 s late. A short wait costs a few empty fetches a second when all is quiet.
"""

from __future__ import annotations

from typing import ClassVar

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import ConsumerT

# The longest the broker holds a fetch for which it has no records yet.
FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(
        self, transport: faust_aiokafka.Transport
    ) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by ``start()``, which builds the fetcher.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """``faust.transport.drivers.aiokafka.Transport`` with ``FETCH_MAX_WAIT_MS``."""

    Consumer: ClassVar[type[ConsumerT]] = _Consumer
