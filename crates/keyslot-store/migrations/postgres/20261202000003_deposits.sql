-- Write-only deposit tokens (issue 15): a deposit token holds no vault key at all. Its
-- scope is listed here, since it has no token_vault_slots rows to say it.
ALTER TABLE tokens ADD COLUMN deposit BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE token_deposit_vaults (
    token_id BYTEA NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    vault_id BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, vault_id)
);
CREATE INDEX token_deposit_vaults_vault ON token_deposit_vaults(vault_id);

-- Deposits not yet read: the item key sealed (HPKE) to the public key of the vault key
-- version key_version (vault_keys.public_key), the name and value (item version 1) under
-- that item key. The first holder of the vault key that lists or reads the vault moves
-- each one into items, wrapped under the then-current vault key like any other item.
CREATE TABLE deposits (
    id              BYTEA PRIMARY KEY,
    vault_id        BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    user_id         BYTEA NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_version     BIGINT NOT NULL,
    sealed_item_key BYTEA NOT NULL,
    name            BYTEA NOT NULL,
    value           BYTEA NOT NULL,
    token_id        BYTEA NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX deposits_vault ON deposits(vault_id, key_version);

-- Which deposit token made an item: a record, kept after the token is revoked (no
-- foreign key to tokens), gone with the item.
CREATE TABLE item_depositors (
    item_id  BYTEA PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    vault_id BYTEA NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
    token_id BYTEA NOT NULL
);
CREATE INDEX item_depositors_vault ON item_depositors(vault_id);
