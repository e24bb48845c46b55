//! The audit log: per user, newest first.

use super::fixtures::{account, audit, id, vault_record};

check!(audit_is_per_user_newest_first, |store| async move {
    let a = account(store.as_ref(), "rupert").await;
    let b = account(store.as_ref(), "sybil").await;
    store
        .append_audit(&[
            audit(Some(&a.user), "item.read"),
            audit(Some(&b.user), "item.read"),
            audit(Some(&a.user), "item.read"),
        ])
        .await
        .unwrap();
    store
        .create_vault(
            vault_record(&a.user, id()),
            audit(Some(&a.user), "vault.create"),
        )
        .await
        .unwrap();
    let events = store.audit_events(&a.user, 10).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["vault.create", "item.read", "item.read", "signup"]
    );
    assert!(events.iter().all(|e| e.user_id == Some(a.user)));
    assert_eq!(store.audit_events(&a.user, 2).await.unwrap().len(), 2);
});
