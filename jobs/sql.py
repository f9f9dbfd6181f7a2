"""Every SQL statement of the job system, written once in SQL that SQLite and Postgres both accept.

Parameters are `:named` (SQLAlchemy binds them for either driver). Booleans are TRUE/FALSE literals (SQLite
reads them as 1/0); a parameter whose type Postgres can't infer from its place is CAST.
"""

from __future__ import annotations

FINISHED = "('done', 'failed', 'cancelled')"
ACTIVE = "('queued', 'running')"

# --- requests and jobs (bot side) ---

UPSERT_CHAT = """
INSERT INTO chats (id, type, created_at) VALUES (:chat, :type, :now)
ON CONFLICT (id) DO UPDATE SET type = excluded.type
"""

UPSERT_USER = """
INSERT INTO users (id, name, created_at) VALUES (:user, :name, :now)
ON CONFLICT (id) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE users.name END
"""

INSERT_REQUEST = """
INSERT INTO requests (chat_id, message_id, user_id, reply_to_message_id, language, created_at)
VALUES (:chat, :message, :user, :reply_to, :language, :now)
ON CONFLICT (chat_id, message_id) DO NOTHING
RETURNING id
"""

JOB_FOR_REQUEST = """
SELECT j.id, j.state, j.turn FROM jobs j JOIN requests r ON r.id = j.request_id
WHERE r.chat_id = :chat AND r.message_id = :message
"""

# A user's next job takes the turn after their latest waiting or running one (0 when they have none), so jobs
# run by (turn, id): everyone's first job before anyone's second, and each user's jobs in their own order.
NEXT_TURN = f"SELECT coalesce(max(turn) + 1, 0) FROM jobs WHERE user_id = :user AND state IN {ACTIVE}"

INSERT_JOB = """
INSERT INTO jobs (request_id, user_id, state, params, style_name, content_key, style_keys, turn, created_at)
VALUES (:request, :user, 'queued', :params, :style_name, :content_key, :style_keys, :turn, :now)
RETURNING id
"""

SET_QUEUE_JOB_ID = "UPDATE jobs SET queue_job_id = :queue_job_id WHERE id = :id"

SELECT_JOBS = """
SELECT j.*, r.chat_id, r.message_id, r.reply_to_message_id, r.language, u.name AS user_name, c.type AS chat_type
FROM jobs j
JOIN requests r ON r.id = j.request_id
JOIN users u ON u.id = j.user_id
JOIN chats c ON c.id = r.chat_id
"""

JOB_BY_ID = SELECT_JOBS + "WHERE j.id = :id"
ACTIVE_JOBS = SELECT_JOBS + f"WHERE j.state IN {ACTIVE} ORDER BY j.turn, j.id"
# One platform's (jobs.identities.id_range): each front end delivers its own.
UNDELIVERED_JOBS = SELECT_JOBS + (
    f"WHERE j.state IN {FINISHED} AND r.chat_id >= :low AND r.chat_id < :high ORDER BY j.id"
)
USER_HISTORY = SELECT_JOBS + "WHERE j.user_id = :user ORDER BY j.id DESC LIMIT :limit"

# Jobs run in (turn, id) order, so a queued job's position is 1 + the queued jobs before it in that order (an
# index range count on (state, turn, id)). With one worker this is exact; with several, a job whose user already
# has one running waits for it, so jobs behind it may start a little sooner than their position says.
QUEUE_POSITION = """
SELECT count(*) + 1 FROM jobs
WHERE state = 'queued' AND (turn < :turn OR (turn = :turn AND id < :id))
"""

COUNT_ACTIVE = f"SELECT count(*) FROM jobs WHERE user_id = :user AND state IN {ACTIVE}"
# Jobs the user asked for since then, counted from job_log (which /forget keeps), for the daily quota.
COUNT_CREATED_SINCE = "SELECT count(*) FROM job_log WHERE user_id = :user AND created_at >= :since"
LOG_JOB = "INSERT INTO job_log (user_id, created_at) VALUES (:user, :now)"

CANCEL = f"""
UPDATE jobs SET
    state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,
    outcome = CASE state WHEN 'queued' THEN 'cancelled' ELSE outcome END,
    finished_at = CASE state WHEN 'queued' THEN :now ELSE finished_at END,
    cancel_requested = TRUE
WHERE id = :id AND state IN {ACTIVE}
RETURNING queue_job_id
"""

SET_STATUS_MESSAGE = "UPDATE jobs SET status_message_id = :message WHERE id = :id"

MARK_DELIVERED = f"UPDATE jobs SET state = 'delivered', delivered_at = :now WHERE id = :id AND state IN {FINISHED}"

STATS_COUNTS = """
SELECT
    (SELECT count(*) FROM jobs WHERE state = 'queued') AS queued,
    (SELECT count(*) FROM jobs WHERE state = 'running') AS running,
    (SELECT count(*) FROM jobs WHERE created_at >= :since) AS jobs_today,
    (SELECT count(*) FROM jobs WHERE created_at >= :since AND outcome = 'failed') AS failed_today
"""
DONE_SECONDS_SINCE = "SELECT seconds FROM jobs WHERE created_at >= :since AND outcome = 'done' ORDER BY seconds"

COUNT_USER_JOBS = "SELECT count(*) FROM jobs WHERE user_id = :user"
USER_ACTIVE_JOBS = f"SELECT id FROM jobs WHERE user_id = :user AND state IN {ACTIVE}"
USER_RUNNING_JOBS = "SELECT count(*) FROM jobs WHERE user_id = :user AND state = 'running'"
DELETE_USER = "DELETE FROM users WHERE id = :user"  # cascades to requests, jobs and settings
CLEAR_PRESET_AUTHOR = "UPDATE presets SET added_by = NULL WHERE added_by = :user"

LIVE_WORKERS = "SELECT count(*) FROM workers WHERE last_seen >= :since"

# --- the queue (worker side; what only one backend runs is in jobs/queue/sqlite.py and postgres.py) ---

# A running job that lost its worker is cancelled if that was asked for, failed once it used all its attempts,
# else queued again in its old place.
LOST_WORKER = """
UPDATE jobs SET
    state = CASE
        WHEN cancel_requested THEN 'cancelled'
        WHEN attempts >= :max_attempts THEN 'failed'
        ELSE 'queued' END,
    outcome = CASE
        WHEN cancel_requested THEN 'cancelled'
        WHEN attempts >= :max_attempts THEN 'failed' END,
    error_code = CASE WHEN NOT cancel_requested AND attempts >= :max_attempts THEN :code END,
    finished_at = CASE WHEN cancel_requested OR attempts >= :max_attempts THEN :now END,
    started_at = CASE WHEN cancel_requested OR attempts >= :max_attempts THEN started_at END,
    worker_id = NULL, lease_expires_at = NULL, iteration = 0, total_iterations = 0, eta_s = NULL
"""

STARTED_COLUMNS = "id, user_id, attempts, content_key, style_keys, params, created_at"

# A worker starts a job (each backend adds the WHERE that picks it and `RETURNING STARTED_COLUMNS`).
START_JOB = """
UPDATE jobs SET
    state = 'running', worker_id = :worker, attempts = attempts + 1, lease_expires_at = :lease,
    started_at = :now, iteration = 0, total_iterations = 0, eta_s = NULL,
    error_code = NULL, error_message = NULL, not_before = NULL
"""



JOB_STATE = "SELECT state, attempts, cancel_requested, delays FROM jobs WHERE id = :id"

HEARTBEAT = """
UPDATE jobs SET
    lease_expires_at = :lease, iteration = :iteration, total_iterations = :total, eta_s = :eta,
    preview_key = coalesce(CAST(:preview AS TEXT), preview_key),
    preview_version = preview_version + CASE WHEN CAST(:preview AS TEXT) IS NULL THEN 0 ELSE 1 END
WHERE id = :id AND worker_id = :worker AND state = 'running'
RETURNING cancel_requested
"""

FINISH = """
UPDATE jobs SET
    state = 'done', outcome = 'done', finished_at = :now, lease_expires_at = NULL, preview_key = NULL,
    result_key = :key, result_width = :width, result_height = :height, seconds = :seconds,
    iteration = total_iterations, eta_s = 0
WHERE id = :id AND worker_id = :worker AND state = 'running'
"""

FAIL = """
UPDATE jobs SET
    state = CASE WHEN :retry AND attempts < :max_attempts THEN 'queued' ELSE 'failed' END,
    outcome = CASE WHEN :retry AND attempts < :max_attempts THEN NULL ELSE 'failed' END,
    error_code = :code, error_message = :message, preview_key = NULL,
    finished_at = CASE WHEN :retry AND attempts < :max_attempts THEN NULL ELSE :now END,
    worker_id = CASE WHEN :retry AND attempts < :max_attempts THEN NULL ELSE worker_id END,
    lease_expires_at = NULL
WHERE id = :id AND worker_id = :worker AND state = 'running'
RETURNING state
"""

# The storage failed the job (a full disk, an unreachable store): it waits in its place until not_before and runs
# again; the interrupted attempt does not count, its code tells the user why it is late.
DELAY = """
UPDATE jobs SET
    state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
    outcome = CASE WHEN cancel_requested THEN 'cancelled' END,
    finished_at = CASE WHEN cancel_requested THEN :now END,
    attempts = CASE WHEN cancel_requested THEN attempts ELSE attempts - 1 END,
    delays = delays + 1, not_before = :not_before, error_code = :code, error_message = :message,
    worker_id = NULL, lease_expires_at = NULL, iteration = 0, total_iterations = 0, eta_s = NULL
WHERE id = :id AND worker_id = :worker AND state = 'running'
RETURNING state, delays
"""

# The pool killed a stuck worker: its running job ends with this code.
ABANDON = """
UPDATE jobs SET state = 'failed', outcome = 'failed', error_code = :code, finished_at = :now, lease_expires_at = NULL
WHERE worker_id = :worker AND state = 'running'
RETURNING id
"""

MARK_CANCELLED = """
UPDATE jobs SET state = 'cancelled', outcome = 'cancelled', finished_at = :now, lease_expires_at = NULL,
    preview_key = NULL
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
RETURNING state
"""

WORKER_SEEN = """
INSERT INTO workers (id, started_at, last_seen, job_id) VALUES (:worker, :now, :now, :job)
ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, job_id = excluded.job_id
"""
WORKER_GONE = "DELETE FROM workers WHERE id = :worker"

# --- presets ---

UPSERT_PRESET = """
INSERT INTO presets (name, name_key, chat_id, image_key, added_by, created_at)
VALUES (:name, :key, :chat, :image_key, :added_by, :now)
ON CONFLICT (coalesce(chat_id, 0), name_key) DO UPDATE SET
    name = excluded.name, image_key = excluded.image_key, added_by = excluded.added_by,
    created_at = excluded.created_at
"""

# A chat's own preset hides a global one of the same name.
CHAT_PRESETS = """
SELECT name, image_key, chat_id, added_by FROM presets p
WHERE p.chat_id = :chat
   OR (p.chat_id IS NULL AND NOT EXISTS (
       SELECT 1 FROM presets o WHERE o.chat_id = :chat AND o.name_key = p.name_key))
ORDER BY name_key
"""

FIND_PRESET = """
SELECT name, image_key, chat_id, added_by FROM presets
WHERE name_key = :key AND (chat_id = :chat OR chat_id IS NULL)
ORDER BY chat_id IS NULL
LIMIT 1
"""

# --- per-user preferences (/settings; the table keeps its old name) ---

USER_PREFERENCES = "SELECT data FROM user_settings WHERE user_id = :user"

SAVE_USER_PREFERENCES = """
INSERT INTO user_settings (user_id, data, updated_at) VALUES (:user, :data, :now)
ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
"""

# --- the bot's chat state: a photo waiting for its style, and the record of each delivered outcome ---

PENDING = "SELECT image_key, message_id, used, created_at FROM pending WHERE chat_id = :chat AND user_id = :user"

SET_PENDING = """
INSERT INTO pending (chat_id, user_id, image_key, message_id, used, created_at)
VALUES (:chat, :user, :image_key, :message, FALSE, :now)
ON CONFLICT (chat_id, user_id) DO UPDATE SET
    image_key = excluded.image_key, message_id = excluded.message_id, used = FALSE, created_at = excluded.created_at
"""

PENDING_KEY = "SELECT image_key FROM pending WHERE chat_id = :chat AND user_id = :user"
# Whether anything still names one of the user's uploads: a job of theirs (any state: a finished one may be painted
# again), a waiting photo (in any chat), a preset.
UPLOAD_KEY_IN_USE = """
SELECT (SELECT count(*) FROM jobs WHERE user_id = :user AND (content_key = :key OR style_keys LIKE :pattern))
     + (SELECT count(*) FROM pending WHERE image_key = :key)
     + (SELECT count(*) FROM presets WHERE image_key = :key)
"""

# The bytes of pictures stored for a user since then, from upload_log (which /forget keeps), for the daily cap.
UPLOADED_SINCE = "SELECT coalesce(sum(bytes), 0) FROM upload_log WHERE user_id = :user AND created_at >= :since"
LOG_UPLOAD = "INSERT INTO upload_log (user_id, bytes, created_at) VALUES (:user, :bytes, :now)"

MARK_PENDING_USED = "UPDATE pending SET used = TRUE WHERE chat_id = :chat AND user_id = :user"
CLEAR_PENDING = "DELETE FROM pending WHERE chat_id = :chat AND user_id = :user"
DELETE_USER_PENDING = "DELETE FROM pending WHERE user_id = :user"

DELIVERY_COLUMNS = "job_id, chat_id, user_id, message_id, file_id, caption, delivered_at"
DELIVERY = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE job_id = :job"

RECORD_DELIVERY = """
INSERT INTO deliveries (job_id, chat_id, user_id, message_id, file_id, caption, delivered_at)
VALUES (:job, :chat, :user, :message, :file_id, :caption, :now)
ON CONFLICT (job_id) DO UPDATE SET
    message_id = excluded.message_id, file_id = excluded.file_id, caption = excluded.caption,
    delivered_at = excluded.delivered_at
"""

RECENT_RESULTS = f"""
SELECT {DELIVERY_COLUMNS} FROM deliveries
WHERE user_id = :user AND file_id IS NOT NULL
ORDER BY delivered_at DESC, job_id DESC
LIMIT :limit
"""

DELETE_USER_DELIVERIES = "DELETE FROM deliveries WHERE user_id = :user"

# --- retention (jobs.retention) ---

# Delivered jobs older than the cutoff go with their requests (the jobs rows cascade from requests).
DELETE_OLD_REQUESTS = """
DELETE FROM requests WHERE id IN (SELECT request_id FROM jobs WHERE state = 'delivered' AND created_at < :cutoff)
"""
DELETE_ORPHAN_DELIVERIES = "DELETE FROM deliveries WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = job_id)"
DELETE_OLD_PENDING = "DELETE FROM pending WHERE created_at < :cutoff"
DELETE_OLD_JOB_LOG = "DELETE FROM job_log WHERE created_at < :cutoff"
# A name (a person's, or a group's title for its anonymous admins) is kept only while something of theirs is.
PRUNE_USER_NAMES = """
UPDATE users SET name = '' WHERE name <> ''
AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.user_id = users.id)
AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.user_id = users.id)
AND NOT EXISTS (SELECT 1 FROM chosen_styles c WHERE c.user_id = users.id)
"""
USER_IDS = "SELECT id FROM users UNION SELECT user_id FROM pending"
JOB_IDS = "SELECT id FROM jobs"
DELETE_OLD_UPLOAD_LOG = "DELETE FROM upload_log WHERE created_at < :cutoff"
JOB_KEYS = "SELECT content_key, style_keys, preview_key, result_key FROM jobs"
PENDING_KEYS = "SELECT image_key FROM pending"
PRESET_KEYS = "SELECT image_key FROM presets"

# --- presets: counting and deleting ---

# The preset a save replaces: exactly this scope's (0: the global ones), not a global one a chat preset would hide.
PRESET_IMAGE_KEY = "SELECT image_key FROM presets WHERE coalesce(chat_id, 0) = :scope AND name_key = :key"
COUNT_CHAT_PRESETS = "SELECT count(*) FROM presets WHERE chat_id = :chat"
DELETE_PRESET = "DELETE FROM presets WHERE chat_id = :chat AND name_key = :key RETURNING image_key"
DELETE_CHAT_PRESETS = "DELETE FROM presets WHERE chat_id = :chat RETURNING image_key"
PRESET_KEY_IN_USE = f"""
SELECT count(*) FROM jobs WHERE state IN {ACTIVE} AND style_keys LIKE :pattern
"""

COUNT_WAITING = "SELECT count(*) FROM jobs WHERE state = 'queued'"

# --- delivery ---

# The bot's delivery loop mirrors the queue instead of reading all of it every round: the running jobs in full
# (one per worker, a handful), queued jobs once and then only those above the highest id it has seen, and now
# and then the (turn, id) of every queued job (an index-only scan) to drop rows that vanished (/forget).
DELIVERY_RUNNING = SELECT_JOBS + "WHERE j.state = 'running' ORDER BY j.id"
DELIVERY_QUEUED_AFTER = SELECT_JOBS + "WHERE j.state = 'queued' AND j.id > :after ORDER BY j.id LIMIT :limit"
DELIVERY_QUEUED_KEYS = "SELECT turn, id FROM jobs WHERE state = 'queued' ORDER BY turn, id"

# --- a style chosen before the photo (deep links) ---

CHOOSE_STYLE = """
INSERT INTO chosen_styles (chat_id, user_id, preset, created_at) VALUES (:chat, :user, :preset, :now)
ON CONFLICT (chat_id, user_id) DO UPDATE SET preset = excluded.preset, created_at = excluded.created_at
"""
TAKE_CHOSEN_STYLE = "DELETE FROM chosen_styles WHERE chat_id = :chat AND user_id = :user RETURNING preset, created_at"
DELETE_USER_CHOSEN_STYLES = "DELETE FROM chosen_styles WHERE user_id = :user"
