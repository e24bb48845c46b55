-- End-to-end sharing and rotation (docs/END-TO-END.md §8).
--
-- vaults.members_signature: the owner's identity signature (FORMAT §11.4) over the vault's
-- member list at its current key version, sent by the owner's client when it adds a
-- member, changes a role or rotates. The server cannot check it (it has no part in the
-- chain of trust); members' clients verify it against the list and the owner's pinned
-- identity. NULL for server-mode vaults, and after a change made without a new one (a
-- removal): clients then treat the list as unsigned.
ALTER TABLE vaults ADD COLUMN members_signature BYTEA;
