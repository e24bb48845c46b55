//! One logged-in PKCS#11 session, reopened after the HSM goes away and comes back.
//!
//! PKCS#11 sessions die with the device (a network HSM restarting, a token pulled, a
//! SoftHSM token directory removed): every call then fails until a new session is opened
//! and logged in. [`Conn::run`] does that transparently: an operation that fails is retried
//! once on a fresh session. If no fresh session can be opened (and the keys found again),
//! the HSM is *unavailable* — a transient state the service answers with 503. If a fresh
//! session opens and the operation fails again, the HSM is there and refused this input
//! (a tampered record): that is the operation's own failure, not an outage.
//!
//! One session, behind a mutex: a PKCS#11 session must not be used by two threads at
//! once, and seal operations are rare and short (one per password login, next to a
//! 19 MiB Argon2id that dominates).

use std::sync::{Mutex, MutexGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use secrecy::SecretString;

use crate::keys::{self, Handles};
use crate::{Error, Pkcs11Config, Result};

/// How an operation through [`Conn::run`] failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No session could be opened and logged in, or the keys were not found: the HSM is
    /// away. Logged by the caller without the PIN.
    Unavailable(Error),
    /// The HSM answered and refused the operation (with a fresh session too).
    Refused(CkError),
}

/// A logged-in session and the key handles found through it.
pub(crate) struct Live {
    pub(crate) session: Session,
    pub(crate) handles: Handles,
}

pub(crate) struct Conn {
    module: std::path::PathBuf,
    token: String,
    key: String,
    pin: SecretString,
    state: Mutex<State>,
}

struct State {
    ctx: Option<Pkcs11>,
    live: Option<Live>,
}

impl Conn {
    /// Load the module, open a session, log in and find the keys; every failure is an
    /// error that names what was wrong (the operator sees it at start).
    pub(crate) fn open(config: Pkcs11Config) -> Result<(Self, Handles)> {
        let ctx = load(&config.module)?;
        let live = connect(&ctx, &config.token, &config.key, &config.pin)?;
        let handles = live.handles.clone();
        let conn = Self {
            module: config.module,
            token: config.token,
            key: config.key,
            pin: config.pin,
            state: Mutex::new(State {
                ctx: Some(ctx),
                live: Some(live),
            }),
        };
        Ok((conn, handles))
    }

    /// Run `op` on a logged-in session; on failure, reconnect once and retry.
    pub(crate) fn run<T>(
        &self,
        op: impl Fn(&Session, &Handles) -> cryptoki::error::Result<T>,
    ) -> Result<T, Failure> {
        let mut state = self.lock();
        if let Some(live) = &state.live {
            match op(&live.session, &live.handles) {
                Ok(out) => return Ok(out),
                Err(e) => tracing::debug!(error = %e, "PKCS#11 operation failed; reconnecting"),
            }
        }
        state.live = None;
        let live = self.reconnect(&mut state).map_err(Failure::Unavailable)?;
        let out = op(&live.session, &live.handles).map_err(Failure::Refused);
        state.live = Some(live);
        out
    }

    fn reconnect(&self, state: &mut State) -> Result<Live> {
        let ctx = match &state.ctx {
            Some(ctx) => ctx.clone(),
            None => {
                let ctx = load(&self.module)?;
                state.ctx = Some(ctx.clone());
                ctx
            }
        };
        match connect(&ctx, &self.token, &self.key, &self.pin) {
            Ok(live) => Ok(live),
            Err(first) => {
                // A module that lost its state (a restarted HSM daemon, a rescanned token
                // directory) may need C_Finalize and C_Initialize before it sees the token
                // again; do that once per failed reconnect.
                state.ctx = None;
                let _ = ctx.finalize();
                let ctx = load(&self.module).map_err(|_| first)?;
                state.ctx = Some(ctx.clone());
                connect(&ctx, &self.token, &self.key, &self.pin)
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written (each field
        // is replaced whole), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Load and initialise a PKCS#11 module. A module already initialised by this process
/// (a second context in one process, as the tests make) is fine.
pub(crate) fn load(module: &std::path::Path) -> Result<Pkcs11> {
    let failed = |reason: String| Error::Module {
        module: module.display().to_string(),
        reason,
    };
    let ctx = Pkcs11::new(module).map_err(|e| failed(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(ctx),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// The slot holding the initialised token labelled `token`.
pub(crate) fn find_token(ctx: &Pkcs11, token: &str) -> Result<Slot> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| pkcs11("listing slots", &e))?;
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| pkcs11("reading token info", &e))?;
        if info.label().trim_end() == token {
            return Ok(slot);
        }
    }
    Err(Error::NoToken(token.to_owned()))
}

/// Open a session on `token` and log the user in.
pub(crate) fn login(ctx: &Pkcs11, token: &str, pin: &SecretString, rw: bool) -> Result<Session> {
    let slot = find_token(ctx, token)?;
    let session = if rw {
        ctx.open_rw_session(slot)
    } else {
        ctx.open_ro_session(slot)
    }
    .map_err(|e| pkcs11("opening a session", &e))?;
    match session.login(UserType::User, Some(pin)) {
        // Login state is per application: another session of this process logged in.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(Error::Login {
            token: token.to_owned(),
            reason: rv(&e),
        }),
    }
}

fn connect(ctx: &Pkcs11, token: &str, key: &str, pin: &SecretString) -> Result<Live> {
    let session = login(ctx, token, pin, false)?;
    let handles = keys::find(&session, token, key)?;
    Ok(Live { session, handles })
}

/// A PKCS#11 failure as an [`Error`], naming the return code only.
pub(crate) fn pkcs11(what: &'static str, e: &CkError) -> Error {
    Error::Pkcs11 {
        what,
        reason: rv(e),
    }
}

/// The return code's name (`CKR_PIN_INCORRECT` reads `PinIncorrect`), without the
/// paragraph-long description `Display` gives.
pub(crate) fn rv(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => format!("{rv:?} from {function:?}"),
        other => other.to_string(),
    }
}
