-- Results live only in ecg_windows and ecg_summaries, written by the sink; the ECG
-- and its leads are written only by the gateway. The sink no longer updates ecgs or
-- ecg_leads: a summary is 'done' by its presence, whichever of the two rows comes
-- first, and a retried upload never collides with a row the sink created.

ALTER TABLE ecg_leads DROP COLUMN zero_crossings;
