-- End-to-end deposits (docs/END-TO-END.md §8): a deposit token of an end-to-end account
-- seals each item key in HPKE auth mode (FORMAT §11.5), so a reader opens it only with
-- the sender's public key. The token's row goes when it is revoked or swept, its
-- deposits do not: the deposit keeps the sender's X25519 public key and the owner's
-- identity signature over it (tokens.public_key_signature), copied from the token in the
-- deposit's own transaction. NULL for server-mode deposits (base mode, no sender).
ALTER TABLE deposits ADD COLUMN sender_public_key BLOB;
ALTER TABLE deposits ADD COLUMN sender_signature BLOB;
