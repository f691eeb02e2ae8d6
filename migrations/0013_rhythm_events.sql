-- Rhythm events (issue 18): atrial fibrillation, pauses, ventricular runs, bradycardia
-- and tachycardia episodes, as the analysis decides them beat by beat. Window results
-- carry the reports their beats decided; the sink stores one row per event, keyed by
-- its number within the ECG (0, 1, 2, ... in order of onset). An episode is reported
-- at its onset (end_sample NULL) and again once it has ended: the end report replaces
-- the onset report. As for windows, a report of a lower revision never replaces one of
-- a higher (streams/sink.py), and a re-analysis replaces the ECG's events in the
-- transaction that replaces its windows (streams/reanalysis.py).
-- No foreign key, as for windows: results may overtake their ECG's row; and no CHECK
-- either: a report the database refused would take its window result along with it.

CREATE TABLE ecg_events (
    ecg_id       uuid NOT NULL,
    number       integer NOT NULL,
    revision     integer NOT NULL DEFAULT 0,
    type         text NOT NULL,
    start_sample bigint NOT NULL,
    end_sample   bigint,  -- NULL: the onset report of an episode still going on
    decided_at   bigint NOT NULL,
    report       jsonb NOT NULL,  -- the RhythmEvent record (schemas/rhythm_event.avsc) without its ECG id
    PRIMARY KEY (ecg_id, number)
);
