-- Pictures live in a storage (a local folder or S3) under keys such as users/1/uploads/x.jpg, not at file
-- paths; jobs take turns between users; the queue may live in procrastinate (Postgres), which has its own id;
-- workers record that they are alive.

ALTER TABLE jobs RENAME COLUMN content_path TO content_key;
ALTER TABLE jobs RENAME COLUMN style_paths TO style_keys;
ALTER TABLE jobs RENAME COLUMN preview_path TO preview_key;
ALTER TABLE jobs RENAME COLUMN result_path TO result_key;
ALTER TABLE presets RENAME COLUMN path TO image_key;
ALTER TABLE pending RENAME COLUMN path TO image_key;

-- Paths written before this migration all lie under <data dir>/files/: keep what follows it.
UPDATE jobs SET content_key = substr(content_key, instr(content_key, '/files/') + 7)
WHERE instr(content_key, '/files/') > 0;
UPDATE jobs SET preview_key = substr(preview_key, instr(preview_key, '/files/') + 7)
WHERE instr(preview_key, '/files/') > 0;
UPDATE jobs SET result_key = substr(result_key, instr(result_key, '/files/') + 7)
WHERE instr(result_key, '/files/') > 0;
UPDATE jobs SET style_keys = (
    SELECT json_group_array(CASE WHEN instr(value, '/files/') > 0 THEN substr(value, instr(value, '/files/') + 7)
                                 ELSE value END)
    FROM json_each(jobs.style_keys)
);
UPDATE presets SET image_key = substr(image_key, instr(image_key, '/files/') + 7)
WHERE instr(image_key, '/files/') > 0;
UPDATE pending SET image_key = substr(image_key, instr(image_key, '/files/') + 7)
WHERE instr(image_key, '/files/') > 0;

-- A user's k-th waiting job gets turn k: jobs run by (turn, id), so one user's many jobs don't hold up others.
ALTER TABLE jobs ADD COLUMN turn INTEGER NOT NULL DEFAULT 0;
-- The job's id in procrastinate's queue (Postgres only; NULL on SQLite).
ALTER TABLE jobs ADD COLUMN queue_job_id INTEGER;
CREATE INDEX jobs_state_turn_id ON jobs (state, turn, id);

CREATE TABLE workers (
    id          TEXT    PRIMARY KEY,              -- host:pid, or --worker-id
    started_at  REAL    NOT NULL,
    last_seen   REAL    NOT NULL,
    job_id      INTEGER                          -- the job it is painting, if any
);

-- The same unique index with coalesce(), the spelling the shared upsert names (SQLite matches it literally).
DROP INDEX presets_scope_name;
CREATE UNIQUE INDEX presets_scope_name ON presets (coalesce(chat_id, 0), name_key);
