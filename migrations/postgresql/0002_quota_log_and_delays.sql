-- One row per job a user asked for, kept when /forget deletes their jobs: the daily quota can't be reset by it.
CREATE TABLE job_log (
    user_id     BIGINT           NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX job_log_user_created ON job_log (user_id, created_at);
INSERT INTO job_log (user_id, created_at) SELECT user_id, created_at FROM jobs;

-- A job put back because its result could not be stored (disk full) waits until not_before; delays counts how
-- often that happened, for the back-off.
ALTER TABLE jobs ADD COLUMN not_before DOUBLE PRECISION;
ALTER TABLE jobs ADD COLUMN delays INTEGER NOT NULL DEFAULT 0;
