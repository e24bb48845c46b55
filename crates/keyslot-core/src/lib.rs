//! # keyslot-core
//!
//! Keyslot's use cases — accounts, sessions, vaults, items, tokens, audit — over two
//! joints: the [`Store`] trait (one implementation per database, in its own crate) and the
//! [`keyslot_crypto::SealKey`] trait. No HTTP and no SQL here: the server maps
//! [`Error`] to problem+json, the store crates map records to rows.
//!
//! Every request is authenticated into a [`Principal`] that holds the keys it unlocked
//! *for this request only*; they are zeroized when it drops. Nothing unwrapped is cached
//! across requests, so a revocation is effective on every instance at the next request.
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod client_store;
pub mod deposit_store;
pub mod e2e_lifecycle_store;
pub mod e2e_store;
mod error;
pub mod gate;
pub mod keystore;
pub mod memberstore;
pub mod model;
pub mod policy;
mod principal;
pub mod public_key_store;
mod service;
pub mod store;
pub mod sweeper;
pub mod user_key_store;

pub use error::{Error, FieldError, Result};
pub use principal::{ClientActor, Principal, TokenAccess};
pub use service::e2e_deposits;
pub use service::e2e_lifecycle;
pub use service::{
    Config, KeysRotated, Keyslot, StrengthCheckHook, check_seal_key, client_views, views,
};
pub use service::{e2e_accounts, e2e_recovery};
pub use store::{Store, StoreError};
