-- +goose Up
-- handled_at: when the steps of the row's event that its outcome reports
-- (the media saved and recorded) were done, so that a job watch reads only
-- final outcomes. Rows written before were final.
ALTER TABLE jobs ADD COLUMN handled_at TIMESTAMPTZ;
UPDATE jobs SET handled_at = updated_at;

-- One row per outcome of a job (its status and event timestamp) delivered
-- to a receiver (notify, alert): a resend of the event after Temporal's
-- retention, or the same outcome under another event ID, is not sent again.
CREATE TABLE deliveries (
    job_id       TEXT NOT NULL,
    receiver     TEXT NOT NULL,
    status       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    http_status  INTEGER NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (job_id, receiver, status, outcome)
);

-- +goose Down
DROP TABLE deliveries;
ALTER TABLE jobs DROP COLUMN handled_at;
