/**
 * An unlocked credential (password, recovery code, session unlock secret or `kse_`
 * token): what it sends the server, and the slots it wraps and opens.
 */
export class Credential {
    static __wrap(ptr) {
        const obj = Object.create(Credential.prototype);
        obj.__wbg_ptr = ptr;
        CredentialFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        CredentialFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_credential_free(ptr, 0);
    }
    /**
     * `auth` in base64url: what a password or recovery login sends (FORMAT §11.1). The
     * server can check it against its verifier and derive nothing else from it.
     * @returns {string}
     */
    authBase64url() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.credential_authBase64url(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The credential's id, 32 hex digits.
     * @returns {string}
     */
    credentialId() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.credential_credentialId(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Open this credential's user-key slot (an envelope in base64url) for `user`.
     * @param {string} user
     * @param {string} wrapped_user_key
     * @returns {UserKey}
     */
    openUserKey(user, wrapped_user_key) {
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(wrapped_user_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.credential_openUserKey(this.__wbg_ptr, ptr0, len0, ptr1, len1);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return UserKey.__wrap(ret[0]);
    }
    /**
     * Open this credential's slot for one vault key (a token's slot). `owner` is the
     * vault owner's id, which every AAD of the vault binds.
     * @param {string} owner
     * @param {string} vault
     * @param {number} key_version
     * @param {string} wrapped_vault_key
     * @returns {VaultKey}
     */
    openVaultKey(owner, vault, key_version, wrapped_vault_key) {
        const val4 = +key_version;
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(owner, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(wrapped_vault_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.credential_openVaultKey(this.__wbg_ptr, ptr0, len0, ptr1, len1, val4, ptr2, len2);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return VaultKey.__wrap(ret[0]);
    }
    /**
     * `SHA-256(auth)` in base64url: what the server stores for a new credential.
     * @returns {string}
     */
    verifierBase64url() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.credential_verifierBase64url(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Wrap `user_key` into this credential's slot: the envelope in base64url.
     * @param {string} user
     * @param {UserKey} user_key
     * @returns {string}
     */
    wrapUserKey(user, user_key) {
        let deferred3_0;
        let deferred3_1;
        try {
            _assertClass(user_key, UserKey);
            const ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.credential_wrapUserKey(this.__wbg_ptr, ptr0, len0, user_key.__wbg_ptr);
            var ptr2 = ret[0];
            var len2 = ret[1];
            if (ret[3]) {
                ptr2 = 0; len2 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred3_0 = ptr2;
            deferred3_1 = len2;
            return getStringFromWasm0(ptr2, len2);
        } finally {
            wasm.__wbindgen_free(deferred3_0, deferred3_1, 1);
        }
    }
    /**
     * Wrap a vault key into this credential's slot for it (a token scoped to the vault).
     * @param {VaultKey} vault_key
     * @returns {string}
     */
    wrapVaultKey(vault_key) {
        let deferred2_0;
        let deferred2_1;
        try {
            _assertClass(vault_key, VaultKey);
            const ret = wasm.credential_wrapVaultKey(this.__wbg_ptr, vault_key.__wbg_ptr);
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
        }
    }
}
if (Symbol.dispose) Credential.prototype[Symbol.dispose] = Credential.prototype.free;

/**
 * A `kse_` token held by the page.
 */
export class E2eToken {
    static __wrap(ptr) {
        const obj = Object.create(E2eToken.prototype);
        obj.__wbg_ptr = ptr;
        E2eTokenFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        E2eTokenFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_e2etoken_free(ptr, 0);
    }
    /**
     * Whether this token's id commits to `identity` (constant time): true only for the
     * identity of the user who minted it with [`E2eToken::generate_anchored`].
     * @param {IdentityPublicKey} identity
     * @returns {boolean}
     */
    anchoredTo(identity) {
        _assertClass(identity, IdentityPublicKey);
        const ret = wasm.e2etoken_anchoredTo(this.__wbg_ptr, identity.__wbg_ptr);
        return ret !== 0;
    }
    /**
     * The `ksa_…` proof (id ‖ auth) a script sends as its bearer credential.
     * @returns {string}
     */
    authProof() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.e2etoken_authProof(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The token as a credential: its verifier and its vault-key slots.
     * @returns {Credential}
     */
    credential() {
        const ret = wasm.e2etoken_credential(this.__wbg_ptr);
        return Credential.__wrap(ret);
    }
    /**
     * A fresh token whose id commits to `identity`, the minting user's identity public
     * key (FORMAT §11.5, `keyslot_crypto::token_anchor`): the token can later check the
     * identity that signs a vault key it is granted without asking the server. A page
     * mints with this; a token with a random id matches no identity and its grants are
     * refused.
     * @param {IdentityPublicKey} identity
     * @returns {E2eToken}
     */
    static generateAnchored(identity) {
        _assertClass(identity, IdentityPublicKey);
        const ret = wasm.e2etoken_generateAnchored(identity.__wbg_ptr);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return E2eToken.__wrap(ret[0]);
    }
    /**
     * The token's id (hex): its row on the server.
     * @returns {string}
     */
    get id() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.e2etoken_id(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Open a grant sealed to this token: vault `vault` of `owner` at `key_version`.
     * @param {string} owner
     * @param {string} vault
     * @param {number} key_version
     * @param {string} sealed
     * @returns {VaultKey}
     */
    openGrant(owner, vault, key_version, sealed) {
        const val4 = +key_version;
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(owner, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(sealed, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.e2etoken_openGrant(this.__wbg_ptr, ptr0, len0, ptr1, len1, val4, ptr2, len2);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return VaultKey.__wrap(ret[0]);
    }
    /**
     * Parse a `kse_…` text (prefix, length, alphabet and checksum checked offline).
     * @param {string} text
     * @returns {E2eToken}
     */
    static parse(text) {
        const ptr0 = passStringToWasm0(text, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.e2etoken_parse(ptr0, len0);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return E2eToken.__wrap(ret[0]);
    }
    /**
     * The token's X25519 public key (base64url): grants for it are sealed to this.
     * @returns {string}
     */
    publicKey() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.e2etoken_publicKey(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The full `kse_…` text, to show the user once. Never send it: a server that sees it
     * revokes the token as disclosed.
     * @returns {string}
     */
    secretText() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.e2etoken_secretText(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
}
if (Symbol.dispose) E2eToken.prototype[Symbol.dispose] = E2eToken.prototype.free;

/**
 * The user's Ed25519 identity key pair; its private half never leaves wasm memory.
 */
export class IdentityKey {
    static __wrap(ptr) {
        const obj = Object.create(IdentityKey.prototype);
        obj.__wbg_ptr = ptr;
        IdentityKeyFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        IdentityKeyFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_identitykey_free(ptr, 0);
    }
    /**
     * A fresh identity (sign-up).
     * @returns {IdentityKey}
     */
    static generate() {
        const ret = wasm.identitykey_generate();
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return IdentityKey.__wrap(ret[0]);
    }
    /**
     * Open the wrapped private half (`identity_wrapped`) with the user key.
     * @param {UserKey} user_key
     * @param {string} user
     * @param {string} wrapped
     * @returns {IdentityKey}
     */
    static open(user_key, user, wrapped) {
        _assertClass(user_key, UserKey);
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(wrapped, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.identitykey_open(user_key.__wbg_ptr, ptr0, len0, ptr1, len1);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return IdentityKey.__wrap(ret[0]);
    }
    /**
     * The public half.
     * @returns {IdentityPublicKey}
     */
    publicKey() {
        const ret = wasm.identitykey_publicKey(this.__wbg_ptr);
        return IdentityPublicKey.__wrap(ret);
    }
    /**
     * Sign an item version as written (`signature`, its writer).
     * @param {string} vault
     * @param {string} item
     * @param {bigint} version
     * @param {SealedItem} sealed
     * @returns {string}
     */
    signItem(vault, item, version, sealed) {
        let deferred5_0;
        let deferred5_1;
        try {
            _assertClass(sealed, SealedItem);
            const val3 = BigInt.asIntN(64, version);
            let ptr0, len0, ptr1, len1;
            try {
                ptr0 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len0 = WASM_VECTOR_LEN;
                ptr1 = passStringToWasm0(item, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len1 = WASM_VECTOR_LEN;
            } catch (e) {
                if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
                if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
                throw e;
            }
            const ret = wasm.identitykey_signItem(this.__wbg_ptr, ptr0, len0, ptr1, len1, val3, sealed.__wbg_ptr);
            var ptr4 = ret[0];
            var len4 = ret[1];
            if (ret[3]) {
                ptr4 = 0; len4 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred5_0 = ptr4;
            deferred5_1 = len4;
            return getStringFromWasm0(ptr4, len4);
        } finally {
            wasm.__wbindgen_free(deferred5_0, deferred5_1, 1);
        }
    }
    /**
     * Sign a vault's member list at `key_version` (the owner).
     * @param {string} vault
     * @param {number} key_version
     * @param {MemberList} members
     * @returns {string}
     */
    signMembers(vault, key_version, members) {
        let deferred4_0;
        let deferred4_1;
        try {
            _assertClass(members, MemberList);
            const val2 = +key_version;
            const ptr0 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.identitykey_signMembers(this.__wbg_ptr, ptr0, len0, val2, members.__wbg_ptr);
            var ptr3 = ret[0];
            var len3 = ret[1];
            if (ret[3]) {
                ptr3 = 0; len3 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred4_0 = ptr3;
            deferred4_1 = len3;
            return getStringFromWasm0(ptr3, len3);
        } finally {
            wasm.__wbindgen_free(deferred4_0, deferred4_1, 1);
        }
    }
    /**
     * Sign one of the user's tokens' X25519 public key (`public_key_signature` at mint).
     * @param {string} user
     * @param {string} token
     * @param {string} token_public
     * @returns {string}
     */
    signTokenKey(user, token, token_public) {
        let deferred5_0;
        let deferred5_1;
        try {
            let ptr0, len0, ptr1, len1, ptr2, len2;
            try {
                ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len0 = WASM_VECTOR_LEN;
                ptr1 = passStringToWasm0(token, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len1 = WASM_VECTOR_LEN;
                ptr2 = passStringToWasm0(token_public, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len2 = WASM_VECTOR_LEN;
            } catch (e) {
                if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
                if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
                if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
                throw e;
            }
            const ret = wasm.identitykey_signTokenKey(this.__wbg_ptr, ptr0, len0, ptr1, len1, ptr2, len2);
            var ptr4 = ret[0];
            var len4 = ret[1];
            if (ret[3]) {
                ptr4 = 0; len4 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred5_0 = ptr4;
            deferred5_1 = len4;
            return getStringFromWasm0(ptr4, len4);
        } finally {
            wasm.__wbindgen_free(deferred5_0, deferred5_1, 1);
        }
    }
    /**
     * Sign the user's own X25519 public key (`x25519_signature`).
     * @param {string} user
     * @param {string} x25519_public
     * @returns {string}
     */
    signUserX25519(user, x25519_public) {
        let deferred4_0;
        let deferred4_1;
        try {
            let ptr0, len0, ptr1, len1;
            try {
                ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len0 = WASM_VECTOR_LEN;
                ptr1 = passStringToWasm0(x25519_public, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len1 = WASM_VECTOR_LEN;
            } catch (e) {
                if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
                if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
                throw e;
            }
            const ret = wasm.identitykey_signUserX25519(this.__wbg_ptr, ptr0, len0, ptr1, len1);
            var ptr3 = ret[0];
            var len3 = ret[1];
            if (ret[3]) {
                ptr3 = 0; len3 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred4_0 = ptr3;
            deferred4_1 = len3;
            return getStringFromWasm0(ptr3, len3);
        } finally {
            wasm.__wbindgen_free(deferred4_0, deferred4_1, 1);
        }
    }
    /**
     * Sign a vault key version's public key (the owner, at creation and rotation).
     * @param {VaultKey} vault_key
     * @returns {string}
     */
    signVaultKey(vault_key) {
        let deferred2_0;
        let deferred2_1;
        try {
            _assertClass(vault_key, VaultKey);
            const ret = wasm.identitykey_signVaultKey(this.__wbg_ptr, vault_key.__wbg_ptr);
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
        }
    }
    /**
     * The private half wrapped under the user key (envelope, base64url).
     * @param {UserKey} user_key
     * @param {string} user
     * @returns {string}
     */
    wrap(user_key, user) {
        let deferred3_0;
        let deferred3_1;
        try {
            _assertClass(user_key, UserKey);
            const ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.identitykey_wrap(this.__wbg_ptr, user_key.__wbg_ptr, ptr0, len0);
            var ptr2 = ret[0];
            var len2 = ret[1];
            if (ret[3]) {
                ptr2 = 0; len2 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred3_0 = ptr2;
            deferred3_1 = len2;
            return getStringFromWasm0(ptr2, len2);
        } finally {
            wasm.__wbindgen_free(deferred3_0, deferred3_1, 1);
        }
    }
}
if (Symbol.dispose) IdentityKey.prototype[Symbol.dispose] = IdentityKey.prototype.free;

/**
 * Someone's identity public key, parsed (a valid point of large order).
 */
export class IdentityPublicKey {
    static __wrap(ptr) {
        const obj = Object.create(IdentityPublicKey.prototype);
        obj.__wbg_ptr = ptr;
        IdentityPublicKeyFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        IdentityPublicKeyFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_identitypublickey_free(ptr, 0);
    }
    /**
     * Five groups of eight hex digits, for people to compare out of band.
     * @returns {string}
     */
    fingerprint() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.identitypublickey_fingerprint(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Parse `identity_public` (base64url); refuses non-points and small-order keys.
     * @param {string} identity_public
     * @returns {IdentityPublicKey}
     */
    static parse(identity_public) {
        const ptr0 = passStringToWasm0(identity_public, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.identitypublickey_parse(ptr0, len0);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return IdentityPublicKey.__wrap(ret[0]);
    }
    /**
     * The key in base64url, as sent.
     * @returns {string}
     */
    toBase64url() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.identitypublickey_toBase64url(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Throws unless `signature` is this identity's over the item version.
     * @param {string} vault
     * @param {string} item
     * @param {bigint} version
     * @param {SealedItem} sealed
     * @param {string} signature_b64
     */
    verifyItem(vault, item, version, sealed, signature_b64) {
        _assertClass(sealed, SealedItem);
        const val4 = BigInt.asIntN(64, version);
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(item, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(signature_b64, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.identitypublickey_verifyItem(this.__wbg_ptr, ptr0, len0, ptr1, len1, val4, sealed.__wbg_ptr, ptr2, len2);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * Throws unless `signature` is this identity's over the member list.
     * @param {string} vault
     * @param {number} key_version
     * @param {MemberList} members
     * @param {string} signature_b64
     */
    verifyMembers(vault, key_version, members, signature_b64) {
        _assertClass(members, MemberList);
        const val3 = +key_version;
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(signature_b64, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.identitypublickey_verifyMembers(this.__wbg_ptr, ptr0, len0, val3, members.__wbg_ptr, ptr1, len1);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * Throws unless `signature` is this identity's over `user`'s token key.
     * @param {string} user
     * @param {string} token
     * @param {string} token_public
     * @param {string} signature_b64
     */
    verifyTokenKey(user, token, token_public, signature_b64) {
        let ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3;
        try {
            ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(token, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(token_public, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
            ptr3 = passStringToWasm0(signature_b64, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len3 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr3) { wasm.__wbindgen_free(ptr3, len3 * 1, 1); }
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.identitypublickey_verifyTokenKey(this.__wbg_ptr, ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * Throws unless `signature` is this identity's over `user`'s X25519 key.
     * @param {string} user
     * @param {string} x25519_public
     * @param {string} signature_b64
     */
    verifyUserX25519(user, x25519_public, signature_b64) {
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(x25519_public, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(signature_b64, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.identitypublickey_verifyUserX25519(this.__wbg_ptr, ptr0, len0, ptr1, len1, ptr2, len2);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * Throws unless `signature` is this identity's over vault `vault`'s public key at
     * `key_version` (check it before sealing a deposit to that key).
     * @param {string} vault
     * @param {number} key_version
     * @param {string} vault_public
     * @param {string} signature_b64
     */
    verifyVaultKey(vault, key_version, vault_public, signature_b64) {
        const val4 = +key_version;
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(vault_public, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(signature_b64, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.identitypublickey_verifyVaultKey(this.__wbg_ptr, ptr0, len0, val4, ptr1, len1, ptr2, len2);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
}
if (Symbol.dispose) IdentityPublicKey.prototype[Symbol.dispose] = IdentityPublicKey.prototype.free;

/**
 * A vault's member list at one key version, as the owner signs it.
 */
export class MemberList {
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        MemberListFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_memberlist_free(ptr, 0);
    }
    /**
     * Add a member: user id, role ("read", "write" or "owner") and identity.
     * @param {string} user
     * @param {string} role_name
     * @param {IdentityPublicKey} identity
     */
    add(user, role_name, identity) {
        _assertClass(identity, IdentityPublicKey);
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(role_name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.memberlist_add(this.__wbg_ptr, ptr0, len0, ptr1, len1, identity.__wbg_ptr);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * An empty list.
     */
    constructor() {
        const ret = wasm.memberlist_new();
        this.__wbg_ptr = ret;
        MemberListFinalization.register(this, this.__wbg_ptr, this);
        return this;
    }
}
if (Symbol.dispose) MemberList.prototype[Symbol.dispose] = MemberList.prototype.free;

/**
 * A new password credential (sign-up, password change, recovery): fresh salt and
 * credential id, the default parameters, Argon2id once. What the server needs to build
 * the password slot: `credentialId`, `salt`, the parameters, `verifierBase64url` and the
 * user key wrapped by [`Credential::wrap_user_key`].
 */
export class NewPassword {
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        NewPasswordFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_newpassword_free(ptr, 0);
    }
    /**
     * Argon2 memory, KiB.
     * @returns {number}
     */
    get mCost() {
        const ret = wasm.newpassword_mCost(this.__wbg_ptr);
        return ret >>> 0;
    }
    /**
     * Hash `password` under fresh parameters. The password policy (length, strength) is
     * the page's to check first: the server never sees the password.
     * @param {string} password
     */
    constructor(password) {
        const ptr0 = passStringToWasm0(password, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.newpassword_new(ptr0, len0);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        this.__wbg_ptr = ret[0];
        NewPasswordFinalization.register(this, this.__wbg_ptr, this);
        return this;
    }
    /**
     * Argon2 lanes.
     * @returns {number}
     */
    get pCost() {
        const ret = wasm.newpassword_pCost(this.__wbg_ptr);
        return ret >>> 0;
    }
    /**
     * The Argon2 salt, base64url.
     * @returns {string}
     */
    get salt() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.newpassword_salt(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Argon2 passes.
     * @returns {number}
     */
    get tCost() {
        const ret = wasm.newpassword_tCost(this.__wbg_ptr);
        return ret >>> 0;
    }
    /**
     * The credential itself (once; later calls refuse).
     * @returns {Credential}
     */
    takeCredential() {
        const ret = wasm.newpassword_takeCredential(this.__wbg_ptr);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return Credential.__wrap(ret[0]);
    }
}
if (Symbol.dispose) NewPassword.prototype[Symbol.dispose] = NewPassword.prototype.free;

/**
 * A recovery code the page generated (sign-up, after a recovery): its text is shown to
 * the user once; the server gets its verifier, its X25519 public key and a user-key slot.
 */
export class NewRecoveryCode {
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        NewRecoveryCodeFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_newrecoverycode_free(ptr, 0);
    }
    /**
     * The code as a credential: `credentialId`, verifier, and its user-key slot.
     * @returns {Credential}
     */
    credential() {
        const ret = wasm.newrecoverycode_credential(this.__wbg_ptr);
        return Credential.__wrap(ret);
    }
    /**
     * A fresh code under a fresh credential id.
     */
    constructor() {
        const ret = wasm.newrecoverycode_new();
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        this.__wbg_ptr = ret[0];
        NewRecoveryCodeFinalization.register(this, this.__wbg_ptr, this);
        return this;
    }
    /**
     * The code's X25519 public key (base64url): a rotated user key is sealed to it.
     * @returns {string}
     */
    publicKey() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.newrecoverycode_publicKey(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The code as the user writes it down (shown once, never sent).
     * @returns {string}
     */
    text() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.newrecoverycode_text(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
}
if (Symbol.dispose) NewRecoveryCode.prototype[Symbol.dispose] = NewRecoveryCode.prototype.free;

/**
 * An opened item: its name and value, in wasm memory until read.
 */
export class OpenedItem {
    static __wrap(ptr) {
        const obj = Object.create(OpenedItem.prototype);
        obj.__wbg_ptr = ptr;
        OpenedItemFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        OpenedItemFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_openeditem_free(ptr, 0);
    }
    /**
     * The item's name.
     * @returns {string}
     */
    get name() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.openeditem_name(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The value as text, refused if it is not UTF-8.
     * @returns {string}
     */
    valueText() {
        let deferred2_0;
        let deferred2_1;
        try {
            const ret = wasm.openeditem_valueText(this.__wbg_ptr);
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
        }
    }
    /**
     * The value's bytes.
     * @returns {Uint8Array}
     */
    get value() {
        const ret = wasm.openeditem_value(this.__wbg_ptr);
        var v1 = getArrayU8FromWasm0(ret[0], ret[1]).slice();
        wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
        return v1;
    }
}
if (Symbol.dispose) OpenedItem.prototype[Symbol.dispose] = OpenedItem.prototype.free;

/**
 * One item version as the server stores it (envelopes in base64url).
 */
export class SealedItem {
    static __wrap(ptr) {
        const obj = Object.create(SealedItem.prototype);
        obj.__wbg_ptr = ptr;
        SealedItemFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        SealedItemFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_sealeditem_free(ptr, 0);
    }
    /**
     * The name sealed under the item key.
     * @returns {string}
     */
    get sealedName() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.__wbg_get_sealeditem_sealedName(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The value sealed under the item key.
     * @returns {string}
     */
    get sealedValue() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.__wbg_get_sealeditem_sealedValue(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The item key wrapped under the vault key.
     * @returns {string}
     */
    get wrappedItemKey() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.__wbg_get_sealeditem_wrappedItemKey(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * An item version as read from the server (to open or verify it).
     * @param {string} wrapped_item_key
     * @param {string} sealed_name
     * @param {string} sealed_value
     */
    constructor(wrapped_item_key, sealed_name, sealed_value) {
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(wrapped_item_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(sealed_name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(sealed_value, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.sealeditem_new(ptr0, len0, ptr1, len1, ptr2, len2);
        this.__wbg_ptr = ret;
        SealedItemFinalization.register(this, this.__wbg_ptr, this);
        return this;
    }
    /**
     * The name sealed under the item key.
     * @param {string} arg0
     */
    set sealedName(arg0) {
        const ptr0 = passStringToWasm0(arg0, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        wasm.__wbg_set_sealeditem_sealedName(this.__wbg_ptr, ptr0, len0);
    }
    /**
     * The value sealed under the item key.
     * @param {string} arg0
     */
    set sealedValue(arg0) {
        const ptr0 = passStringToWasm0(arg0, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        wasm.__wbg_set_sealeditem_sealedValue(this.__wbg_ptr, ptr0, len0);
    }
    /**
     * The item key wrapped under the vault key.
     * @param {string} arg0
     */
    set wrappedItemKey(arg0) {
        const ptr0 = passStringToWasm0(arg0, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        wasm.__wbg_set_sealeditem_wrappedItemKey(this.__wbg_ptr, ptr0, len0);
    }
}
if (Symbol.dispose) SealedItem.prototype[Symbol.dispose] = SealedItem.prototype.free;

/**
 * A token's name as the server stores it: a fresh name key wrapped under the user key,
 * and the name sealed under it (the same records as a server-mode token's).
 */
export class SealedTokenName {
    static __wrap(ptr) {
        const obj = Object.create(SealedTokenName.prototype);
        obj.__wbg_ptr = ptr;
        SealedTokenNameFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        SealedTokenNameFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_sealedtokenname_free(ptr, 0);
    }
    /**
     * The name key wrapped under the user key (envelope, base64url).
     * @returns {string}
     */
    get nameKey() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.__wbg_get_sealedtokenname_nameKey(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The name sealed under the name key (envelope, base64url).
     * @returns {string}
     */
    get name() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.__wbg_get_sealedtokenname_name(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The name key wrapped under the user key (envelope, base64url).
     * @param {string} arg0
     */
    set nameKey(arg0) {
        const ptr0 = passStringToWasm0(arg0, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        wasm.__wbg_set_sealedtokenname_nameKey(this.__wbg_ptr, ptr0, len0);
    }
    /**
     * The name sealed under the name key (envelope, base64url).
     * @param {string} arg0
     */
    set name(arg0) {
        const ptr0 = passStringToWasm0(arg0, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        wasm.__wbg_set_sealedtokenname_name(this.__wbg_ptr, ptr0, len0);
    }
}
if (Symbol.dispose) SealedTokenName.prototype[Symbol.dispose] = SealedTokenName.prototype.free;

/**
 * The session's *unlock secret* (END-TO-END §4): an id and 32 random bytes the page keeps
 * in `sessionStorage` — never sent anywhere — so that a reload reopens the user key from
 * the session's slot (`PUT`/`GET /v1/session/key`) without the password.
 */
export class SessionUnlock {
    static __wrap(ptr) {
        const obj = Object.create(SessionUnlock.prototype);
        obj.__wbg_ptr = ptr;
        SessionUnlockFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        SessionUnlockFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_sessionunlock_free(ptr, 0);
    }
    /**
     * The credential that wraps and opens the session's user-key slot.
     * @returns {Credential}
     */
    credential() {
        const ret = wasm.sessionunlock_credential(this.__wbg_ptr);
        return Credential.__wrap(ret);
    }
    /**
     * Rebuild from what `sessionStorage` kept: `unlockId` (hex) and `secret` (base64url).
     * @param {string} unlock_id
     * @param {string} secret
     * @returns {SessionUnlock}
     */
    static fromStorage(unlock_id, secret) {
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(unlock_id, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(secret, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.sessionunlock_fromStorage(ptr0, len0, ptr1, len1);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return SessionUnlock.__wrap(ret[0]);
    }
    /**
     * A fresh unlock secret.
     */
    constructor() {
        const ret = wasm.sessionunlock_new();
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        this.__wbg_ptr = ret[0];
        SessionUnlockFinalization.register(this, this.__wbg_ptr, this);
        return this;
    }
    /**
     * The secret in base64url, for `sessionStorage` only.
     * @returns {string}
     */
    secretForSessionStorage() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.sessionunlock_secretForSessionStorage(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The unlock id (hex): sent with the slot, so the server can hand the slot back.
     * @returns {string}
     */
    get unlockId() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.sessionunlock_unlockId(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
}
if (Symbol.dispose) SessionUnlock.prototype[Symbol.dispose] = SessionUnlock.prototype.free;

/**
 * A user key (one per account): wraps the user's vault keys, X25519 and identity private
 * keys, and token names.
 */
export class UserKey {
    static __wrap(ptr) {
        const obj = Object.create(UserKey.prototype);
        obj.__wbg_ptr = ptr;
        UserKeyFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        UserKeyFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_userkey_free(ptr, 0);
    }
    /**
     * Throws unless `stored_pin` is `me`'s pin of `pinned_user`'s identity as the server
     * answers it now (constant-time comparison): a changed identity fails here.
     * @param {string} me
     * @param {string} pinned_user
     * @param {IdentityPublicKey} identity
     * @param {string} stored_pin
     */
    checkPin(me, pinned_user, identity, stored_pin) {
        _assertClass(identity, IdentityPublicKey);
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(me, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(pinned_user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(stored_pin, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.userkey_checkPin(this.__wbg_ptr, ptr0, len0, ptr1, len1, identity.__wbg_ptr, ptr2, len2);
        if (ret[1]) {
            throw takeFromExternrefTable0(ret[0]);
        }
    }
    /**
     * A fresh random user key (sign-up).
     * @returns {UserKey}
     */
    static generate() {
        const ret = wasm.userkey_generate();
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return UserKey.__wrap(ret[0]);
    }
    /**
     * Open a token's name.
     * @param {string} user
     * @param {string} token
     * @param {string} name_key
     * @param {string} name
     * @returns {string}
     */
    openTokenName(user, token, name_key, name) {
        let deferred6_0;
        let deferred6_1;
        try {
            let ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3;
            try {
                ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len0 = WASM_VECTOR_LEN;
                ptr1 = passStringToWasm0(token, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len1 = WASM_VECTOR_LEN;
                ptr2 = passStringToWasm0(name_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len2 = WASM_VECTOR_LEN;
                ptr3 = passStringToWasm0(name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len3 = WASM_VECTOR_LEN;
            } catch (e) {
                if (ptr3) { wasm.__wbindgen_free(ptr3, len3 * 1, 1); }
                if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
                if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
                if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
                throw e;
            }
            const ret = wasm.userkey_openTokenName(this.__wbg_ptr, ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3);
            var ptr5 = ret[0];
            var len5 = ret[1];
            if (ret[3]) {
                ptr5 = 0; len5 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred6_0 = ptr5;
            deferred6_1 = len5;
            return getStringFromWasm0(ptr5, len5);
        } finally {
            wasm.__wbindgen_free(deferred6_0, deferred6_1, 1);
        }
    }
    /**
     * Open a member slot: vault `vault` of `owner`, at `key_version`.
     * @param {string} owner
     * @param {string} vault
     * @param {number} key_version
     * @param {string} wrapped_vault_key
     * @returns {VaultKey}
     */
    openVaultKey(owner, vault, key_version, wrapped_vault_key) {
        const val4 = +key_version;
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(owner, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(wrapped_vault_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.userkey_openVaultKey(this.__wbg_ptr, ptr0, len0, ptr1, len1, val4, ptr2, len2);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return VaultKey.__wrap(ret[0]);
    }
    /**
     * The pin (base64url) that user `me` keeps for `pinned_user`'s identity, once
     * its fingerprint is confirmed (`PUT /v1/pins/{user_id}`).
     * @param {string} me
     * @param {string} pinned_user
     * @param {IdentityPublicKey} identity
     * @returns {string}
     */
    pin(me, pinned_user, identity) {
        let deferred4_0;
        let deferred4_1;
        try {
            _assertClass(identity, IdentityPublicKey);
            let ptr0, len0, ptr1, len1;
            try {
                ptr0 = passStringToWasm0(me, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len0 = WASM_VECTOR_LEN;
                ptr1 = passStringToWasm0(pinned_user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len1 = WASM_VECTOR_LEN;
            } catch (e) {
                if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
                if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
                throw e;
            }
            const ret = wasm.userkey_pin(this.__wbg_ptr, ptr0, len0, ptr1, len1, identity.__wbg_ptr);
            var ptr3 = ret[0];
            var len3 = ret[1];
            if (ret[3]) {
                ptr3 = 0; len3 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred4_0 = ptr3;
            deferred4_1 = len3;
            return getStringFromWasm0(ptr3, len3);
        } finally {
            wasm.__wbindgen_free(deferred4_0, deferred4_1, 1);
        }
    }
    /**
     * Seal a token's name for `user`'s token `token` (ids in hex).
     * @param {string} user
     * @param {string} token
     * @param {string} name
     * @returns {SealedTokenName}
     */
    sealTokenName(user, token, name) {
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(token, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.userkey_sealTokenName(this.__wbg_ptr, ptr0, len0, ptr1, len1, ptr2, len2);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return SealedTokenName.__wrap(ret[0]);
    }
    /**
     * Wrap a vault key into this user's member slot (AAD: owner, vault, key version).
     * @param {VaultKey} vault_key
     * @returns {string}
     */
    wrapVaultKey(vault_key) {
        let deferred2_0;
        let deferred2_1;
        try {
            _assertClass(vault_key, VaultKey);
            const ret = wasm.userkey_wrapVaultKey(this.__wbg_ptr, vault_key.__wbg_ptr);
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
        }
    }
}
if (Symbol.dispose) UserKey.prototype[Symbol.dispose] = UserKey.prototype.free;

/**
 * A user's X25519 key pair: grants (vault keys shared with the user) are sealed to its
 * public half; its private half is stored wrapped under the user key.
 */
export class UserKeyPair {
    static __wrap(ptr) {
        const obj = Object.create(UserKeyPair.prototype);
        obj.__wbg_ptr = ptr;
        UserKeyPairFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        UserKeyPairFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_userkeypair_free(ptr, 0);
    }
    /**
     * A fresh pair (sign-up, user-key rotation).
     * @returns {UserKeyPair}
     */
    static generate() {
        const ret = wasm.userkeypair_generate();
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return UserKeyPair.__wrap(ret[0]);
    }
    /**
     * Open a deposit sealed to this user (`me`) while the vault's rotation was due: vault
     * `vault` of `owner`, counted under `key_version`, item `item` at `version`.
     * @param {string} me
     * @param {string} owner
     * @param {string} vault
     * @param {number} key_version
     * @param {string} item
     * @param {bigint} version
     * @param {string} depositor_public
     * @param {string} sealed_item_key
     * @param {string} sealed_name
     * @param {string} sealed_value
     * @returns {OpenedItem}
     */
    openDeposit(me, owner, vault, key_version, item, version, depositor_public, sealed_item_key, sealed_name, sealed_value) {
        const val9 = +key_version;
        const val10 = BigInt.asIntN(64, version);
        let ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3, ptr4, len4, ptr5, len5, ptr6, len6, ptr7, len7;
        try {
            ptr0 = passStringToWasm0(me, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(owner, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
            ptr3 = passStringToWasm0(item, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len3 = WASM_VECTOR_LEN;
            ptr4 = passStringToWasm0(depositor_public, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len4 = WASM_VECTOR_LEN;
            ptr5 = passStringToWasm0(sealed_item_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len5 = WASM_VECTOR_LEN;
            ptr6 = passStringToWasm0(sealed_name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len6 = WASM_VECTOR_LEN;
            ptr7 = passStringToWasm0(sealed_value, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len7 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr7) { wasm.__wbindgen_free(ptr7, len7 * 1, 1); }
            if (ptr6) { wasm.__wbindgen_free(ptr6, len6 * 1, 1); }
            if (ptr5) { wasm.__wbindgen_free(ptr5, len5 * 1, 1); }
            if (ptr4) { wasm.__wbindgen_free(ptr4, len4 * 1, 1); }
            if (ptr3) { wasm.__wbindgen_free(ptr3, len3 * 1, 1); }
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.userkeypair_openDeposit(this.__wbg_ptr, ptr0, len0, ptr1, len1, ptr2, len2, val9, ptr3, len3, val10, ptr4, len4, ptr5, len5, ptr6, len6, ptr7, len7);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return OpenedItem.__wrap(ret[0]);
    }
    /**
     * Open a grant sealed to this user (`me`): vault `vault` of `owner` at `key_version`.
     * @param {string} me
     * @param {string} owner
     * @param {string} vault
     * @param {number} key_version
     * @param {string} sealed
     * @returns {VaultKey}
     */
    openGrant(me, owner, vault, key_version, sealed) {
        const val5 = +key_version;
        let ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3;
        try {
            ptr0 = passStringToWasm0(me, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(owner, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
            ptr3 = passStringToWasm0(sealed, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len3 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr3) { wasm.__wbindgen_free(ptr3, len3 * 1, 1); }
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.userkeypair_openGrant(this.__wbg_ptr, ptr0, len0, ptr1, len1, ptr2, len2, val5, ptr3, len3);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return VaultKey.__wrap(ret[0]);
    }
    /**
     * The public half, base64url.
     * @returns {string}
     */
    publicKey() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.userkeypair_publicKey(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Open the wrapped private half (`wrapped_x25519`, base64url) with the user key.
     * @param {UserKey} user_key
     * @param {string} user
     * @param {string} wrapped
     * @returns {UserKeyPair}
     */
    static unwrap(user_key, user, wrapped) {
        _assertClass(user_key, UserKey);
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(wrapped, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.userkeypair_unwrap(user_key.__wbg_ptr, ptr0, len0, ptr1, len1);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return UserKeyPair.__wrap(ret[0]);
    }
    /**
     * The private half wrapped under the user key (envelope, base64url).
     * @param {UserKey} user_key
     * @param {string} user
     * @returns {string}
     */
    wrap(user_key, user) {
        let deferred3_0;
        let deferred3_1;
        try {
            _assertClass(user_key, UserKey);
            const ptr0 = passStringToWasm0(user, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.userkeypair_wrap(this.__wbg_ptr, user_key.__wbg_ptr, ptr0, len0);
            var ptr2 = ret[0];
            var len2 = ret[1];
            if (ret[3]) {
                ptr2 = 0; len2 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred3_0 = ptr2;
            deferred3_1 = len2;
            return getStringFromWasm0(ptr2, len2);
        } finally {
            wasm.__wbindgen_free(deferred3_0, deferred3_1, 1);
        }
    }
}
if (Symbol.dispose) UserKeyPair.prototype[Symbol.dispose] = UserKeyPair.prototype.free;

/**
 * One version of one vault's key, with the context its AADs bind.
 */
export class VaultKey {
    static __wrap(ptr) {
        const obj = Object.create(VaultKey.prototype);
        obj.__wbg_ptr = ptr;
        VaultKeyFinalization.register(obj, obj.__wbg_ptr, obj);
        return obj;
    }
    __destroy_into_raw() {
        const ptr = this.__wbg_ptr;
        this.__wbg_ptr = 0;
        VaultKeyFinalization.unregister(this);
        return ptr;
    }
    free() {
        const ptr = this.__destroy_into_raw();
        wasm.__wbg_vaultkey_free(ptr, 0);
    }
    /**
     * A fresh random key for `vault` of `owner` at `key_version` (1 at creation, the next
     * version at a rotation).
     * @param {string} owner
     * @param {string} vault
     * @param {number} key_version
     * @returns {VaultKey}
     */
    static generate(owner, vault, key_version) {
        const val3 = +key_version;
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(owner, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(vault, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.vaultkey_generate(ptr0, len0, ptr1, len1, val3);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return VaultKey.__wrap(ret[0]);
    }
    /**
     * This key's version.
     * @returns {number}
     */
    get keyVersion() {
        const ret = wasm.vaultkey_keyVersion(this.__wbg_ptr);
        return ret >>> 0;
    }
    /**
     * The blind name index of `name` in this vault at this key version (FORMAT §11.3),
     * base64url: sent with an item so that a lookup by name (`?name_index=`) needs no
     * listing, without the server learning the name.
     * @param {string} name
     * @returns {string}
     */
    nameIndex(name) {
        let deferred2_0;
        let deferred2_1;
        try {
            const ptr0 = passStringToWasm0(name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.vaultkey_nameIndex(this.__wbg_ptr, ptr0, len0);
            deferred2_0 = ret[0];
            deferred2_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
        }
    }
    /**
     * Open a deposit sealed to this key version's public key by the token whose X25519
     * public key is `depositor_public` (base64url), for item `item` at `version`.
     * @param {string} item
     * @param {bigint} version
     * @param {string} depositor_public
     * @param {string} sealed_item_key
     * @param {string} sealed_name
     * @param {string} sealed_value
     * @returns {OpenedItem}
     */
    openDeposit(item, version, depositor_public, sealed_item_key, sealed_name, sealed_value) {
        const val6 = BigInt.asIntN(64, version);
        let ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3, ptr4, len4;
        try {
            ptr0 = passStringToWasm0(item, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(depositor_public, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(sealed_item_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
            ptr3 = passStringToWasm0(sealed_name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len3 = WASM_VECTOR_LEN;
            ptr4 = passStringToWasm0(sealed_value, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len4 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr4) { wasm.__wbindgen_free(ptr4, len4 * 1, 1); }
            if (ptr3) { wasm.__wbindgen_free(ptr3, len3 * 1, 1); }
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.vaultkey_openDeposit(this.__wbg_ptr, ptr0, len0, val6, ptr1, len1, ptr2, len2, ptr3, len3, ptr4, len4);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return OpenedItem.__wrap(ret[0]);
    }
    /**
     * Open an item's name only (listings).
     * @param {string} item
     * @param {bigint} version
     * @param {string} wrapped_item_key
     * @param {string} sealed_name
     * @returns {string}
     */
    openItemName(item, version, wrapped_item_key, sealed_name) {
        let deferred6_0;
        let deferred6_1;
        try {
            const val4 = BigInt.asIntN(64, version);
            let ptr0, len0, ptr1, len1, ptr2, len2;
            try {
                ptr0 = passStringToWasm0(item, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len0 = WASM_VECTOR_LEN;
                ptr1 = passStringToWasm0(wrapped_item_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len1 = WASM_VECTOR_LEN;
                ptr2 = passStringToWasm0(sealed_name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len2 = WASM_VECTOR_LEN;
            } catch (e) {
                if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
                if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
                if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
                throw e;
            }
            const ret = wasm.vaultkey_openItemName(this.__wbg_ptr, ptr0, len0, val4, ptr1, len1, ptr2, len2);
            var ptr5 = ret[0];
            var len5 = ret[1];
            if (ret[3]) {
                ptr5 = 0; len5 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred6_0 = ptr5;
            deferred6_1 = len5;
            return getStringFromWasm0(ptr5, len5);
        } finally {
            wasm.__wbindgen_free(deferred6_0, deferred6_1, 1);
        }
    }
    /**
     * Open item `item` at `version`, sealed under this key version (for an item under
     * an older version, open that version first with [`VaultKey::open_older`]).
     * @param {string} item
     * @param {bigint} version
     * @param {string} wrapped_item_key
     * @param {string} sealed_name
     * @param {string} sealed_value
     * @returns {OpenedItem}
     */
    openItem(item, version, wrapped_item_key, sealed_name, sealed_value) {
        const val5 = BigInt.asIntN(64, version);
        let ptr0, len0, ptr1, len1, ptr2, len2, ptr3, len3;
        try {
            ptr0 = passStringToWasm0(item, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(wrapped_item_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passStringToWasm0(sealed_name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len2 = WASM_VECTOR_LEN;
            ptr3 = passStringToWasm0(sealed_value, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len3 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr3) { wasm.__wbindgen_free(ptr3, len3 * 1, 1); }
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.vaultkey_openItem(this.__wbg_ptr, ptr0, len0, val5, ptr1, len1, ptr2, len2, ptr3, len3);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return OpenedItem.__wrap(ret[0]);
    }
    /**
     * Open the chain link to the previous version (`key_version - 1`).
     * @param {string} chain_link
     * @returns {VaultKey}
     */
    openOlder(chain_link) {
        const ptr0 = passStringToWasm0(chain_link, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        const len0 = WASM_VECTOR_LEN;
        const ret = wasm.vaultkey_openOlder(this.__wbg_ptr, ptr0, len0);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return VaultKey.__wrap(ret[0]);
    }
    /**
     * Open the vault's name (`sealed_name`, always at the vault's current key version).
     * @param {string} sealed_name
     * @returns {string}
     */
    openVaultName(sealed_name) {
        let deferred3_0;
        let deferred3_1;
        try {
            const ptr0 = passStringToWasm0(sealed_name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.vaultkey_openVaultName(this.__wbg_ptr, ptr0, len0);
            var ptr2 = ret[0];
            var len2 = ret[1];
            if (ret[3]) {
                ptr2 = 0; len2 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred3_0 = ptr2;
            deferred3_1 = len2;
            return getStringFromWasm0(ptr2, len2);
        } finally {
            wasm.__wbindgen_free(deferred3_0, deferred3_1, 1);
        }
    }
    /**
     * The vault owner's id (hex).
     * @returns {string}
     */
    get ownerId() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.vaultkey_ownerId(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The public half of this version's X25519 pair (base64url): deposits are sealed to
     * it; the owner signs it.
     * @returns {string}
     */
    publicKey() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.vaultkey_publicKey(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * Seal this key to a member (`recipient_kind` "user") or a token ("token") whose
     * X25519 public key the caller has verified (END-TO-END §5): a grant (FORMAT §9).
     * @param {string} recipient_kind
     * @param {string} recipient
     * @param {string} recipient_public_key
     * @returns {string}
     */
    sealGrant(recipient_kind, recipient, recipient_public_key) {
        let deferred5_0;
        let deferred5_1;
        try {
            let ptr0, len0, ptr1, len1, ptr2, len2;
            try {
                ptr0 = passStringToWasm0(recipient_kind, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len0 = WASM_VECTOR_LEN;
                ptr1 = passStringToWasm0(recipient, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len1 = WASM_VECTOR_LEN;
                ptr2 = passStringToWasm0(recipient_public_key, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
                len2 = WASM_VECTOR_LEN;
            } catch (e) {
                if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
                if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
                if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
                throw e;
            }
            const ret = wasm.vaultkey_sealGrant(this.__wbg_ptr, ptr0, len0, ptr1, len1, ptr2, len2);
            var ptr4 = ret[0];
            var len4 = ret[1];
            if (ret[3]) {
                ptr4 = 0; len4 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred5_0 = ptr4;
            deferred5_1 = len4;
            return getStringFromWasm0(ptr4, len4);
        } finally {
            wasm.__wbindgen_free(deferred5_0, deferred5_1, 1);
        }
    }
    /**
     * Seal version `version` of item `item` (hex id) under a fresh item key. The version
     * is bound into every AAD: an update seals the version it writes (the one read + 1).
     * @param {string} item
     * @param {bigint} version
     * @param {string} name
     * @param {Uint8Array | number[]} value
     * @returns {SealedItem}
     */
    sealItem(item, version, name, value) {
        const val4 = BigInt.asIntN(64, version);
        let ptr0, len0, ptr1, len1, ptr2, len2;
        try {
            ptr0 = passStringToWasm0(item, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
            ptr2 = passArray8ToWasm0(value, wasm.__wbindgen_malloc);
            len2 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.vaultkey_sealItem(this.__wbg_ptr, ptr0, len0, val4, ptr1, len1, ptr2, len2);
        if (ret[2]) {
            throw takeFromExternrefTable0(ret[1]);
        }
        return SealedItem.__wrap(ret[0]);
    }
    /**
     * Seal the vault's name under this key version.
     * @param {string} name
     * @returns {string}
     */
    sealVaultName(name) {
        let deferred3_0;
        let deferred3_1;
        try {
            const ptr0 = passStringToWasm0(name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            const len0 = WASM_VECTOR_LEN;
            const ret = wasm.vaultkey_sealVaultName(this.__wbg_ptr, ptr0, len0);
            var ptr2 = ret[0];
            var len2 = ret[1];
            if (ret[3]) {
                ptr2 = 0; len2 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred3_0 = ptr2;
            deferred3_1 = len2;
            return getStringFromWasm0(ptr2, len2);
        } finally {
            wasm.__wbindgen_free(deferred3_0, deferred3_1, 1);
        }
    }
    /**
     * The vault's id (hex).
     * @returns {string}
     */
    get vaultId() {
        let deferred1_0;
        let deferred1_1;
        try {
            const ret = wasm.vaultkey_vaultId(this.__wbg_ptr);
            deferred1_0 = ret[0];
            deferred1_1 = ret[1];
            return getStringFromWasm0(ret[0], ret[1]);
        } finally {
            wasm.__wbindgen_free(deferred1_0, deferred1_1, 1);
        }
    }
    /**
     * The chain link (FORMAT §10) that wraps `older` (this version minus one) under this
     * key, made at a rotation.
     * @param {VaultKey} older
     * @returns {string}
     */
    wrapOlder(older) {
        let deferred2_0;
        let deferred2_1;
        try {
            _assertClass(older, VaultKey);
            const ret = wasm.vaultkey_wrapOlder(this.__wbg_ptr, older.__wbg_ptr);
            var ptr1 = ret[0];
            var len1 = ret[1];
            if (ret[3]) {
                ptr1 = 0; len1 = 0;
                throw takeFromExternrefTable0(ret[2]);
            }
            deferred2_0 = ptr1;
            deferred2_1 = len1;
            return getStringFromWasm0(ptr1, len1);
        } finally {
            wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
        }
    }
}
if (Symbol.dispose) VaultKey.prototype[Symbol.dispose] = VaultKey.prototype.free;

/**
 * The client's own Argon2 floor and ceiling (FORMAT §5.2: m = 19456 KiB, t = 2, p = 1 at
 * least), checked before any hashing: a server, or anyone between, that answers cheap
 * parameters gets no cheap hash to attack, and huge ones tie up nothing.
 * @param {number} m_cost_kib
 * @param {number} t_cost
 * @param {number} p_cost
 */
export function checkKdfParams(m_cost_kib, t_cost, p_cost) {
    const ret = wasm.checkKdfParams(m_cost_kib, t_cost, p_cost);
    if (ret[1]) {
        throw takeFromExternrefTable0(ret[0]);
    }
}

/**
 * Whether parameters `(m, t, p)` are below `(min_m, min_t, min_p)` in any component: the
 * "never below what this browser saw last for this username" check (END-TO-END §3).
 * @param {number} m
 * @param {number} t
 * @param {number} p
 * @param {number} min_m
 * @param {number} min_t
 * @param {number} min_p
 * @returns {boolean}
 */
export function kdfParamsBelow(m, t, p, min_m, min_t, min_p) {
    const ret = wasm.kdfParamsBelow(m, t, p, min_m, min_t, min_p);
    return ret !== 0;
}

/**
 * Every vector, `name -> value` (hex, base64url or text, as the document writes it),
 * as a JSON object.
 * @returns {string}
 */
export function knownAnswers() {
    let deferred2_0;
    let deferred2_1;
    try {
        const ret = wasm.knownAnswers();
        var ptr1 = ret[0];
        var len1 = ret[1];
        if (ret[3]) {
            ptr1 = 0; len1 = 0;
            throw takeFromExternrefTable0(ret[2]);
        }
        deferred2_0 = ptr1;
        deferred2_1 = len1;
        return getStringFromWasm0(ptr1, len1);
    } finally {
        wasm.__wbindgen_free(deferred2_0, deferred2_1, 1);
    }
}

/**
 * What is wrong with a vault, item or token name, or nothing: 1–256 characters, no
 * control characters, no invisible format characters (bidi overrides, zero-width
 * characters: a name must look like what it is).
 * @param {string} name
 * @returns {string | undefined}
 */
export function nameProblem(name) {
    const ptr0 = passStringToWasm0(name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
    const len0 = WASM_VECTOR_LEN;
    const ret = wasm.nameProblem(ptr0, len0);
    let v2;
    if (ret[0] !== 0) {
        v2 = getStringFromWasm0(ret[0], ret[1]);
        wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
    }
    return v2;
}

/**
 * What is wrong with `password` for `username`, or nothing: 12–1024 characters, not the
 * username, and a zxcvbn score of at least 3 for its first 64 characters (cut at the
 * 16th l33t character), the username and the service's own words counting as known.
 * @param {string} password
 * @param {string} username
 * @returns {string | undefined}
 */
export function passwordProblem(password, username) {
    let ptr0, len0, ptr1, len1;
    try {
        ptr0 = passStringToWasm0(password, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        len0 = WASM_VECTOR_LEN;
        ptr1 = passStringToWasm0(username, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        len1 = WASM_VECTOR_LEN;
    } catch (e) {
        if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
        if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
        throw e;
    }
    const ret = wasm.passwordProblem(ptr0, len0, ptr1, len1);
    let v3;
    if (ret[0] !== 0) {
        v3 = getStringFromWasm0(ret[0], ret[1]);
        wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
    }
    return v3;
}

/**
 * The X25519 public key (base64url) of a recovery code under `credential_id`: what a
 * recovery slot's `x25519_public` holds.
 * @param {string} code
 * @param {string} credential_id
 * @returns {string}
 */
export function recoveryPublicKey(code, credential_id) {
    let deferred4_0;
    let deferred4_1;
    try {
        let ptr0, len0, ptr1, len1;
        try {
            ptr0 = passStringToWasm0(code, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len0 = WASM_VECTOR_LEN;
            ptr1 = passStringToWasm0(credential_id, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
            len1 = WASM_VECTOR_LEN;
        } catch (e) {
            if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
            if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
            throw e;
        }
        const ret = wasm.recoveryPublicKey(ptr0, len0, ptr1, len1);
        var ptr3 = ret[0];
        var len3 = ret[1];
        if (ret[3]) {
            ptr3 = 0; len3 = 0;
            throw takeFromExternrefTable0(ret[2]);
        }
        deferred4_0 = ptr3;
        deferred4_1 = len3;
        return getStringFromWasm0(ptr3, len3);
    } finally {
        wasm.__wbindgen_free(deferred4_0, deferred4_1, 1);
    }
}

/**
 * Log in with a password: refuse parameters outside the floor and ceiling *before*
 * hashing, then Argon2id with the prelogin `salt` (base64url, 16 bytes) and the HKDF
 * split with `credential_id` (hex or base64url). Takes as long as Argon2id does.
 * @param {string} password
 * @param {string} credential_id
 * @param {string} salt
 * @param {number} m_cost_kib
 * @param {number} t_cost
 * @param {number} p_cost
 * @returns {Credential}
 */
export function unlockPassword(password, credential_id, salt, m_cost_kib, t_cost, p_cost) {
    const val4 = +m_cost_kib;
    const val5 = +t_cost;
    const val6 = +p_cost;
    let ptr0, len0, ptr1, len1, ptr2, len2;
    try {
        ptr0 = passStringToWasm0(password, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        len0 = WASM_VECTOR_LEN;
        ptr1 = passStringToWasm0(credential_id, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        len1 = WASM_VECTOR_LEN;
        ptr2 = passStringToWasm0(salt, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        len2 = WASM_VECTOR_LEN;
    } catch (e) {
        if (ptr2) { wasm.__wbindgen_free(ptr2, len2 * 1, 1); }
        if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
        if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
        throw e;
    }
    const ret = wasm.unlockPassword(ptr0, len0, ptr1, len1, ptr2, len2, val4, val5, val6);
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return Credential.__wrap(ret[0]);
}

/**
 * Recover with a recovery code the user typed and the recovery credential id the server
 * answered: the credential whose `auth` the recovery sends.
 * @param {string} code
 * @param {string} credential_id
 * @returns {Credential}
 */
export function unlockRecoveryCode(code, credential_id) {
    let ptr0, len0, ptr1, len1;
    try {
        ptr0 = passStringToWasm0(code, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        len0 = WASM_VECTOR_LEN;
        ptr1 = passStringToWasm0(credential_id, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
        len1 = WASM_VECTOR_LEN;
    } catch (e) {
        if (ptr1) { wasm.__wbindgen_free(ptr1, len1 * 1, 1); }
        if (ptr0) { wasm.__wbindgen_free(ptr0, len0 * 1, 1); }
        throw e;
    }
    const ret = wasm.unlockRecoveryCode(ptr0, len0, ptr1, len1);
    if (ret[2]) {
        throw takeFromExternrefTable0(ret[1]);
    }
    return Credential.__wrap(ret[0]);
}

/**
 * What is wrong with a username, or nothing: 3–128 letters, digits and `._@+-`.
 * @param {string} name
 * @returns {string | undefined}
 */
export function usernameProblem(name) {
    const ptr0 = passStringToWasm0(name, wasm.__wbindgen_malloc, wasm.__wbindgen_realloc);
    const len0 = WASM_VECTOR_LEN;
    const ret = wasm.usernameProblem(ptr0, len0);
    let v2;
    if (ret[0] !== 0) {
        v2 = getStringFromWasm0(ret[0], ret[1]);
        wasm.__wbindgen_free(ret[0], ret[1] * 1, 1);
    }
    return v2;
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_Error_208446807d0d1e30: function(arg0, arg1) {
            const ret = Error(getStringFromWasm0(arg0, arg1));
            return ret;
        },
        __wbg___wbindgen_throw_4c88d8bf264fd984: function(arg0, arg1) {
            throw new Error(getStringFromWasm0(arg0, arg1));
        },
        __wbg_getFullYear_94114da14f235fca: function(arg0) {
            const ret = arg0.getFullYear();
            return ret;
        },
        __wbg_getRandomValues_8b6f1f663e6f188d: function() { return handleError(function (arg0, arg1) {
            globalThis.crypto.getRandomValues(getArrayU8FromWasm0(arg0, arg1));
        }, arguments); },
        __wbg_new_0_36d738a0c8cfac43: function() {
            const ret = new Date();
            return ret;
        },
        __wbg_now_043d245551b22f9c: function(arg0) {
            const ret = arg0.now();
            return ret;
        },
        __wbg_static_accessor_performance_7f6ecf1ec56b9bbe: function() {
            const ret = performance;
            return ret;
        },
        __wbindgen_init_externref_table: function() {
            const table = wasm.__wbindgen_externrefs;
            table.set(0, undefined);
            table.set(1024, undefined);
            table.set(1025, null);
            table.set(1026, true);
            table.set(1027, false);
        },
    };
    return {
        __proto__: null,
        "./keyslot_wasm_bg.js": import0,
    };
}

const CredentialFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_credential_free(ptr, 1));
const E2eTokenFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_e2etoken_free(ptr, 1));
const IdentityKeyFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_identitykey_free(ptr, 1));
const IdentityPublicKeyFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_identitypublickey_free(ptr, 1));
const MemberListFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_memberlist_free(ptr, 1));
const NewPasswordFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_newpassword_free(ptr, 1));
const NewRecoveryCodeFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_newrecoverycode_free(ptr, 1));
const OpenedItemFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_openeditem_free(ptr, 1));
const SealedItemFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_sealeditem_free(ptr, 1));
const SealedTokenNameFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_sealedtokenname_free(ptr, 1));
const SessionUnlockFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_sessionunlock_free(ptr, 1));
const UserKeyFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_userkey_free(ptr, 1));
const UserKeyPairFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_userkeypair_free(ptr, 1));
const VaultKeyFinalization = (typeof FinalizationRegistry === 'undefined')
    ? { register: () => {}, unregister: () => {} }
    : new FinalizationRegistry(ptr => wasm.__wbg_vaultkey_free(ptr, 1));

function addToExternrefTable0(obj) {
    const idx = wasm.__externref_table_alloc();
    wasm.__wbindgen_externrefs.set(idx, obj);
    return idx;
}

function _assertClass(instance, klass) {
    if (!(instance instanceof klass)) {
        throw new Error(`expected instance of ${klass.name}`);
    }
}

function getArrayU8FromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return getUint8ArrayMemory0().subarray(ptr / 1, ptr / 1 + len);
}

function getStringFromWasm0(ptr, len) {
    ptr = ptr >>> 0;
    return decodeText(getUint8ArrayMemory0().subarray(ptr, ptr + len));
}

let cachedUint8ArrayMemory0 = null;
function getUint8ArrayMemory0() {
    if (cachedUint8ArrayMemory0 === null || cachedUint8ArrayMemory0.byteLength === 0) {
        cachedUint8ArrayMemory0 = new Uint8Array(wasm.memory.buffer);
    }
    return cachedUint8ArrayMemory0;
}

function handleError(f, args) {
    try {
        return f.apply(this, args);
    } catch (e) {
        const idx = addToExternrefTable0(e);
        wasm.__wbindgen_exn_store(idx);
    }
}

function passArray8ToWasm0(arg, malloc) {
    const ptr = malloc(arg.length * 1, 1) >>> 0;
    getUint8ArrayMemory0().set(arg, ptr / 1);
    WASM_VECTOR_LEN = arg.length;
    return ptr;
}

function passStringToWasm0(arg, malloc, realloc) {
    if (realloc === undefined) {
        const buf = cachedTextEncoder.encode(arg);
        const ptr = malloc(buf.length, 1) >>> 0;
        getUint8ArrayMemory0().subarray(ptr, ptr + buf.length).set(buf);
        WASM_VECTOR_LEN = buf.length;
        return ptr;
    }

    let len = arg.length;
    let ptr = malloc(len, 1) >>> 0;

    const mem = getUint8ArrayMemory0();

    let offset = 0;

    for (; offset < len; offset++) {
        const code = arg.charCodeAt(offset);
        if (code > 0x7F) break;
        mem[ptr + offset] = code;
    }
    if (offset !== len) {
        if (offset !== 0) {
            arg = arg.slice(offset);
        }
        ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
        const view = getUint8ArrayMemory0().subarray(ptr + offset, ptr + len);
        const ret = cachedTextEncoder.encodeInto(arg, view);

        offset += ret.written;
        ptr = realloc(ptr, len, offset, 1) >>> 0;
    }

    WASM_VECTOR_LEN = offset;
    return ptr;
}

function takeFromExternrefTable0(idx) {
    const value = wasm.__wbindgen_externrefs.get(idx);
    wasm.__externref_table_dealloc(idx);
    return value;
}

let cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
cachedTextDecoder.decode();
const MAX_SAFARI_DECODE_BYTES = 2146435072;
let numBytesDecoded = 0;
function decodeText(bytes) {
    numBytesDecoded += bytes.length;
    if (numBytesDecoded >= MAX_SAFARI_DECODE_BYTES) {
        cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
        cachedTextDecoder.decode();
        numBytesDecoded = bytes.length;
    }
    return cachedTextDecoder.decode(bytes);
}

const cachedTextEncoder = new TextEncoder();

if (!('encodeInto' in cachedTextEncoder)) {
    cachedTextEncoder.encodeInto = function (arg, view) {
        const buf = cachedTextEncoder.encode(arg);
        view.set(buf);
        return {
            read: arg.length,
            written: buf.length
        };
    };
}

let WASM_VECTOR_LEN = 0;

let wasmModule, wasmInstance, wasm;
function __wbg_finalize_init(instance, module) {
    wasmInstance = instance;
    wasm = instance.exports;
    wasmModule = module;
    cachedUint8ArrayMemory0 = null;
    wasm.__wbindgen_start();
    return wasm;
}

async function __wbg_load(module, imports) {
    if (typeof Response === 'function' && module instanceof Response) {
        if (!module.ok) {
            throw new Error(`failed to fetch Wasm: ${module.status} ${module.statusText} fetching '${module.url}'`);
        }

        if (typeof WebAssembly.instantiateStreaming === 'function') {
            try {
                return await WebAssembly.instantiateStreaming(module, imports);
            } catch (e) {
                const validResponse = expectedResponseType(module.type);

                if (validResponse && module.headers.get('Content-Type') !== 'application/wasm') {
                    console.warn("`WebAssembly.instantiateStreaming` failed because your server does not serve Wasm with `application/wasm` MIME type. Falling back to `WebAssembly.instantiate` which is slower. Original error:\n", e);

                } else { throw e; }
            }
        }

        const bytes = await module.arrayBuffer();
        return await WebAssembly.instantiate(bytes, imports);
    } else {
        const instance = await WebAssembly.instantiate(module, imports);

        if (instance instanceof WebAssembly.Instance) {
            return { instance, module };
        } else {
            return instance;
        }
    }

    function expectedResponseType(type) {
        switch (type) {
            case 'basic': case 'cors': case 'default': return true;
        }
        return false;
    }
}

function initSync(module) {
    if (wasm !== undefined) return wasm;


    if (module !== undefined) {
        if (Object.getPrototypeOf(module) === Object.prototype) {
            ({module} = module)
        } else {
            console.warn('using deprecated parameters for `initSync()`; pass a single object instead')
        }
    }

    const imports = __wbg_get_imports();
    if (!(module instanceof WebAssembly.Module)) {
        module = new WebAssembly.Module(module);
    }
    const instance = new WebAssembly.Instance(module, imports);
    return __wbg_finalize_init(instance, module);
}

let __wbg_init_promise;
async function __wbg_init(module_or_path) {
    if (wasm !== undefined) return wasm;
    if (__wbg_init_promise === undefined) {
        __wbg_init_promise = __wbg_init_once(module_or_path);
        __wbg_init_promise.catch(() => { __wbg_init_promise = undefined; });
    }
    return __wbg_init_promise;
}

async function __wbg_init_once(module_or_path) {

    if (module_or_path !== undefined) {
        if (Object.getPrototypeOf(module_or_path) === Object.prototype) {
            ({module_or_path} = module_or_path)
        } else {
            console.warn('using deprecated parameters for the initialization function; pass a single object instead')
        }
    }

    if (module_or_path === undefined) {
        module_or_path = new URL('keyslot_wasm_bg.wasm', import.meta.url);
    }
    const imports = __wbg_get_imports();

    if (typeof module_or_path === 'string' || (typeof Request === 'function' && module_or_path instanceof Request) || (typeof URL === 'function' && module_or_path instanceof URL)) {
        module_or_path = fetch(module_or_path);
    }

    const { instance, module } = await __wbg_load(await module_or_path, imports);

    return __wbg_finalize_init(instance, module);
}

export { initSync, __wbg_init as default };
