-- Each stored chunk's smallest and largest sample per lead (in lead order; NULL for a
-- lead without samples in the chunk), written with it by the sample archive: an
-- overview of a long recording (GET /api/v1/ecg/{id}/overview, min and max per bucket)
-- reads these instead of every sample, and unpacks only the chunks that straddle a
-- bucket's edge. NULL for chunks stored before: those are unpacked.

ALTER TABLE ecg_samples ADD COLUMN lead_min integer[], ADD COLUMN lead_max integer[];
