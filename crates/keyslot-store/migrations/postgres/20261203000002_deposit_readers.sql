-- Deposits sealed to their readers (issue 15, DESIGN §3.1 "When a rotation is due"). While
-- a vault's rotation is due, or before any holder published its current version's public
-- key, a deposit does not seal its item key to the vault's public key: it seals it to
-- each remaining reader's own public key, one copy per reader, and marks the deposit
-- to_readers (its own sealed_item_key is then empty). The first reader with a copy moves
-- the deposit into items, and deleting the deposit deletes every copy.
--
-- Each copy goes with its reader's access: a member's with the membership (removal), a
-- token's with its slot for the vault (revocation, expiry, removal of its user). So no
-- copy outlives the credential it was sealed to.
ALTER TABLE deposits ADD COLUMN to_readers BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE deposit_member_keys (
    deposit_id      BYTEA NOT NULL REFERENCES deposits(id) ON DELETE CASCADE,
    vault_id        BYTEA NOT NULL,
    user_id         BYTEA NOT NULL,
    sealed_item_key BYTEA NOT NULL,
    PRIMARY KEY (deposit_id, user_id),
    FOREIGN KEY (vault_id, user_id) REFERENCES vault_members(vault_id, user_id) ON DELETE CASCADE
);
CREATE INDEX deposit_member_keys_member ON deposit_member_keys(vault_id, user_id);

CREATE TABLE deposit_token_keys (
    deposit_id      BYTEA NOT NULL REFERENCES deposits(id) ON DELETE CASCADE,
    vault_id        BYTEA NOT NULL,
    token_id        BYTEA NOT NULL,
    sealed_item_key BYTEA NOT NULL,
    PRIMARY KEY (deposit_id, token_id),
    FOREIGN KEY (token_id, vault_id) REFERENCES token_vault_slots(token_id, vault_id) ON DELETE CASCADE
);
CREATE INDEX deposit_token_keys_slot ON deposit_token_keys(token_id, vault_id);
