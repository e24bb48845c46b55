//! Login limits: failed-login counting and back-off, per account and per address.

use super::fixtures::{BACKOFF, account, audit, record_login, session};

check!(
    failed_logins_back_off_and_success_resets,
    |store| async move {
        let a = account(store.as_ref(), "dave").await;
        for n in 1..=4 {
            let lock = store
                .record_login_failure(
                    Some(&a.user),
                    "10.0.0.1",
                    BACKOFF,
                    audit(Some(&a.user), "login"),
                )
                .await
                .unwrap();
            assert_eq!(lock, None, "no lock after {n} failures");
        }
        let lock = store
            .record_login_failure(
                Some(&a.user),
                "10.0.0.1",
                BACKOFF,
                audit(Some(&a.user), "login"),
            )
            .await
            .unwrap();
        assert_eq!(lock, Some(1_001), "1 s after the fifth failure");
        let lock = store
            .record_login_failure(
                Some(&a.user),
                "10.0.0.1",
                BACKOFF,
                audit(Some(&a.user), "login"),
            )
            .await
            .unwrap();
        assert_eq!(lock, Some(1_002), "doubling");
        let u = store.user(&a.user).await.unwrap().unwrap();
        assert_eq!((u.failed_logins, u.locked_until), (6, Some(1_002)));
        record_login(
            store.as_ref(),
            session(&a.user, 2_000),
            None,
            audit(Some(&a.user), "login"),
        )
        .await
        .unwrap();
        let u = store.user(&a.user).await.unwrap().unwrap();
        assert_eq!((u.failed_logins, u.locked_until), (0, None));
    }
);

check!(ip_failures_are_counted_per_address, |store| async move {
    for _ in 0..3 {
        store
            .record_login_failure(None, "192.0.2.7", BACKOFF, audit(None, "login"))
            .await
            .unwrap();
    }
    store
        .record_login_failure(None, "192.0.2.8", BACKOFF, audit(None, "login"))
        .await
        .unwrap();
    assert_eq!(store.ip_failures("192.0.2.7", 900).await.unwrap(), 3);
    assert_eq!(store.ip_failures("192.0.2.8", 900).await.unwrap(), 1);
    assert_eq!(
        store.ip_failures("192.0.2.7", 1_001).await.unwrap(),
        0,
        "outside the window"
    );
});
