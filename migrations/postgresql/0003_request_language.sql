-- The language of the person who asked (Telegram's language_code), so status messages and results speak it.
ALTER TABLE requests ADD COLUMN language TEXT NOT NULL DEFAULT '';
