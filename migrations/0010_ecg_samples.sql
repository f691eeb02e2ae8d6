-- Every sample of every ECG, as it travelled through Kafka (issue 17): one row per
-- sample chunk (the SampleChunk messages of ecg.samples.v1), written by the stream
-- worker's sample archive (streams/archive.py) once per chunk whatever Kafka redelivers
-- (the key is the chunk's), read back by the gateway (GET /api/v1/ecg/{id}/signal).
--
-- samples: the chunk's leads in the ECG's lead order (ecg_leads.position), lossless at
-- their width of sample_width bytes, delta-coded, grouped by byte and compressed with
-- zstd (schemas/sample_archive.py says exactly how); lead_samples: how many samples
-- each lead has in the chunk (an upload's leads may differ in length); start_sample:
-- the chunk's first sample index, the same for every lead. The end of a stream (a
-- chunk without samples) is not stored.
--
-- Partitioned by hash of the ECG id: 16 tables of a sixteenth each, vacuumed, indexed
-- and dumped one at a time, and an ECG's chunks always in one of them. Deleting an ECG
-- removes its samples with it.

CREATE TABLE ecg_samples (
    ecg_id       uuid     NOT NULL REFERENCES ecgs (id) ON DELETE CASCADE,
    seq          bigint   NOT NULL CHECK (seq >= 0),
    start_sample bigint   NOT NULL CHECK (start_sample >= 0),
    sample_width smallint NOT NULL CHECK (sample_width IN (2, 4)),
    lead_samples integer[] NOT NULL,
    samples      bytea    NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ecg_id, seq)
) PARTITION BY HASH (ecg_id);

DO $$
BEGIN
    FOR remainder IN 0..15 LOOP
        EXECUTE format(
            'CREATE TABLE ecg_samples_%s PARTITION OF ecg_samples '
            'FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
            lpad(remainder::text, 2, '0'), remainder
        );
    END LOOP;
END $$;

-- Range reads: the chunks of an ECG that overlap [start, end).
CREATE INDEX ecg_samples_by_start ON ecg_samples (ecg_id, start_sample);
