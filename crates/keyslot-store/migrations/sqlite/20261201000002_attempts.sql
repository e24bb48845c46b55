-- Login limits counted when an attempt is admitted (before Argon2), one row per key: a
-- username's MAC, (username MAC, source network), a source network, or a signup source.
-- Usernames are never stored in clear here. Rows end at expires_at (the sweeper deletes
-- them; admission treats an ended row as fresh). Replaces login_failures and the per-user
-- failed_logins/locked_until, which are no longer read or written by the limits.
CREATE TABLE attempt_counters (
    key             BLOB PRIMARY KEY,
    count           INTEGER NOT NULL,
    window_start    INTEGER NOT NULL,
    next_allowed_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX attempt_counters_expires ON attempt_counters(expires_at);
DROP TABLE login_failures;
