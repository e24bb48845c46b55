//! Seal-key calls off the async runtime, bounded in number and in time.
//!
//! With a PKCS#11 HSM every seal, open and MAC is a call into the HSM's library, which
//! blocks its thread for as long as the HSM takes to answer, or to be declared gone (a
//! network HSM's timeouts run to minutes), and the library serialises calls on its one
//! session. Made on a tokio worker, a few logins against a stuck HSM would stop every
//! worker, and with them token reads, which never touch the seal key. So each seal-key
//! call a request makes runs on the blocking pool, at most [`IN_FLIGHT`] at once, and the
//! request waits for it at most [`Config::seal_call_timeout`]; then it is answered 503
//! with `Retry-After`, like an HSM that reports itself away. A call that timed out runs
//! on to its end on its thread and keeps its place until then, so a stuck HSM ties up at
//! most [`IN_FLIGHT`] threads, and further calls wait for a place within their own
//! timeout.
//!
//! With a key file the calls take microseconds; the hop to the blocking pool adds a few
//! more to a login, which spends tens of milliseconds in Argon2.
//!
//! [`Config::seal_call_timeout`]: super::Config::seal_call_timeout

use std::sync::Arc;
use std::time::Duration;

use keyslot_crypto::SealKey;
use tokio::sync::Semaphore;

use crate::{Error, Result};

/// Seal-key calls running at once, at most.
const IN_FLIGHT: usize = 16;
/// `Retry-After` of a call that timed out, in seconds.
const RETRY_AFTER_SECS: u64 = 5;

/// The seal key, called through the blocking pool.
#[derive(Debug, Clone)]
pub(crate) struct SealCalls {
    seal: Arc<dyn SealKey>,
    places: Arc<Semaphore>,
    timeout: Duration,
    hook: Option<super::StrengthCheckHook>,
}

impl SealCalls {
    pub(crate) fn new(
        seal: Arc<dyn SealKey>,
        timeout: Duration,
        hook: Option<super::StrengthCheckHook>,
    ) -> Self {
        Self {
            seal,
            places: Arc::new(Semaphore::new(IN_FLIGHT)),
            timeout,
            hook,
        }
    }

    /// Run `call` with the seal key on the blocking pool; [`Error::Unavailable`] if it has
    /// not answered within the timeout (waiting for a place included).
    pub(crate) async fn run<T, F>(&self, call: F) -> Result<T>
    where
        F: FnOnce(&dyn SealKey) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let seal = self.seal.clone();
        let places = self.places.clone();
        let hook = self.hook.clone();
        let job = async move {
            let place = places
                .acquire_owned()
                .await
                .map_err(|_| Error::Internal("the seal-key calls were closed".into()))?;
            tokio::task::spawn_blocking(move || {
                // Held until the call returns, however long the request waited for it.
                let _place = place;
                if let Some(hook) = hook {
                    (hook.0)();
                }
                call(seal.as_ref())
            })
            .await
            .map_err(|e| Error::Internal(format!("a seal-key call failed: {e}")))?
        };
        match tokio::time::timeout(self.timeout, job).await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::warn!(
                    timeout_ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
                    "the seal key did not answer in time (is the HSM slow or away?): 503"
                );
                Err(Error::Unavailable {
                    retry_after: RETRY_AFTER_SECS,
                })
            }
        }
    }
}

impl super::Keyslot {
    /// Open `user`'s stored password slot with the seal key, off the runtime.
    pub(super) async fn unseal_password_slot(
        &self,
        user: &crate::model::UserRecord,
    ) -> Result<keyslot_crypto::PasswordSlot> {
        let (bytes, id, credential) = (
            user.password_slot.clone(),
            user.id,
            user.password_credential,
        );
        self.seal_calls
            .run(move |seal| {
                Ok(
                    keyslot_crypto::SealedPasswordSlot::from_bytes(&bytes)?.unseal(
                        seal,
                        &id,
                        &credential,
                    )?,
                )
            })
            .await
    }

    /// Seal a password slot for storage, off the runtime: the bytes to store.
    pub(super) async fn seal_password_slot(
        &self,
        slot: keyslot_crypto::PasswordSlot,
        user: keyslot_crypto::Id,
        credential: keyslot_crypto::Id,
    ) -> Result<Vec<u8>> {
        self.seal_calls
            .run(move |seal| Ok(slot.seal(seal, &user, &credential)?.to_bytes()))
            .await
    }
}
