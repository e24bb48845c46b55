//! Attempt counters: admitted attempts are counted before they are evaluated; a shut key
//! refuses with the wait; a refusal counts nothing; a success clears and refunds.

use std::slice;

use keyslot_core::store::{Admission, AttemptLimit, AttemptRule, Store};

use super::fixtures::BACKOFF;

pub(super) fn budget(key: &[u8], limit: u32, window_secs: i64) -> AttemptLimit {
    AttemptLimit {
        key: key.to_vec(),
        rule: AttemptRule::Budget { limit, window_secs },
    }
}

pub(super) fn backoff(key: &[u8]) -> AttemptLimit {
    AttemptLimit {
        key: key.to_vec(),
        rule: AttemptRule::Backoff(BACKOFF),
    }
}

async fn admit(store: &dyn Store, limits: &[AttemptLimit], now: i64) -> Admission {
    store.admit_attempt(limits, now).await.unwrap()
}

const IN: Admission = Admission::Admitted;

const fn wait(retry_after: u64) -> Admission {
    Admission::Refused { retry_after }
}

check!(
    backoff_counts_admissions_and_a_success_clears,
    |store| async move {
        let key = backoff(b"\x02user-mac|network");
        for n in 1..=5 {
            assert_eq!(
                admit(store.as_ref(), slice::from_ref(&key), 1_000).await,
                IN,
                "{n}"
            );
        }
        // The fifth admission earned 1 s, in whole seconds through 1_001: the sixth, the
        // right password or not, waits.
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_000).await,
            wait(2)
        );
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_001).await,
            wait(1)
        );
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_002).await,
            IN
        );
        // The sixth earned 2 s, doubling: shut through 1_004.
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_003).await,
            wait(2)
        );
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_004).await,
            wait(1)
        );
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_005).await,
            IN
        );
        store
            .attempt_succeeded(&[key.key.as_slice()], b"none")
            .await
            .unwrap();
        for n in 1..=5 {
            assert_eq!(
                admit(store.as_ref(), slice::from_ref(&key), 1_005).await,
                IN,
                "after a success, {n} free again"
            );
        }
        // Forgotten `max_secs` after the last lock ends (1_007), counted afresh.
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_005).await,
            wait(2)
        );
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_907).await,
            IN
        );
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&key), 1_907).await,
            IN
        );
    }
);

check!(
    budgets_hold_for_their_window_and_a_refusal_counts_nothing,
    |store| async move {
        let net = budget(b"\x03network", 3, 60);
        let name = budget(b"\x01user-mac", 10, 3_600);
        for _ in 0..3 {
            assert_eq!(
                admit(store.as_ref(), &[name.clone(), net.clone()], 1_000).await,
                IN
            );
        }
        assert_eq!(
            admit(store.as_ref(), &[name.clone(), net.clone()], 1_000).await,
            wait(60)
        );
        assert_eq!(
            admit(store.as_ref(), &[name.clone(), net.clone()], 1_030).await,
            wait(30)
        );
        // Refused by the network, so the username counted none of those two: 7 remain.
        for n in 0..7 {
            assert_eq!(
                admit(store.as_ref(), slice::from_ref(&name), 1_030).await,
                IN,
                "{n}"
            );
        }
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&name), 1_030).await,
            wait(3_570)
        );
        // A new window.
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&net), 1_060).await,
            IN
        );
        // A success gives the network its attempt back and reopens it.
        for _ in 0..2 {
            assert_eq!(
                admit(store.as_ref(), slice::from_ref(&net), 1_061).await,
                IN
            );
        }
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&net), 1_061).await,
            wait(59)
        );
        store.attempt_succeeded(&[], &net.key).await.unwrap();
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&net), 1_061).await,
            IN
        );
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&net), 1_061).await,
            wait(59)
        );
    }
);

check!(ended_attempt_counters_are_swept, |store| async move {
    let net = budget(b"\x03swept", 3, 60);
    let other = budget(b"\x03kept", 3, 600);
    assert_eq!(
        admit(store.as_ref(), &[net.clone(), other.clone()], 1_000).await,
        IN
    );
    let swept = store.sweep_expired(1_060, 0).await.unwrap();
    assert_eq!(swept.attempt_counters, 1, "{swept:?}");
    assert_eq!(
        store
            .sweep_expired(1_060, 0)
            .await
            .unwrap()
            .attempt_counters,
        0
    );
    // The kept one still counts: two more, then shut.
    for _ in 0..2 {
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&other), 1_061).await,
            IN
        );
    }
    assert_eq!(
        admit(store.as_ref(), slice::from_ref(&other), 1_061).await,
        wait(539)
    );
});

check!(
    clearing_the_attempt_counters_reopens_every_key,
    |store| async move {
        // A shut back-off and a spent budget (what `keyslot seal migrate` finds at its end).
        let user = backoff(b"\x02clear-user|net");
        let net = budget(b"\x03clear-net", 1, 600);
        for _ in 0..6 {
            admit(store.as_ref(), slice::from_ref(&user), 1_000).await;
        }
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&net), 1_000).await,
            IN
        );
        assert!(matches!(
            admit(store.as_ref(), slice::from_ref(&user), 1_000).await,
            Admission::Refused { .. }
        ));
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&net), 1_000).await,
            wait(600)
        );
        assert_eq!(store.clear_attempt_counters().await.unwrap(), 2);
        // Both start again: five free on the back-off, one on the budget.
        for n in 1..=5 {
            assert_eq!(
                admit(store.as_ref(), slice::from_ref(&user), 1_000).await,
                IN,
                "{n}"
            );
        }
        assert_eq!(
            admit(store.as_ref(), slice::from_ref(&net), 1_000).await,
            IN
        );
        assert_eq!(store.clear_attempt_counters().await.unwrap(), 2);
        assert_eq!(store.clear_attempt_counters().await.unwrap(), 0);
    }
);
