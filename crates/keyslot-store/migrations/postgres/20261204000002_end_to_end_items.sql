-- End-to-end data (docs/END-TO-END.md §5-§7).
--
-- items.name_index: HMAC of the item's name under a key derived from the vault key of the
-- item's key_version (FORMAT §11.3), so a client can fetch one item by name without
-- downloading every name. Written by every write, server mode included (the server holds
-- the vault key there), and recomputed by the re-wrap; NULL for rows written before it.
ALTER TABLE items ADD COLUMN name_index BYTEA;
CREATE INDEX items_vault_name_index ON items(vault_id, name_index);
-- An end-to-end member's write is signed by the writer's identity key: signer is the
-- writer's user id, signature covers (vault, item, version, sealed item). NULL for
-- server-mode writes (a server write proves nothing a client could check).
ALTER TABLE items ADD COLUMN signer BYTEA;
ALTER TABLE items ADD COLUMN signature BYTEA;
-- A token's X25519 public key signed by its user's identity key at mint.
ALTER TABLE tokens ADD COLUMN public_key_signature BYTEA;
-- A vault key version's public key signed by the vault owner's identity key.
ALTER TABLE vault_keys ADD COLUMN public_key_signature BYTEA;
