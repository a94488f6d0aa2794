-- +goose Up
-- One row per Animus job. JSON columns hold the JSON as received (json, not jsonb, keeps it byte for byte).
CREATE TABLE jobs (
    job_id          TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    raw_status      TEXT NOT NULL,
    media_url       TEXT NOT NULL DEFAULT '',
    results         JSON,
    error           JSON,
    custom_payload  JSON,
    data            JSON NOT NULL,
    event_timestamp TEXT NOT NULL DEFAULT '',
    received_at     TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX jobs_status ON jobs (status);

-- +goose Down
DROP TABLE jobs;
