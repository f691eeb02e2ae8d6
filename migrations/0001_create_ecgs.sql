-- ECGs as uploaded, and what the pipeline found in them.

CREATE TABLE ecgs (
    id            uuid PRIMARY KEY,
    date          timestamptz NOT NULL,
    sampling_rate double precision CHECK (sampling_rate > 0),
    status        text NOT NULL DEFAULT 'processing'
                  CHECK (status IN ('processing', 'done', 'failed')),
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per lead; zero_crossings stays NULL until the summary arrives.
CREATE TABLE ecg_leads (
    ecg_id            uuid NOT NULL REFERENCES ecgs (id) ON DELETE CASCADE,
    position          smallint NOT NULL CHECK (position >= 0),
    name              text NOT NULL,
    number_of_samples bigint NOT NULL CHECK (number_of_samples >= 0),
    gain              double precision,
    baseline          bigint,
    zero_crossings    bigint,
    PRIMARY KEY (ecg_id, position),
    UNIQUE (ecg_id, name)
);

-- Window results, keyed by their natural key so that redelivery is an upsert.
-- No foreign key: results of a stream are stored even if they overtake its ECG row.
CREATE TABLE ecg_windows (
    ecg_id       uuid NOT NULL,
    index        integer NOT NULL CHECK (index >= 0),
    start_sample bigint NOT NULL,
    end_sample   bigint NOT NULL CHECK (end_sample >= start_sample),
    result       jsonb NOT NULL,
    PRIMARY KEY (ecg_id, index)
);

CREATE TABLE ecg_summaries (
    ecg_id       uuid PRIMARY KEY,
    n_windows    integer NOT NULL CHECK (n_windows >= 0),
    result       jsonb NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now()
);
