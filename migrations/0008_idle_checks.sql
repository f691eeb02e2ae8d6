-- When the idle check of each worker group (streams/idle.py, keyed by the group's app
-- id) last saw the pipeline up. A gap longer than the check's few intervals means that
-- no check ran (PostgreSQL was away, or every worker was down): the devices may have
-- been refused meanwhile, so their silence counts again from the end of the gap.

CREATE TABLE idle_checks (
    app_id     text PRIMARY KEY,
    checked_at timestamptz NOT NULL
);
