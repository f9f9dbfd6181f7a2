-- Chats, users, every incoming request, the job queue, presets and per-user settings.

CREATE TABLE chats (
    id          INTEGER PRIMARY KEY,              -- Telegram chat id
    type        TEXT    NOT NULL DEFAULT 'private',
    created_at  REAL    NOT NULL
);

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,              -- Telegram user id
    name        TEXT    NOT NULL DEFAULT '',
    created_at  REAL    NOT NULL
);

-- One row per Telegram message that asked for a painting; a redelivered update hits the UNIQUE key.
CREATE TABLE requests (
    id                  INTEGER PRIMARY KEY,
    chat_id             INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    message_id          INTEGER NOT NULL,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reply_to_message_id INTEGER,
    created_at          REAL    NOT NULL,
    UNIQUE (chat_id, message_id)
);

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,        -- also the FIFO order
    request_id        INTEGER NOT NULL UNIQUE REFERENCES requests (id) ON DELETE CASCADE,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state             TEXT    NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled', 'delivered')),
    outcome           TEXT    CHECK (outcome IN ('done', 'failed', 'cancelled')),
    params            TEXT    NOT NULL,           -- JobParams as JSON
    style_name        TEXT    NOT NULL DEFAULT '',
    content_path      TEXT    NOT NULL,
    style_paths       TEXT    NOT NULL,           -- JSON array of paths
    attempts          INTEGER NOT NULL DEFAULT 0, -- times a worker started it
    worker_id         TEXT,
    lease_expires_at  REAL,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    iteration         INTEGER NOT NULL DEFAULT 0,
    total_iterations  INTEGER NOT NULL DEFAULT 0,
    eta_s             REAL,
    preview_path      TEXT,
    preview_version   INTEGER NOT NULL DEFAULT 0,
    created_at        REAL    NOT NULL,
    started_at        REAL,
    finished_at       REAL,
    delivered_at      REAL,
    seconds           REAL    NOT NULL DEFAULT 0,
    error_code        TEXT,
    error_message     TEXT,
    result_path       TEXT,
    result_width      INTEGER NOT NULL DEFAULT 0,
    result_height     INTEGER NOT NULL DEFAULT 0,
    status_message_id INTEGER
);

CREATE INDEX jobs_state_id ON jobs (state, id);
CREATE INDEX jobs_user_state ON jobs (user_id, state);
CREATE INDEX jobs_user_created ON jobs (user_id, created_at);
CREATE INDEX jobs_created ON jobs (created_at);

-- chat_id NULL: a global preset. No foreign keys: global presets have no chat, and forgetting a user
-- only clears added_by.
CREATE TABLE presets (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,                 -- lower-cased name: lookups are case-insensitive
    chat_id     INTEGER,
    path        TEXT    NOT NULL,
    added_by    INTEGER,
    created_at  REAL    NOT NULL
);

CREATE UNIQUE INDEX presets_scope_name ON presets (ifnull(chat_id, 0), name_key);

-- Only the fields a user changed, as JSON, so new settings need no migration.
CREATE TABLE user_settings (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    data        TEXT    NOT NULL,
    updated_at  REAL    NOT NULL
);
