"""The row of a new ECG and of its leads (migrations/0001_create_ecgs.sql), which an
upload (``gateway.recordings``) and a stream's opening (``gateway.devices``) both insert.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from gateway.database import Connection
from gateway.errors import EcgExistsError

# A lead as inserted: name, number of samples, gain, baseline.
LeadRow = tuple[str, int, float | None, int | None]


async def insert_ecg(
    connection: Connection,
    ecg_id: UUID,
    date: datetime,
    sampling_rate: float | None,
    status: str,
    owner_id: UUID,
    leads: list[LeadRow],
) -> None:
    """Insert a new ECG and its leads (in a transaction of the caller's), for an upload
    and for a stream alike; EcgExistsError if the id is taken."""
    inserted = await connection.fetchval(
        """
        INSERT INTO ecgs (id, date, sampling_rate, status, owner_id)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
        """,
        ecg_id,
        date,
        sampling_rate,
        status,
        owner_id,
    )
    if inserted is None:
        raise EcgExistsError(ecg_id)
    await connection.executemany(
        """
        INSERT INTO ecg_leads (ecg_id, position, name, number_of_samples, gain, baseline)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        [(ecg_id, position, *lead) for position, lead in enumerate(leads)],
    )
