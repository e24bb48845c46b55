-- Operators can disable an account: no login, and its sessions and tokens stop working.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
