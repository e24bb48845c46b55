-- User-key rotation (issue 15, DESIGN §3.1 "User-key rotation"): the recovery code gets
-- an X25519 public key (derived from the code, HKDF label keyslot/v1/recovery/x25519),
-- stored with its MAC at sign-up and at each recovery, so that a rotation can seal the
-- new user key to the code without knowing it. Once sealed, the slot is a grant:
-- sealed_user_key holds it and wrapped_user_key is emptied (the old user key must not
-- stay behind); the next recovery opens the grant instead. Slots made before this have no
-- public key: a rotation issues a fresh recovery code for them.
ALTER TABLE recovery_slots ADD COLUMN x25519_public BLOB;
ALTER TABLE recovery_slots ADD COLUMN x25519_public_mac BLOB;
ALTER TABLE recovery_slots ADD COLUMN sealed_user_key BLOB;
