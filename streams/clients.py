"""The stream worker's long-lived clients, started and stopped with the Faust app.

The app depends on ``Clients`` (``app.add_dependency``), so they start before the
agents and the timer and stop after them. Nothing connects here: the sink's pool, the
check of new ECGs and the re-reading consumer connect on first use and reconnect after
a failure, so a worker starts while PostgreSQL is still down and holds its results
until it is back (see ``streams.sink``).
"""

from __future__ import annotations

import faust

from streams.backfill import ChunkReader
from streams.idle import IdleStreams, IdleTimer
from streams.known_ecgs import KnownEcgs
from streams.settings import Settings
from streams.sink import ResultStore


class Clients(faust.Service):
    """The sink's PostgreSQL pool (``store``), the windows agent's check of new ECGs
    (``ecgs``), the consumer outside the group that re-reads skipped chunks
    (``reader``) and the closer of idle streams (``idle``)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings
        self._store: ResultStore | None = None
        self._reader: ChunkReader | None = None
        self._idle: IdleTimer | None = None
        self._ecgs: KnownEcgs | None = None

    async def on_start(self) -> None:
        settings = self._settings
        self._store = ResultStore(settings.database_url)
        self._reader = ChunkReader(settings.kafka_bootstrap)
        self._idle = IdleTimer(
            IdleStreams(settings.database_url, settings.stream_idle_seconds),
            settings.app_id,
            settings.stream_idle_seconds,
            settings.stream_idle_check_seconds,
        )
        self._ecgs = KnownEcgs(settings.database_url)

    async def on_stop(self) -> None:
        store, self._store = self._store, None
        reader, self._reader = self._reader, None
        ecgs, self._ecgs = self._ecgs, None
        self._idle = None
        if store is not None:
            await store.close()
        if ecgs is not None:
            await ecgs.close()
        if reader is not None:
            await reader.close()

    @property
    def store(self) -> ResultStore:
        assert self._store is not None, "the clients have not started"
        return self._store

    @property
    def reader(self) -> ChunkReader:
        assert self._reader is not None, "the clients have not started"
        return self._reader

    @property
    def idle(self) -> IdleTimer:
        assert self._idle is not None, "the clients have not started"
        return self._idle

    @property
    def ecgs(self) -> KnownEcgs:
        assert self._ecgs is not None, "the clients have not started"
        return self._ecgs
