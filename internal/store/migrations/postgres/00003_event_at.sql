-- +goose Up
-- Events for one job are ordered by the event's own timestamp (the server's
-- receive time when it has none), not by when a delivery got through.
ALTER TABLE jobs RENAME COLUMN received_at TO event_at;

-- +goose Down
ALTER TABLE jobs RENAME COLUMN event_at TO received_at;
