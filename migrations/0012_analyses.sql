-- Re-analysis (issue 17): an ECG analysed again from its stored samples (ecg_samples),
-- e.g. after a detector upgrade. Each analysis of an ECG has a revision: 0 is the one
-- made as the samples arrived, 1, 2, ... those asked for with
-- POST /api/v1/ecg/{id}/analyses. A re-analysis replaces the ECG's windows and summary
-- in one transaction (streams/reanalysis.py), and the sink never lets a result of a
-- lower revision (a late redelivery of the first analysis) overwrite one of a higher.

ALTER TABLE ecg_windows ADD COLUMN revision integer NOT NULL DEFAULT 0;
ALTER TABLE ecg_summaries ADD COLUMN revision integer NOT NULL DEFAULT 0;

-- One row per re-analysis asked for: who asked and when, and once a worker has done it,
-- when and with which version of the analysis core, or why it could not (error).
CREATE TABLE ecg_analyses (
    ecg_id           uuid NOT NULL REFERENCES ecgs (id) ON DELETE CASCADE,
    revision         integer NOT NULL CHECK (revision > 0),
    requested_by     uuid,
    requested_at     timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    analyser_version text,
    error            text,
    PRIMARY KEY (ecg_id, revision)
);
