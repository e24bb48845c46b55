-- Keyslot schema v1 (PostgreSQL). Every name and value column holds an AEAD envelope;
-- every key column holds a wrapped key. Ids are 16-byte BYTEA, times are Unix seconds.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE users (
    id                  BYTEA PRIMARY KEY,
    username            TEXT NOT NULL,
    username_key        TEXT NOT NULL UNIQUE,
    created_at          BIGINT NOT NULL,
    password_credential BYTEA NOT NULL,
    password_slot       BYTEA NOT NULL,
    x25519_public       BYTEA NOT NULL,
    x25519_wrapped      BYTEA NOT NULL,
    failed_logins       BIGINT NOT NULL DEFAULT 0,
    locked_until        BIGINT
);

CREATE TABLE recovery_slots (
    user_id          BYTEA PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    credential_id    BYTEA NOT NULL,
    verifier         BYTEA NOT NULL,
    wrapped_user_key BYTEA NOT NULL
);

CREATE TABLE sessions (
    id               BYTEA PRIMARY KEY,
    user_id          BYTEA NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    verifier         BYTEA NOT NULL,
    wrapped_user_key BYTEA NOT NULL,
    created_at       BIGINT NOT NULL,
    last_seen_at     BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE vaults (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY,
    id                BYTEA PRIMARY KEY,
    user_id           BYTEA NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_version       BIGINT NOT NULL,
    wrapped_vault_key BYTEA NOT NULL,
    name              BYTEA NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX vaults_user ON vaults(user_id, seq);

CREATE TABLE items (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY,
    id               BYTEA PRIMARY KEY,
    vault_id         BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    user_id          BYTEA NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    version          BIGINT NOT NULL,
    key_version      BIGINT NOT NULL,
    wrapped_item_key BYTEA NOT NULL,
    name             BYTEA NOT NULL,
    value            BYTEA NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX items_vault ON items(vault_id, seq);

CREATE TABLE tokens (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY,
    id               BYTEA PRIMARY KEY,
    user_id          BYTEA NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name_key         BYTEA NOT NULL,
    name             BYTEA NOT NULL,
    verifier         BYTEA NOT NULL,
    can_write        BOOLEAN NOT NULL,
    wrapped_user_key BYTEA,
    x25519_public    BYTEA NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    last_used_at     BIGINT
);
CREATE INDEX tokens_user ON tokens(user_id, seq);

CREATE TABLE token_vault_slots (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY,
    token_id          BYTEA NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    vault_id          BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    key_version       BIGINT NOT NULL,
    wrapped_vault_key BYTEA NOT NULL,
    PRIMARY KEY (token_id, vault_id)
);

-- Failed logins per client address, for the per-IP budget (shared by every instance).
CREATE TABLE login_failures (
    ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_ip_at ON login_failures(ip, at);
CREATE INDEX login_failures_at ON login_failures(at);

CREATE TABLE audit_events (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BYTEA,
    at      BIGINT NOT NULL,
    action  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ip      TEXT,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_events_user ON audit_events(user_id, seq);
