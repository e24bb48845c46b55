-- Key lifecycle, first slice: versioned vault keys, members' own slots, pending grants
-- sealed to holders' public keys, and when a vault's rotation is due.
--
-- vault_members: each member's own slot (the vault key at key_version wrapped under the
-- member's user key). Every vault's owner becomes its first member; sessions and "*"
-- tokens read their vault key from here from now on (vaults.wrapped_vault_key is no
-- longer read: it holds the first version's key, for the owner, who holds the user key).
CREATE TABLE vault_members (
    vault_id          BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    user_id           BYTEA NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role              TEXT NOT NULL CHECK (role IN ('owner', 'write', 'read')),
    key_version       BIGINT NOT NULL,
    wrapped_vault_key BYTEA NOT NULL,
    PRIMARY KEY (vault_id, user_id)
);
CREATE INDEX vault_members_user ON vault_members(user_id);
INSERT INTO vault_members (vault_id, user_id, role, key_version, wrapped_vault_key)
    SELECT id, user_id, 'owner', key_version, wrapped_vault_key FROM vaults;

-- One row per vault key version: chain is VK_{v-1} wrapped under VK_v (NULL for the first
-- version), so a holder of a newer key reads older items and never the reverse.
CREATE TABLE vault_keys (
    vault_id       BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    key_version    BIGINT NOT NULL,
    chain          BYTEA,
    public_key     BYTEA,
    public_key_mac BYTEA,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (vault_id, key_version)
);
INSERT INTO vault_keys (vault_id, key_version, chain, created_at)
    SELECT id, key_version, NULL, created_at FROM vaults;

-- Pending grants: a vault key version sealed (HPKE) to a holder's public key, turned into
-- an ordinary slot at the holder's next use. They die with their holder.
CREATE TABLE token_grants (
    token_id    BYTEA NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    vault_id    BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    key_version BIGINT NOT NULL,
    sealed      BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (token_id, vault_id, key_version)
);
CREATE INDEX token_grants_vault ON token_grants(vault_id);
CREATE TABLE user_grants (
    user_id     BYTEA NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    vault_id    BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    key_version BIGINT NOT NULL,
    sealed      BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, vault_id, key_version)
);
CREATE INDEX user_grants_vault ON user_grants(vault_id);
CREATE INDEX token_vault_slots_vault ON token_vault_slots(vault_id);

-- When a rotation is due: at once (a holder was revoked or removed), or from the earliest
-- expires_at among the tokens that hold one of the vault's keys.
ALTER TABLE vaults ADD COLUMN rotation_due BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE vaults ADD COLUMN rotate_due_at BIGINT;
UPDATE vaults SET rotate_due_at = (
    SELECT MIN(t.expires_at) FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id
    WHERE s.vault_id = vaults.id
);

-- Public keys bound to their holder by a MAC under a seal-derived key, checked before
-- anything is sealed to them. NULL for rows made before this version: the server
-- computes it the first time it needs it (docs/SECURITY.md).
ALTER TABLE tokens ADD COLUMN public_key_mac BYTEA;
ALTER TABLE users ADD COLUMN x25519_public_mac BYTEA;

-- The background re-wrap finds what is left under older versions of a vault key.
CREATE INDEX items_vault_key_version ON items(vault_id, key_version);
