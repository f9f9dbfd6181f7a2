"""Every SQL statement of the job system, written once and shared by the bot's and the workers' sides."""

from __future__ import annotations

FINISHED = "('done', 'failed', 'cancelled')"
ACTIVE = "('queued', 'running')"

# --- requests and jobs (bot side) ---

UPSERT_CHAT = """
INSERT INTO chats (id, type, created_at) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET type = excluded.type
"""

UPSERT_USER = """
INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE SET name = CASE WHEN excluded.name != '' THEN excluded.name ELSE users.name END
"""

INSERT_REQUEST = """
INSERT INTO requests (chat_id, message_id, user_id, reply_to_message_id, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (chat_id, message_id) DO NOTHING
RETURNING id
"""

JOB_FOR_REQUEST = """
SELECT j.id FROM jobs j JOIN requests r ON r.id = j.request_id WHERE r.chat_id = ? AND r.message_id = ?
"""

INSERT_JOB = """
INSERT INTO jobs (request_id, user_id, state, params, style_name, content_path, style_paths, created_at)
VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)
RETURNING id
"""

SELECT_JOBS = """
SELECT j.*, r.chat_id, r.message_id, r.reply_to_message_id, u.name AS user_name, c.type AS chat_type
FROM jobs j
JOIN requests r ON r.id = j.request_id
JOIN users u ON u.id = j.user_id
JOIN chats c ON c.id = r.chat_id
"""

JOB_BY_ID = SELECT_JOBS + "WHERE j.id = ?"
ACTIVE_JOBS = SELECT_JOBS + f"WHERE j.state IN {ACTIVE} ORDER BY j.id"
UNDELIVERED_JOBS = SELECT_JOBS + f"WHERE j.state IN {FINISHED} ORDER BY j.id"
USER_HISTORY = SELECT_JOBS + "WHERE j.user_id = ? ORDER BY j.id DESC LIMIT ?"

# Jobs are claimed oldest first, so a queued job's position is 1 + the queued jobs older than it
# (an index range count on (state, id): cheap however long the queue is). With one worker this is exact.
# With several, a job whose user already has one running is skipped until that one ends, so jobs behind it
# may start a little sooner than their position says.
QUEUE_POSITION = "SELECT count(*) + 1 FROM jobs WHERE state = 'queued' AND id < ?"

COUNT_ACTIVE = f"SELECT count(*) FROM jobs WHERE user_id = ? AND state IN {ACTIVE}"
COUNT_CREATED_SINCE = "SELECT count(*) FROM jobs WHERE user_id = ? AND created_at >= ?"

CANCEL = f"""
UPDATE jobs SET
    state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,
    outcome = CASE state WHEN 'queued' THEN 'cancelled' ELSE outcome END,
    finished_at = CASE state WHEN 'queued' THEN :now ELSE finished_at END,
    cancel_requested = 1
WHERE id = :id AND state IN {ACTIVE}
"""

SET_STATUS_MESSAGE = "UPDATE jobs SET status_message_id = ? WHERE id = ?"

MARK_DELIVERED = f"UPDATE jobs SET state = 'delivered', delivered_at = ? WHERE id = ? AND state IN {FINISHED}"

STATS_COUNTS = """
SELECT
    (SELECT count(*) FROM jobs WHERE state = 'queued') AS queued,
    (SELECT count(*) FROM jobs WHERE state = 'running') AS running,
    (SELECT count(*) FROM jobs WHERE created_at >= :since) AS jobs_today,
    (SELECT count(*) FROM jobs WHERE created_at >= :since AND outcome = 'failed') AS failed_today
"""
DONE_SECONDS_SINCE = "SELECT seconds FROM jobs WHERE created_at >= ? AND outcome = 'done' ORDER BY seconds"

USER_FILES = "SELECT content_path, style_paths, preview_path, result_path FROM jobs WHERE user_id = ?"
COUNT_USER_JOBS = "SELECT count(*) FROM jobs WHERE user_id = ?"
DELETE_USER = "DELETE FROM users WHERE id = ?"  # cascades to requests, jobs and settings
CLEAR_PRESET_AUTHOR = "UPDATE presets SET added_by = NULL WHERE added_by = ?"

# --- the queue (worker side) ---

# A running job whose lease ran out lost its worker: cancel it if asked to, fail it once it used all its
# attempts, else queue it again in its old place (its id keeps the FIFO order).
EXPIRE_LEASES = """
UPDATE jobs SET
    state = CASE
        WHEN cancel_requested THEN 'cancelled'
        WHEN attempts >= :max_attempts THEN 'failed'
        ELSE 'queued' END,
    outcome = CASE
        WHEN cancel_requested THEN 'cancelled'
        WHEN attempts >= :max_attempts THEN 'failed' END,
    error_code = CASE WHEN NOT cancel_requested AND attempts >= :max_attempts THEN :code END,
    error_message = CASE WHEN NOT cancel_requested AND attempts >= :max_attempts THEN :message END,
    finished_at = CASE WHEN cancel_requested OR attempts >= :max_attempts THEN :now END,
    started_at = CASE WHEN cancel_requested OR attempts >= :max_attempts THEN started_at END,
    worker_id = NULL, lease_expires_at = NULL, iteration = 0, total_iterations = 0, eta_s = NULL
WHERE state = 'running' AND lease_expires_at < :now
"""

CLAIM = """
UPDATE jobs SET
    state = 'running', worker_id = :worker, attempts = attempts + 1, lease_expires_at = :lease,
    started_at = :now, iteration = 0, total_iterations = 0, eta_s = NULL
WHERE id = (
    SELECT q.id FROM jobs q
    WHERE q.state = 'queued'
      AND NOT (:one_per_user AND EXISTS (
          SELECT 1 FROM jobs r WHERE r.user_id = q.user_id AND r.state = 'running'))
    ORDER BY q.id
    LIMIT 1
)
RETURNING id, user_id, attempts, content_path, style_paths, params, created_at
"""

HEARTBEAT = """
UPDATE jobs SET
    lease_expires_at = :lease, iteration = :iteration, total_iterations = :total, eta_s = :eta,
    preview_path = ifnull(:preview, preview_path),
    preview_version = preview_version + (:preview IS NOT NULL)
WHERE id = :id AND worker_id = :worker AND state = 'running'
RETURNING cancel_requested
"""

FINISH = """
UPDATE jobs SET
    state = 'done', outcome = 'done', finished_at = :now, lease_expires_at = NULL,
    result_path = :path, result_width = :width, result_height = :height, seconds = :seconds,
    iteration = total_iterations, eta_s = 0
WHERE id = :id AND worker_id = :worker AND state = 'running'
"""

FAIL = """
UPDATE jobs SET
    state = CASE WHEN :retry AND attempts < :max_attempts THEN 'queued' ELSE 'failed' END,
    outcome = CASE WHEN :retry AND attempts < :max_attempts THEN NULL ELSE 'failed' END,
    error_code = :code, error_message = :message,
    finished_at = CASE WHEN :retry AND attempts < :max_attempts THEN NULL ELSE :now END,
    worker_id = CASE WHEN :retry AND attempts < :max_attempts THEN NULL ELSE worker_id END,
    lease_expires_at = NULL
WHERE id = :id AND worker_id = :worker AND state = 'running'
"""

MARK_CANCELLED = """
UPDATE jobs SET state = 'cancelled', outcome = 'cancelled', finished_at = :now, lease_expires_at = NULL
WHERE id = :id AND worker_id = :worker AND state = 'running'
"""

# A stopping worker hands its job back; the interrupted attempt does not count against the job.
RELEASE = """
UPDATE jobs SET
    state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
    outcome = CASE WHEN cancel_requested THEN 'cancelled' END,
    finished_at = CASE WHEN cancel_requested THEN :now END,
    attempts = CASE WHEN cancel_requested THEN attempts ELSE attempts - 1 END,
    started_at = CASE WHEN cancel_requested THEN started_at END,
    worker_id = NULL, lease_expires_at = NULL, iteration = 0, total_iterations = 0, eta_s = NULL
WHERE id = :id AND worker_id = :worker AND state = 'running'
"""

# --- presets ---

UPSERT_PRESET = """
INSERT INTO presets (name, name_key, chat_id, path, added_by, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT DO UPDATE SET
    name = excluded.name, path = excluded.path, added_by = excluded.added_by, created_at = excluded.created_at
"""

# A chat's own preset hides a global one of the same name.
CHAT_PRESETS = """
SELECT name, path, chat_id, added_by FROM presets p
WHERE p.chat_id = :chat
   OR (p.chat_id IS NULL AND NOT EXISTS (
       SELECT 1 FROM presets o WHERE o.chat_id = :chat AND o.name_key = p.name_key))
ORDER BY name_key
"""

FIND_PRESET = """
SELECT name, path, chat_id, added_by FROM presets
WHERE name_key = :key AND (chat_id = :chat OR chat_id IS NULL)
ORDER BY chat_id IS NULL
LIMIT 1
"""

# --- per-user settings ---

USER_SETTINGS = "SELECT data FROM user_settings WHERE user_id = ?"

SAVE_USER_SETTINGS = """
INSERT INTO user_settings (user_id, data, updated_at) VALUES (?, ?, ?)
ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
"""
