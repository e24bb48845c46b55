//! [`MigratingSealKey`]: the server's seal key while password slots move from the key
//! file to the HSM.
//!
//! Each sealed record names its algorithm (id 1: the key file's XChaCha20-Poly1305,
//! id 2: the HSM's AES-256-GCM), so a record is opened by the key that made it, and a
//! login works whether `keyslot seal migrate` has reached that user yet or not. Every
//! new record (a sign-up, a password change, a slot upgraded at login) is sealed by the
//! HSM, so the number of key-file records only goes down.

use std::sync::Arc;

use keyslot_crypto::seal::MAC_LEN;
use keyslot_crypto::{Aad, Algorithm, Envelope, Error, LocalSealKey, MacLabel, SealKey};
use zeroize::Zeroizing;

/// Seals with the HSM; opens with whichever key made the record. See the module docs.
#[derive(Debug)]
pub struct MigratingSealKey {
    hsm: Arc<dyn SealKey>,
    file: Option<LocalSealKey>,
}

impl MigratingSealKey {
    /// The HSM key, and the key file whose records are still to move (if any remain, or
    /// the database's seal check was written with it).
    pub fn new(hsm: Arc<dyn SealKey>, file: Option<LocalSealKey>) -> Self {
        Self { hsm, file }
    }
}

impl SealKey for MigratingSealKey {
    fn seal(&self, aad: &Aad, plaintext: &[u8]) -> keyslot_crypto::Result<Envelope> {
        self.hsm.seal(aad, plaintext)
    }

    fn open(&self, aad: &Aad, envelope: &Envelope) -> keyslot_crypto::Result<Zeroizing<Vec<u8>>> {
        match (envelope.algorithm(), &self.file) {
            (Algorithm::XChaCha20Poly1305, Some(file)) => file.open(aad, envelope),
            (Algorithm::XChaCha20Poly1305, None) => Err(Error::Decrypt),
            _ => self.hsm.open(aad, envelope),
        }
    }

    /// MACs come from the HSM's keys: they are what the server computes from now on.
    fn mac(&self, label: MacLabel, data: &[u8]) -> keyslot_crypto::Result<[u8; MAC_LEN]> {
        self.hsm.mac(label, data)
    }

    fn fingerprint(&self) -> String {
        match &self.file {
            Some(file) => format!(
                "{} (and key file {})",
                self.hsm.fingerprint(),
                file.fingerprint()
            ),
            None => self.hsm.fingerprint(),
        }
    }
}
