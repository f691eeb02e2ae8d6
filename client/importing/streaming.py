"""A file that is too large for one upload goes as a stream: opened with the id the
client chose, then binary chunks (``schemas.binary_chunks``: int16 while the values
fit, else int32) sent one after the other, each once the previous one is
acknowledged, then the end.

A rerun resumes: the opening answers ``409`` for the id it already has (the ECG is
then looked up: still ``receiving``, the chunks go on from the state's next seq; ended,
nothing is left to do; ``incomplete``, the pipeline closed it after its idle timeout
and no chunk can be added), and chunks already acknowledged are acknowledged again. A
``409`` chunk-gap names the seq the gateway expects: the sending goes on from there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from client.importing.recording import Recording
from client.importing.session import Answer, GatewayError, Session
from schemas.binary_chunks import encode_binary_chunk

GAP_TYPE: Final = "/problems/chunk-gap"
ENDED_TYPE: Final = "/problems/stream-ended"
EXISTS_TYPE: Final = "/problems/ecg-exists"
# What a stream's lookup status says about going on with it.
RECEIVING: Final = "receiving"
CLOSED: Final = "incomplete"  # closed by the pipeline for its silence


class StreamClosedError(Exception):
    """The pipeline closed the stream for its silence: it takes no more chunks."""


async def open_stream(
    session: Session, recording: Recording, ecg_id: str, date: datetime
) -> tuple[str | None, str]:
    """The stream's ingest token (None when it was opened by an earlier run) and its
    status: ``receiving`` to send chunks to, or what it became (ended or closed)."""
    body = {
        "id": ecg_id,
        "date": iso_date(date),
        "sampling_rate": recording.sampling_rate,
        "leads": [
            {"name": name}
            | ({} if gain is None else {"gain": gain})
            | ({} if baseline is None else {"baseline": baseline})
            for name, gain, baseline in zip(
                recording.labels, recording.gains, recording.baselines, strict=True
            )
        ],
    }
    answer = await session.request("POST", "/api/v1/ecg/streams", json=body)
    if answer.status == 201:
        return str(answer.body["ingest_token"]), RECEIVING
    if answer.status == 409 and answer.problem_type == EXISTS_TYPE:
        return None, await status_of(session, ecg_id)
    raise GatewayError(f"{recording.path}: opening a stream was refused: {answer.problem}")


async def send_chunks(
    session: Session,
    recording: Recording,
    ecg_id: str,
    ingest_token: str | None,
    chunk_samples: int,
    next_seq: int,
    acknowledged: Callable[[int], None],
) -> None:
    """Chunks ``next_seq``... and the end; ``acknowledged(seq)`` after each chunk's ack
    with the seq to send next. Raises StreamClosedError when the pipeline closed it."""
    chunks = -(-recording.samples // chunk_samples)
    path = f"/api/v1/ecg/{ecg_id}"
    sender = _Sender(session, ingest_token)
    seq = next_seq
    while seq < chunks:
        start = seq * chunk_samples
        samples = recording.read(start, min(start + chunk_samples, recording.samples))
        answer = await sender.post(f"{path}/chunks", encode_binary_chunk(seq, samples))
        if answer.status == 409 and answer.problem_type == GAP_TYPE:
            seq = min(max(0, int(answer.body.get("expected_seq", seq))), chunks)
        elif answer.status == 409 and answer.problem_type == ENDED_TYPE:
            await _ended(session, ecg_id)
            return
        elif answer.status != 202:
            raise GatewayError(f"{recording.path}: chunk {seq} was refused: {answer.problem}")
        else:
            seq += 1
        acknowledged(seq)
    answer = await sender.post(f"{path}/end", None)
    if answer.status == 409 and answer.problem_type == ENDED_TYPE:
        await _ended(session, ecg_id)
    elif answer.status != 202:
        raise GatewayError(f"{recording.path}: the stream's end was refused: {answer.problem}")


async def status_of(session: Session, ecg_id: str) -> str:
    answer = await session.request("GET", f"/api/v1/ecg/{ecg_id}")
    if answer.status != 200:
        raise GatewayError(f"looking up ECG {ecg_id} failed: {answer.problem}")
    return str(answer.body["status"])


async def _ended(session: Session, ecg_id: str) -> None:
    """An earlier run ended the stream (done), or the pipeline closed it."""
    if await status_of(session, ecg_id) == CLOSED:
        raise StreamClosedError(ecg_id)


class _Sender:
    """Posts with the stream's ingest token while it works (it lives 24 h by default),
    then with the owner's access token, which a resumed stream uses from the start."""

    def __init__(self, session: Session, ingest_token: str | None) -> None:
        self._session = session
        self._token = ingest_token

    async def post(self, path: str, content: bytes | None) -> Answer:
        headers = {} if content is None else {"Content-Type": "application/octet-stream"}
        answer = await self._session.request(
            "POST", path, token=self._token, content=content, headers=headers
        )
        if answer.status == 401 and self._token is not None:
            self._token = None
            return await self.post(path, content)
        return answer


def iso_date(date: datetime) -> str:
    """``date`` in UTC, as the gateway reads it (a date without an offset is UTC)."""
    aware = date if date.tzinfo is not None else date.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
