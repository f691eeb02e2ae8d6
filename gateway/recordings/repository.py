"""The ECG tables in PostgreSQL (see migrations/0001_create_ecgs.sql).

An ECG is ``done`` once its *final* summary and every window that the summary counts
are stored: the sink reads windows and summaries from two topics, so either may land
first. Until then its summary, if any, is a provisional one over the windows closed so
far (``final`` false; migrations/0006_provisional_summaries.sql). An ECG that the
pipeline gave up on stays ``incomplete`` even when a final summary arrives later.

Every ECG has an owner (migrations/0003_accounts.sql): the lookup filters by owner in
SQL, so someone else's ECG and an unknown id take the same path and give the same
answer. Rows from before accounts have no owner, and nobody can read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from gateway.database import Connection, Database
from gateway.ecg_rows import insert_ecg
from gateway.uploads import Upload

# An ECG is 'done' once its final summary and every window the summary counts are
# stored: windows and summaries arrive on different topics, in no fixed order. A
# provisional summary leaves the status as the gateway set it ('receiving',
# 'processing'), and an 'incomplete' ECG stays so whatever arrives.
STATUS = """CASE WHEN e.status <> 'incomplete' AND s.final AND s.n_windows <= counted.count
                 THEN 'done' ELSE e.status END AS status"""
OWNED_ECG = """FROM ecgs e LEFT JOIN ecg_summaries s ON s.ecg_id = e.id,
                     LATERAL (SELECT count(*) FROM ecg_windows WHERE ecg_id = e.id) AS counted
                WHERE e.id = $1 AND e.owner_id = $2"""
# A window's beat classes (migrations/0014_beat_classes.sql), one letter per beat of
# its beats: Q (unclassifiable) for each beat of a window stored without them (NULL,
# or, which the sink never writes, not one letter per beat).
WINDOW_CLASSES: Final = """CASE WHEN char_length(w.beat_classes) = cardinality(w.beats)
                     THEN w.beat_classes ELSE repeat('Q', cardinality(w.beats)) END"""


@dataclass(frozen=True)
class StoredLead:
    name: str
    number_of_samples: int
    zero_crossings: int | None
    gain: float | None
    baseline: int | None


@dataclass(frozen=True)
class WindowPage:
    """Window results in index order (with their beats), and whether more follow."""

    windows: list[dict[str, Any]]
    more: bool


@dataclass(frozen=True)
class StoredBeats:
    """Every beat so far, ascending, and its AAMI class: ``classes`` has one letter per
    beat of ``sample_indices``, in the same order."""

    sampling_rate: float | None
    status: str
    sample_indices: list[int]
    classes: str


@dataclass(frozen=True)
class StoredEvents:
    """An ECG's rhythm events so far, by number (each its latest report)."""

    sampling_rate: float | None
    status: str
    events: list[dict[str, Any]]


@dataclass(frozen=True)
class StoredEcg:
    id: UUID
    date: datetime
    status: str
    sampling_rate: float | None
    leads: tuple[StoredLead, ...]
    summary: Any
    window_count: int


@dataclass(frozen=True)
class ArchivedLead:
    """A lead of an ECG and how far its samples are stored (``ecg_samples``, migration
    0010): the end of its last stored chunk, 0 before the first."""

    name: str
    gain: float | None
    baseline: int | None
    stored: int


@dataclass(frozen=True)
class SignalLayout:
    sampling_rate: float | None
    leads: tuple[ArchivedLead, ...]


@dataclass(frozen=True, eq=False)
class ArchivedChunk:
    """One stored sample chunk, packed (``schemas.sample_archive``)."""

    start_sample: int
    sample_width: int
    lead_samples: list[int]
    samples: bytes


@dataclass(frozen=True, eq=False)
class ChunkEnvelope:
    """Where a stored chunk lies and each lead's smallest and largest sample in it
    (None: the lead has none there, or the chunk was stored without them)."""

    start_sample: int
    lead_samples: list[int]
    lead_min: list[int | None] | None
    lead_max: list[int | None] | None


class EcgRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(self, upload: Upload, owner_id: UUID) -> None:
        """Insert the ECG (status 'processing') and its leads; EcgExistsError if the id is taken."""
        leads = [
            (lead.name, lead.number_of_samples, lead.gain, lead.baseline) for lead in upload.leads
        ]
        async with self._database.transaction() as connection:
            await insert_ecg(
                connection,
                upload.id,
                upload.date,
                upload.sampling_rate,
                "processing",
                owner_id,
                leads,
            )

    async def remove(self, ecg_id: UUID) -> None:
        async with self._database.connection() as connection:
            await connection.execute("DELETE FROM ecgs WHERE id = $1", ecg_id)

    async def get(self, ecg_id: UUID, owner_id: UUID) -> StoredEcg | None:
        """The ECG if it exists *and* belongs to ``owner_id``; None otherwise, alike."""
        async with (
            self._database.connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await connection.fetchrow(
                f"""
                SELECT e.id, e.date, e.sampling_rate, s.result AS summary, s.final,
                       counted.count AS window_count,
                       {STATUS}
                {OWNED_ECG}
                """,
                ecg_id,
                owner_id,
            )
            if row is None:
                return None
            leads = await connection.fetch(
                """
                SELECT name, number_of_samples, gain, baseline
                FROM ecg_leads WHERE ecg_id = $1 ORDER BY position
                """,
                ecg_id,
            )
        return StoredEcg(
            id=row["id"],
            date=row["date"],
            status=row["status"],
            sampling_rate=row["sampling_rate"],
            leads=tuple(
                StoredLead(
                    **dict(lead)
                    | _analysed(row["summary"], row["final"], position, lead["number_of_samples"]),
                    zero_crossings=_summary_count(row["summary"], position),
                )
                for position, lead in enumerate(leads)
            ),
            summary=_with_final(row["summary"], row["final"]),
            window_count=row["window_count"],
        )

    async def windows(
        self, ecg_id: UUID, owner_id: UUID, after: int, limit: int
    ) -> WindowPage | None:
        """Up to ``limit`` windows with an index above ``after``, if the ECG exists and
        belongs to ``owner_id``; None otherwise, alike."""
        async with (
            self._database.connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            if not await _owns(connection, ecg_id, owner_id):
                return None
            rows = await connection.fetch(
                f"""
                SELECT w.result, w.beats, {WINDOW_CLASSES} AS beat_classes
                FROM ecg_windows w
                WHERE w.ecg_id = $1 AND w.index > $2 ORDER BY w.index LIMIT $3
                """,  # noqa: S608 (only the constants above are interpolated)
                ecg_id,
                after,
                limit + 1,
            )
        windows = [
            {**row["result"], "beats": row["beats"], "beat_classes": row["beat_classes"]}
            for row in rows[:limit]
        ]
        return WindowPage(windows, more=len(rows) > limit)

    async def beats(self, ecg_id: UUID, owner_id: UUID) -> StoredBeats | None:
        """Every beat found so far, ascending, with its class, if the ECG exists and
        belongs to ``owner_id``; None otherwise, alike. Both are joined in window order
        in one statement (one snapshot), so the classes stay aligned with the beats."""
        async with (
            self._database.connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await connection.fetchrow(
                f"""
                SELECT e.sampling_rate,
                       ARRAY(SELECT b
                             FROM ecg_windows w, unnest(w.beats) WITH ORDINALITY AS u(b, o)
                             WHERE w.ecg_id = e.id ORDER BY w.index, u.o) AS beats,
                       (SELECT coalesce(string_agg({WINDOW_CLASSES}, '' ORDER BY w.index), '')
                        FROM ecg_windows w WHERE w.ecg_id = e.id) AS classes,
                       {STATUS}
                {OWNED_ECG}
                """,  # noqa: S608 (only the constants above are interpolated)
                ecg_id,
                owner_id,
            )
        if row is None:
            return None
        return StoredBeats(row["sampling_rate"], row["status"], row["beats"], row["classes"])

    async def events(self, ecg_id: UUID, owner_id: UUID) -> StoredEvents | None:
        """Every rhythm event stored so far (migration 0013), by number, if the ECG
        exists and belongs to ``owner_id``; None otherwise, alike."""
        async with (
            self._database.connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await connection.fetchrow(
                f"""
                SELECT e.sampling_rate,
                       (SELECT coalesce(jsonb_agg(v.report ORDER BY v.number), '[]'::jsonb)
                        FROM ecg_events v WHERE v.ecg_id = e.id) AS events,
                       {STATUS}
                {OWNED_ECG}
                """,  # noqa: S608 (only the constants above are interpolated)
                ecg_id,
                owner_id,
            )
        if row is None:
            return None
        return StoredEvents(row["sampling_rate"], row["status"], row["events"])

    async def signal_layout(self, ecg_id: UUID, owner_id: UUID) -> SignalLayout | None:
        """The ECG's sampling rate and its leads in order, each with how far its samples
        are stored, if the ECG exists and belongs to ``owner_id``; None otherwise, alike.
        A lead's end is read from its last chunk holding any of its samples (the index
        read backwards: chunks follow each other without overlapping)."""
        async with (
            self._database.connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            rate = await connection.fetchrow(
                "SELECT sampling_rate FROM ecgs WHERE id = $1 AND owner_id = $2",
                ecg_id,
                owner_id,
            )
            if rate is None:
                return None
            leads = await connection.fetch(
                """
                SELECT l.name, l.gain, l.baseline,
                       coalesce((SELECT s.start_sample + s.lead_samples[l.position + 1]
                                 FROM ecg_samples s
                                 WHERE s.ecg_id = $1
                                   AND s.lead_samples[l.position + 1] > 0
                                 ORDER BY s.start_sample DESC LIMIT 1), 0) AS stored
                FROM ecg_leads l WHERE l.ecg_id = $1 ORDER BY l.position
                """,
                ecg_id,
            )
        return SignalLayout(
            rate["sampling_rate"], tuple(ArchivedLead(**dict(lead)) for lead in leads)
        )

    async def sample_chunks(
        self, ecg_id: UUID, owner_id: UUID, start: int, end: int
    ) -> list[ArchivedChunk]:
        """The stored chunks of the ECG that overlap samples ``[start, end)``, by their
        first sample; none unless the ECG belongs to ``owner_id``. Chunks not (yet)
        stored are simply absent."""
        async with self._database.connection() as connection:
            rows = await connection.fetch(
                """
                SELECT s.start_sample, s.sample_width, s.lead_samples, s.samples
                FROM ecg_samples s
                WHERE s.ecg_id = $1 AND s.start_sample < $4
                  AND s.start_sample + (SELECT max(n) FROM unnest(s.lead_samples) AS n) > $3
                  -- No chunk that starts before the one holding `start` can reach it: a
                  -- lower bound that the index (ecg_id, start_sample) can use.
                  AND s.start_sample >= coalesce(
                      (SELECT max(start_sample) FROM ecg_samples
                       WHERE ecg_id = $1 AND start_sample <= $3), 0)
                  AND EXISTS (SELECT 1 FROM ecgs WHERE id = $1 AND owner_id = $2)
                ORDER BY s.start_sample
                """,
                ecg_id,
                owner_id,
                start,
                end,
            )
        return [ArchivedChunk(**dict(row)) for row in rows]

    async def chunk_envelopes(
        self, ecg_id: UUID, owner_id: UUID, start: int, end: int
    ) -> list[ChunkEnvelope]:
        """As ``sample_chunks``, without the samples: each chunk's place and its leads'
        extremes (migration 0011), for an overview."""
        async with self._database.connection() as connection:
            rows = await connection.fetch(
                f"""
                SELECT s.start_sample, s.lead_samples, s.lead_min, s.lead_max
                {OVERLAPPING}
                """,
                ecg_id,
                owner_id,
                start,
                end,
            )
        return [ChunkEnvelope(**dict(row)) for row in rows]

    async def chunks_at(
        self, ecg_id: UUID, owner_id: UUID, starts: Sequence[int]
    ) -> list[ArchivedChunk]:
        """The stored chunks of the ECG that start at ``starts``, by their first sample."""
        async with self._database.connection() as connection:
            rows = await connection.fetch(
                """
                SELECT s.start_sample, s.sample_width, s.lead_samples, s.samples
                FROM ecg_samples s
                WHERE s.ecg_id = $1 AND s.start_sample = ANY($3::bigint[])
                  AND EXISTS (SELECT 1 FROM ecgs WHERE id = $1 AND owner_id = $2)
                ORDER BY s.start_sample
                """,
                ecg_id,
                owner_id,
                list(starts),
            )
        return [ArchivedChunk(**dict(row)) for row in rows]


# The stored chunks of ECG $1 (owned by $2) that overlap samples [$3, $4).
OVERLAPPING: Final = """
FROM ecg_samples s
WHERE s.ecg_id = $1 AND s.start_sample < $4
  AND s.start_sample + (SELECT max(n) FROM unnest(s.lead_samples) AS n) > $3
  AND s.start_sample >= coalesce(
      (SELECT max(start_sample) FROM ecg_samples WHERE ecg_id = $1 AND start_sample <= $3), 0)
  AND EXISTS (SELECT 1 FROM ecgs WHERE id = $1 AND owner_id = $2)
ORDER BY s.start_sample
"""


async def _owns(connection: Connection, ecg_id: UUID, owner_id: UUID) -> bool:
    found = await connection.fetchval(
        "SELECT 1 FROM ecgs WHERE id = $1 AND owner_id = $2", ecg_id, owner_id
    )
    return found is not None


def _with_final(summary: Any, final: bool | None) -> Any:
    """The stored summary with its ``final`` flag from its column, which also covers
    summaries stored before the flag was in the record (all final)."""
    if summary is None:
        return None
    return {**summary, "final": final}


def _analysed(summary: Any, final: bool | None, position: int, received: int) -> dict[str, int]:
    """A lead's ``number_of_samples``: what the final summary counted once there is one,
    else the stream's position. The final summary counts every chunk that Kafka has, so
    the lookup agrees with the results also when a chunk's count never reached the
    position (acknowledged by Kafka, then PostgreSQL failed and the device gave up, or
    a WebSocket's gateway died before it wrote its last chunks; see
    ``gateway.devices.service``). An upload's count is its length either way."""
    if summary is None or not final:
        return {"number_of_samples": received}
    return {"number_of_samples": summary["leads"][position].get("number_of_samples", received)}


def _summary_count(summary: Any, position: int) -> int | None:
    """A lead's zero crossings from the ECG summary (so far, while it is provisional);
    None until the first one has arrived."""
    if summary is None:
        return None
    count: int = summary["leads"][position]["zero_crossings"]
    return count
