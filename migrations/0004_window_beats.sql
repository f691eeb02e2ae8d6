-- The R peaks of each window, as sample indices into the uploaded signal (ascending).
-- An int8 array on the window's own row rather than inside its JSON result or in a table
-- of one row per beat: the sink writes them in the same upsert as the window (same
-- natural key, so redelivery stays harmless), `GET /api/v1/ecg/{id}/beats` reads one
-- binary array per window instead of parsing every window's JSON, and a 24-hour Holter
-- (~100,000 beats) costs ~8,640 rows of 8 bytes per beat, not 100,000 rows with ~30
-- bytes of tuple overhead each. The window's JSON result leaves its beats out.

ALTER TABLE ecg_windows ADD COLUMN beats bigint[] NOT NULL DEFAULT '{}';
