//! The CLI's saved login: `<config dir>/keyslot/session.json` (or `$KEYSLOT_CONFIG_DIR`),
//! created with mode 0600 in a 0700 directory, replaced atomically. It holds the session
//! credential and its CSRF token, which expire with the session (12 h at most); `keyslot
//! logout` ends the session on the server and deletes the file.
//!
//! For an end-to-end account it also holds the session's *unlock secret*
//! (END-TO-END.md §4): it opens the user key the session stored on the server, wrapped
//! by this client, so later commands need no password. The server never sees it; the
//! file's mode is what keeps it, as it keeps the session credential.

use std::fs;
use std::io::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::exit::{AUTH, CmdResult, Failure, OTHER};

/// What is saved.
#[derive(Serialize, Deserialize)]
pub struct Saved {
    /// The server it belongs to.
    pub addr: String,
    /// The username (for messages).
    pub username: String,
    /// The `kss_…` credential.
    pub session: String,
    /// Its CSRF token.
    pub csrf: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// An end-to-end account's session.
    #[serde(default)]
    pub end_to_end: bool,
    /// The end-to-end session's unlock secret (`UnlockSecret::to_text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlock_secret: Option<String>,
}

impl Drop for Saved {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.session);
        zeroize::Zeroize::zeroize(&mut self.csrf);
        if let Some(secret) = &mut self.unlock_secret {
            zeroize::Zeroize::zeroize(secret);
        }
    }
}

/// The configuration directory (`$KEYSLOT_CONFIG_DIR`, or the platform's).
pub fn dir() -> CmdResult<PathBuf> {
    if let Some(dir) = std::env::var_os("KEYSLOT_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    dirs::config_dir()
        .map(|d| d.join("keyslot"))
        .ok_or_else(|| Failure::new(OTHER, "no configuration directory: set KEYSLOT_CONFIG_DIR"))
}

fn path() -> CmdResult<PathBuf> {
    Ok(dir()?.join("session.json"))
}

/// Save a login, readable by this user only.
pub fn save(saved: &Saved) -> CmdResult {
    let dir = dir()?;
    private_dir(&dir)?;
    let tmp = dir.join(".session.json.tmp");
    let _ = fs::remove_file(&tmp);
    let text = Zeroizing::new(
        serde_json::to_vec_pretty(saved).map_err(|e| Failure::new(OTHER, e.to_string()))?,
    );
    let mut file = create_private(&tmp)?;
    file.write_all(&text)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join("session.json"))?;
    Ok(())
}

/// The saved login, if any.
pub fn load() -> CmdResult<Option<Saved>> {
    let path = path()?;
    match fs::read(&path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            serde_json::from_slice(&bytes).map(Some).map_err(|_| {
                Failure::new(
                    AUTH,
                    format!("{} is damaged: run `keyslot login` again", path.display()),
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The saved login for `addr`; an error that says what to do when there is none, or it
/// is for another server.
pub fn load_for(addr: &str) -> CmdResult<Saved> {
    let saved = load()?.ok_or_else(|| {
        Failure::new(
            AUTH,
            "not logged in: run `keyslot login USERNAME`, or set KEYSLOT_TOKEN",
        )
    })?;
    if saved.addr.trim_end_matches('/') != addr.trim_end_matches('/') {
        return Err(Failure::new(
            AUTH,
            format!(
                "the saved login is for {}, not {addr}: run `keyslot login` against this server",
                saved.addr
            ),
        ));
    }
    Ok(saved)
}

/// Forget the saved login.
pub fn remove() -> CmdResult<bool> {
    match fs::remove_file(path()?) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Create `dir` if needed, and make it this user's only (0700).
pub fn private_dir(dir: &std::path::Path) -> CmdResult {
    fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Create a new file with mode 0600 (on Unix) from the first byte.
pub fn create_private(path: &std::path::Path) -> CmdResult<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    Ok(options.open(path)?)
}

#[cfg(unix)]
fn restrict(dir: &std::path::Path, mode: u32) -> CmdResult {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_: &std::path::Path, _: u32) -> CmdResult {
    Ok(())
}
