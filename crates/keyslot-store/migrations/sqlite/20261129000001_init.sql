-- Keyslot schema v1 (SQLite). Every name and value column holds an AEAD envelope; every
-- key column holds a wrapped key. Ids are 16-byte blobs, times are Unix seconds (UTC).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE users (
    id                  BLOB PRIMARY KEY,
    username            TEXT NOT NULL,
    username_key        TEXT NOT NULL UNIQUE,
    created_at          INTEGER NOT NULL,
    password_credential BLOB NOT NULL,
    password_slot       BLOB NOT NULL,
    x25519_public       BLOB NOT NULL,
    x25519_wrapped      BLOB NOT NULL,
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        INTEGER
) STRICT;

CREATE TABLE recovery_slots (
    user_id          BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    credential_id    BLOB NOT NULL,
    verifier         BLOB NOT NULL,
    wrapped_user_key BLOB NOT NULL
) STRICT;

CREATE TABLE sessions (
    id               BLOB PRIMARY KEY,
    user_id          BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    verifier         BLOB NOT NULL,
    wrapped_user_key BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    last_seen_at     INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE vaults (
    id                BLOB PRIMARY KEY,
    user_id           BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_version       INTEGER NOT NULL,
    wrapped_vault_key BLOB NOT NULL,
    name              BLOB NOT NULL,
    created_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX vaults_user ON vaults(user_id);

CREATE TABLE items (
    id               BLOB PRIMARY KEY,
    vault_id         BLOB NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    user_id          BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    key_version      INTEGER NOT NULL,
    wrapped_item_key BLOB NOT NULL,
    name             BLOB NOT NULL,
    value            BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX items_vault ON items(vault_id);

CREATE TABLE tokens (
    id               BLOB PRIMARY KEY,
    user_id          BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name_key         BLOB NOT NULL,
    name             BLOB NOT NULL,
    verifier         BLOB NOT NULL,
    can_write        INTEGER NOT NULL,
    wrapped_user_key BLOB,
    x25519_public    BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    last_used_at     INTEGER
) STRICT;
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE token_vault_slots (
    token_id          BLOB NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    vault_id          BLOB NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    key_version       INTEGER NOT NULL,
    wrapped_vault_key BLOB NOT NULL,
    PRIMARY KEY (token_id, vault_id)
) STRICT;

-- Failed logins per client address, for the per-IP budget (shared by every instance).
CREATE TABLE login_failures (
    ip TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_ip_at ON login_failures(ip, at);

CREATE TABLE audit_events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BLOB,
    at      INTEGER NOT NULL,
    action  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ip      TEXT,
    detail  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_user ON audit_events(user_id, seq);
