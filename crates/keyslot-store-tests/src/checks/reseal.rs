//! Re-sealing password slots (`keyslot seal migrate`): every slot is listed once, in
//! pages, and replaced only where it still holds the bytes it was read with.

use keyslot_core::store::PasswordSlotReseal;

use super::fixtures::{account, audit};

check!(
    password_slots_page_through_every_user_once,
    |store| async move {
        let mut users = Vec::new();
        for name in ["ann", "bob", "cat", "dan", "eve"] {
            users.push(account(store.as_ref(), name).await.user);
        }
        users.sort_by_key(|u| *u.as_bytes());
        let (mut seen, mut after) = (Vec::new(), None);
        loop {
            let page = store.password_slots(after.as_ref(), 2).await.unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some(last.user_id);
            for slot in &page {
                assert_eq!(slot.slot, b"sealed password slot");
                seen.push(slot.user_id);
            }
        }
        assert_eq!(seen, users, "every user once, in id order");
    }
);

check!(reseal_replaces_only_unchanged_slots, |store| async move {
    let ann = account(store.as_ref(), "ann").await.user;
    let bob = account(store.as_ref(), "bob").await.user;
    // Bob changes his password after the migration read his slot.
    store
        .change_password(
            &bob,
            None,
            b"bob's new slot".to_vec(),
            false,
            None,
            false,
            audit(Some(&bob), "password.change"),
        )
        .await
        .unwrap();
    let reseal = |user, new: &[u8]| PasswordSlotReseal {
        user_id: user,
        old: b"sealed password slot".to_vec(),
        new: new.to_vec(),
    };
    let replaced = store
        .reseal_password_slots(&[reseal(ann, b"ann resealed"), reseal(bob, b"bob resealed")])
        .await
        .unwrap();
    assert_eq!(replaced, 1);
    assert_eq!(
        store.user(&ann).await.unwrap().unwrap().password_slot,
        b"ann resealed"
    );
    assert_eq!(
        store.user(&bob).await.unwrap().unwrap().password_slot,
        b"bob's new slot",
        "the password change wins over the re-seal"
    );
    // Running it again changes nothing (the migration resumes without harm).
    let again = store
        .reseal_password_slots(&[reseal(ann, b"ann resealed twice")])
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(
        store.user(&ann).await.unwrap().unwrap().password_slot,
        b"ann resealed"
    );
});
