-- One row per picture stored for a user (its size in bytes), kept when /forget deletes their pictures: the daily
-- cap on stored bytes (STYLEBOT_MAX_UPLOAD_BYTES_PER_DAY) can't be reset by it. The retention sweep drops rows
-- older than two days.
CREATE TABLE upload_log (
    user_id     INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    created_at  REAL    NOT NULL
);
CREATE INDEX upload_log_user_created ON upload_log (user_id, created_at);
