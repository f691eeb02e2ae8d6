-- Streams: an ECG whose samples arrive in numbered chunks over time
-- (POST /api/v1/ecg/streams, then .../chunks and .../end; see gateway/streaming.py).
-- Its ECG row is 'receiving' until the stream ends, then 'processing' like an upload;
-- 'incomplete' is for a stream that a later idle timeout gives up on. Its ecg_leads
-- rows start at 0 samples and grow with every accepted chunk.

ALTER TABLE ecgs DROP CONSTRAINT ecgs_status_check;
ALTER TABLE ecgs ADD CONSTRAINT ecgs_status_check
    CHECK (status IN ('receiving', 'processing', 'done', 'failed', 'incomplete'));

-- One row per stream, written only by the gateway. next_seq is the seq the next chunk
-- must carry and next_sample its start_sample: a chunk advances both with one
-- conditional UPDATE (... WHERE next_seq = its seq), so a retried chunk never advances
-- them twice. The end takes next_seq for the final chunk and sets ended_at.
CREATE TABLE ecg_streams (
    ecg_id        uuid PRIMARY KEY REFERENCES ecgs (id) ON DELETE CASCADE,
    next_seq      bigint NOT NULL DEFAULT 0 CHECK (next_seq >= 0),
    next_sample   bigint NOT NULL DEFAULT 0 CHECK (next_sample >= 0),
    ended_at      timestamptz,
    last_chunk_at timestamptz NOT NULL DEFAULT now()
);
