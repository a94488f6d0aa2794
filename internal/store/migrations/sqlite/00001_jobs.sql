-- +goose Up
-- One row per Animus job. JSON columns hold the job's JSON as received;
-- received_at is fixed-width RFC 3339 UTC text so it orders correctly.
CREATE TABLE jobs (
    job_id          TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    raw_status      TEXT NOT NULL,
    media_url       TEXT NOT NULL DEFAULT '',
    results         TEXT,
    error           TEXT,
    custom_payload  TEXT,
    data            TEXT NOT NULL,
    event_timestamp TEXT NOT NULL DEFAULT '',
    received_at     TEXT NOT NULL,
    updated_at      TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX jobs_status ON jobs (status);

-- +goose Down
DROP TABLE jobs;
