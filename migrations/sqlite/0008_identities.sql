-- Stored user and chat ids are scoped by platform (jobs/identities.py): a Telegram id is stored as it is (Telegram's
-- ids have at most 52 significant bits), every other platform's id is given a stored id of its own here, above
-- Telegram's range, once. So the rows already stored are Telegram's as they are.
CREATE TABLE identities (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    platform     TEXT    NOT NULL,
    external_id  INTEGER NOT NULL,
    created_at   REAL    NOT NULL,
    UNIQUE (platform, external_id)
);
