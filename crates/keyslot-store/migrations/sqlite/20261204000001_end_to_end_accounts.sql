-- End-to-end accounts (docs/END-TO-END.md): the mode is the account's, chosen at sign-up
-- and never changed. An end-to-end account's client does every key operation; the server
-- keeps what the client sends and verifies only hashes.
--
-- identity_public: the user's Ed25519 identity key; identity_wrapped: its private half
-- wrapped under the user key (the client wraps it); x25519_signature: the identity's
-- signature over the user's own X25519 public key. All three are NULL for a server-mode
-- account.
ALTER TABLE users ADD COLUMN end_to_end INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN identity_public BLOB;
ALTER TABLE users ADD COLUMN identity_wrapped BLOB;
ALTER TABLE users ADD COLUMN x25519_signature BLOB;

-- An end-to-end session authenticates only. Its unlock slot (the user key wrapped under
-- a client-only unlock secret, END-TO-END §4) is stored once per session: unlock_id is
-- that secret's id, the slot goes in wrapped_user_key, which stays empty until then.
ALTER TABLE sessions ADD COLUMN unlock_id BLOB;

-- Pins (END-TO-END §5): a user's client confirmed another user's identity key out of band
-- and keeps pin = HMAC(pin key from the user key, pinned user ‖ identity_public). The
-- server stores it and cannot forge one (it has no user key).
CREATE TABLE pins (
    user_id         BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    pinned_user_id  BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    identity_public BLOB NOT NULL,
    pin             BLOB NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, pinned_user_id)
) STRICT;
CREATE INDEX pins_pinned ON pins(pinned_user_id);
