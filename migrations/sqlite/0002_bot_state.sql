-- The bot's chat state, in the same database as the jobs (one connection per process):
-- a photo waiting for its style per (chat, user), and the record of each delivered result
-- (so a restart never sends one twice, and inline mode can offer the sent photo again).
CREATE TABLE pending (
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);

CREATE TABLE deliveries (
    job_id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    message_id INTEGER,
    file_id TEXT,
    caption TEXT NOT NULL DEFAULT '',
    delivered_at REAL NOT NULL
);

CREATE INDEX deliveries_user ON deliveries (user_id, delivered_at);
