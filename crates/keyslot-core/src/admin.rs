//! Operator use cases that need the database but no key: listing and disabling accounts.
//! (`keyslot user …` runs these on the server's machine.)

use crate::model::{Outcome, UserRecord};
use crate::service::{event, now};
use crate::store::Store;
use crate::{Error, Result};

/// Every account, oldest first.
pub async fn users(store: &dyn Store) -> Result<Vec<UserRecord>> {
    Ok(store.users().await?)
}

/// Disable or re-enable an account. Disabling ends its sessions at once and stops its
/// tokens while it lasts; nothing is deleted, so re-enabling restores access. Audited.
pub async fn set_user_disabled(store: &dyn Store, username: &str, disabled: bool) -> Result<()> {
    let user = store.user_by_name(username).await?.ok_or(Error::NotFound)?;
    let action = if disabled {
        "user.disable"
    } else {
        "user.enable"
    };
    let audit = event(
        Some(&user.id),
        action,
        "operator".into(),
        Outcome::Ok,
        String::new(),
    );
    store
        .set_user_disabled(&user.id, disabled.then(now), audit)
        .await?;
    Ok(())
}
