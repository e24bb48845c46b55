-- "*" tokens hold vault keys, not the user key (issue 15, DESIGN §3.1): a "*" token now
-- has a slot per vault its user is a member of (token_vault_slots, an empty one at key
-- version 0 with a pending grant for a vault added later), so its scope can no longer be
-- read from wrapped_user_key. all_vaults says it.
--
-- held_user_key marks a token that wrapped the user key at any time (every "*" token
-- minted before this migration). Converting it to per-vault slots clears
-- wrapped_user_key, but an old copy of the database still gives its secret the user key:
-- its end (revocation, expiry, the sweeper) makes a user-key rotation due, and that needs
-- the mark after the wrapped key is gone.
ALTER TABLE tokens ADD COLUMN all_vaults INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN held_user_key INTEGER NOT NULL DEFAULT 0;
UPDATE tokens SET all_vaults = 1, held_user_key = 1 WHERE wrapped_user_key IS NOT NULL;
