//! The checks, one file per subject (the subject of a check is its file's name). Each
//! `check!` in these files defines one check and registers it; see the crate's docs.

mod accounts;
mod audit;
mod concurrency;
mod deposit_readers;
mod deposits;
mod e2e_accounts;
mod e2e_lifecycle;
mod fixtures;
mod items;
mod keys;
mod limits;
mod members;
mod meta;
mod public_keys;
mod reseal;
mod rewrap;
mod sessions;
mod star_tokens;
mod sweep;
mod tokens;
mod user_keys;
mod vaults;
mod writers_and_holders;
