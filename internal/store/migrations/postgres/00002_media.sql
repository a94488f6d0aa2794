-- +goose Up
-- Where DownloadMedia saved the job's media (NULL when not downloaded).
ALTER TABLE jobs ADD COLUMN media_path TEXT;
ALTER TABLE jobs ADD COLUMN media_size BIGINT;
ALTER TABLE jobs ADD COLUMN media_sha256 TEXT;

-- +goose Down
ALTER TABLE jobs DROP COLUMN media_sha256, DROP COLUMN media_size, DROP COLUMN media_path;
