//! The only source of randomness: the operating system's CSPRNG via `getrandom`
//! (on wasm32, the browser's `crypto.getRandomValues`).

use crate::{Error, Result};

/// `N` bytes from the OS random number generator.
pub(crate) fn array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| Error::Rng)?;
    Ok(out)
}
