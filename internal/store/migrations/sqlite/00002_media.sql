-- +goose Up
-- Where DownloadMedia saved the job's media (NULL when not downloaded).
ALTER TABLE jobs ADD COLUMN media_path TEXT;
ALTER TABLE jobs ADD COLUMN media_size INTEGER;
ALTER TABLE jobs ADD COLUMN media_sha256 TEXT;

-- +goose Down
ALTER TABLE jobs DROP COLUMN media_sha256;
ALTER TABLE jobs DROP COLUMN media_size;
ALTER TABLE jobs DROP COLUMN media_path;
