-- Dead credentials are swept, and live sessions are capped per user: indexes for finding them, and the mark that a user's key must
-- rotate because a swept token held it (tokens of the first schema wrapped the user key).
ALTER TABLE users ADD COLUMN user_key_rotation_due_at INTEGER;
CREATE INDEX tokens_expires ON tokens(expires_at);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX sessions_last_seen ON sessions(last_seen_at);
