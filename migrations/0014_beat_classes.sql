-- Beat classes (issue 18): each beat's AAMI EC57 class, one letter of N, S, V, F, Q per
-- beat of the window's `beats`, in the same order ('NNVN...'). Text beside the beats
-- rather than inside the window's JSON result, for the reasons of 0004: the sink writes
-- it in the same upsert as the beats (with the same revision rule), a re-analysis
-- replaces it with them, and `GET /api/v1/ecg/{id}/beats` joins the windows' strings in
-- the order it joins their beats. One byte per beat.
-- NULL: the window was stored before beats were classified (or its result carried no
-- classes matching its beats): its beats' classes are unknown, served as Q
-- (unclassifiable). An empty string: a window without beats, or without beat detection.

ALTER TABLE ecg_windows ADD COLUMN beat_classes text;
