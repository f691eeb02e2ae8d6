-- Provisional summaries: while an ECG's samples arrive, the windows agent emits its
-- summary over the windows closed so far (final = false) after every chunk that closed
-- a window, and the final one (final = true) after its last chunk. They share the ECG's
-- row: the sink's upsert never lets a provisional summary replace a final one, nor one
-- with more windows. An ECG is 'done' only once its final summary is stored (and every
-- window it counts). Every summary stored before this migration was a final one.
-- completed_at is now the time of the latest summary stored, provisional or final.

ALTER TABLE ecg_summaries ADD COLUMN final boolean NOT NULL DEFAULT true;
