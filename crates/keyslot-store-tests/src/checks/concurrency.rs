//! Concurrent calls: what holds for one call at a time holds when calls really overlap.
//!
//! Each check races [`RACERS`] calls through a [`Gated`] store, which lets them into the
//! real store at the same instant. Before that, it races as many pings, so that a pooled
//! store has a connection open for each caller and the calls meet in the database rather
//! than queue for connections (where the first would finish before the last began).
//!
//! Both matter. Against the PostgreSQL store that read the recovery code's id and then
//! wrote without a lock (since replaced), the recovery check failed 10 runs of 20 with
//! plainly spawned tasks, 14 of 20 with the gate alone, and 31 of 31 with the gate and the
//! pings (then most often with all 8 recoveries "succeeding").

use std::future::Future;
use std::sync::Arc;

use keyslot_core::model::RecoveryRecord;
use keyslot_core::store::{Admission, Store, StoreError, StoreResult};

use super::fixtures::{account, audit, id, item, mint_scoped, record_login, session};
use super::limits::{backoff, budget};
use crate::{Gate, Gated};

/// How many calls each check races.
const RACERS: u32 = 8;

/// Make every call of `calls` at the same instant, each with a store gated on `gate`;
/// their results, in the order of `calls`.
async fn race<T, F, Fut>(store: &Arc<dyn Store>, gate: Gate, calls: Vec<F>) -> Vec<StoreResult<T>>
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = StoreResult<T>> + Send + 'static,
    T: Send + 'static,
{
    let gated: Arc<dyn Store> = Arc::new(Gated::new(
        Arc::clone(store),
        calls.len(),
        &[Gate::Ping, gate],
    ));
    let pings: Vec<_> = (0..calls.len())
        .map(|_| {
            let s = Arc::clone(&gated);
            tokio::spawn(async move { s.ping().await })
        })
        .collect();
    for ping in pings {
        ping.await.unwrap().unwrap();
    }
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|call| tokio::spawn(call(Arc::clone(&gated))))
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// The index of the one call that succeeded, after asserting that every other was refused
/// with [`StoreError::Conflict`].
fn sole_winner(results: &[StoreResult<()>], what: &str) -> usize {
    let winners: Vec<usize> = (0..results.len()).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(
        winners.len(),
        1,
        "{what}: {} of {} concurrent calls succeeded, exactly one may: {results:?}",
        winners.len(),
        results.len()
    );
    for (i, result) in results.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(result, &Err(StoreError::Conflict), "{what}: call {i}");
        }
    }
    winners[0]
}

// One recovery code, used by several requests at once (its owner and whoever else has it,
// or a double submit): one recovery happens. Were two to succeed, each caller would be told
// its new password and new recovery code work, and only the last writer's would.
check!(
    concurrent_recoveries_with_one_code_exactly_one_wins,
    |store| async move {
        let a = account(store.as_ref(), "oscar").await;
        let s = session(&a.user, 10);
        record_login(
            store.as_ref(),
            s.clone(),
            None,
            audit(Some(&a.user), "login"),
        )
        .await
        .unwrap();
        let attempts: Vec<(Vec<u8>, RecoveryRecord)> = (0..RACERS)
            .map(|i| {
                let slot = format!("password slot of recovery {i}").into_bytes();
                let rc = RecoveryRecord {
                    user_id: a.user,
                    credential_id: id(),
                    verifier: vec![7; 32],
                    wrapped_user_key: format!("new rc {i}").into_bytes(),
                };
                (slot, rc)
            })
            .collect();
        let calls = attempts
            .iter()
            .cloned()
            .map(|(slot, rc)| {
                let (user, code) = (a.user, a.recovery);
                move |s: Arc<dyn Store>| async move {
                    s.recover(
                        &user,
                        &code,
                        None,
                        slot,
                        rc,
                        false,
                        audit(Some(&user), "recover"),
                    )
                    .await
                }
            })
            .collect();
        let results = race(&store, Gate::Recover, calls).await;
        let winner = sole_winner(&results, "recover with one code");

        let (slot, rc) = &attempts[winner];
        assert_eq!(
            &store.user(&a.user).await.unwrap().unwrap().password_slot,
            slot,
            "the password slot is the winner's"
        );
        let stored = store.recovery(&a.user).await.unwrap().unwrap();
        assert_eq!(
            (stored.credential_id, &stored.wrapped_user_key),
            (rc.credential_id, &rc.wrapped_user_key),
            "the recovery slot is the winner's"
        );
        assert!(store.session(&s.id).await.unwrap().is_none());
        let events = store.audit_events(&a.user, 100).await.unwrap();
        assert_eq!(
            events.iter().filter(|e| e.action == "recover").count(),
            1,
            "one recovery happened, and the activity log says so once"
        );
        let again = RecoveryRecord {
            credential_id: id(),
            ..rc.clone()
        };
        assert_eq!(
            store
                .recover(
                    &a.user,
                    &a.recovery,
                    None,
                    b"late".to_vec(),
                    again,
                    false,
                    audit(Some(&a.user), "recover")
                )
                .await,
            Err(StoreError::Conflict),
            "the code is spent"
        );
    }
);

// Several clients saving one item from the same version (one If-Match): one save lands,
// the others are told of the conflict; none is lost silently.
check!(
    concurrent_item_updates_on_one_version_exactly_one_wins,
    |store| async move {
        let a = account(store.as_ref(), "peggy").await;
        store
            .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
            .await
            .unwrap();
        for round in 0..3u64 {
            let version = round + 2;
            let values: Vec<Vec<u8>> = (0..RACERS)
                .map(|i| format!("round {round}, writer {i}").into_bytes())
                .collect();
            let calls = values
                .iter()
                .map(|value| {
                    let (next, user) = (item(&a, version, value), a.user);
                    move |s: Arc<dyn Store>| async move {
                        s.update_item(next, audit(Some(&user), "item.update")).await
                    }
                })
                .collect();
            let results = race(&store, Gate::UpdateItem, calls).await;
            let winner = sole_winner(&results, &format!("round {round}: update_item"));
            let got = store
                .item(&a.user, &a.vault, &item(&a, 1, b"").id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (got.version, &got.value),
                (version, &values[winner]),
                "round {round}: the item is the winner's"
            );
        }
        let events = store.audit_events(&a.user, 100).await.unwrap();
        assert_eq!(
            events.iter().filter(|e| e.action == "item.update").count(),
            3,
            "one update per round is recorded"
        );
    }
);

// Instances flush token uses in batches, in no particular order: a token's last use only
// ever moves forward, whichever flush lands last.
check!(
    concurrent_token_uses_never_move_last_use_back,
    |store| async move {
        let a = account(store.as_ref(), "quentin").await;
        let t = mint_scoped(store.as_ref(), &a).await;
        for round in 0..3 {
            let base = 100 * (round + 1);
            let calls = (0..RACERS)
                .map(|i| {
                    let at = base + i64::from(i);
                    move |s: Arc<dyn Store>| async move { s.mark_tokens_used(&[(t, at)]).await }
                })
                .collect();
            let results = race(&store, Gate::MarkTokensUsed, calls).await;
            assert!(
                results.iter().all(Result::is_ok),
                "round {round}: {results:?}"
            );
            assert_eq!(
                store.token(&t).await.unwrap().unwrap().last_used_at,
                Some(base + i64::from(RACERS) - 1),
                "round {round}: the newest use"
            );
        }
    }
);

// Instances batch the uses of many tokens, each in its own order: every batch lands (a
// store that takes row locks in batch order can deadlock here, and lose a batch), and each
// token ends at its newest use.
check!(
    concurrent_token_use_batches_in_any_order_all_land,
    |store| async move {
        let a = account(store.as_ref(), "sybil").await;
        let t1 = mint_scoped(store.as_ref(), &a).await;
        let t2 = mint_scoped(store.as_ref(), &a).await;
        let calls = (0..RACERS)
            .map(|i| {
                let at = 100 + i64::from(i);
                let batch = if i % 2 == 0 {
                    vec![(t1, at), (t2, at)]
                } else {
                    vec![(t2, at), (t1, at)]
                };
                move |s: Arc<dyn Store>| async move { s.mark_tokens_used(&batch).await }
            })
            .collect();
        let results = race(&store, Gate::MarkTokensUsed, calls).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        for t in [t1, t2] {
            assert_eq!(
                store.token(&t).await.unwrap().unwrap().last_used_at,
                Some(100 + i64::from(RACERS) - 1)
            );
        }
    }
);

// A guesser sending many guesses at once, on as many instances: each is counted as it is
// admitted, so no more are evaluated than the budget allows. Were the check and the count
// two statements, all of them could read "under budget" before any counted.
check!(
    concurrent_admissions_never_pass_a_limit,
    |store| async move {
        for (what, limit, admitted) in [
            ("a budget of 4", budget(b"\x03racing network", 4, 60), 4),
            ("a back-off free for 5", backoff(b"\x02racing user|net"), 5),
        ] {
            let calls = (0..RACERS)
                .map(|_| {
                    let limit = limit.clone();
                    move |s: Arc<dyn Store>| async move { s.admit_attempt(&[limit], 1_000).await }
                })
                .collect();
            let results = race(&store, Gate::AdmitAttempt, calls).await;
            let results: Vec<Admission> = results.into_iter().map(Result::unwrap).collect();
            let passed = results
                .iter()
                .filter(|r| **r == Admission::Admitted)
                .count();
            assert_eq!(passed, admitted, "{what}: {results:?}");
            assert!(
                results
                    .iter()
                    .all(|r| matches!(r, Admission::Admitted | Admission::Refused { .. })),
                "{what}"
            );
            assert_eq!(
                store.admit_attempt(&[limit], 1_000).await.unwrap(),
                results
                    .iter()
                    .copied()
                    .find(|r| *r != Admission::Admitted)
                    .unwrap(),
                "{what}: still shut, with the same wait"
            );
        }
    }
);

check!(concurrent_writers_exactly_one_wins, |store| async move {
    let a = account(store.as_ref(), "niaj").await;
    store
        .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    // Gated, so that the two writers reach the store together in every round.
    let gated: Arc<dyn Store> = Arc::new(Gated::new(Arc::clone(&store), 2, &[Gate::UpdateItem]));
    for round in 0..5u64 {
        let version = round + 2;
        let (s1, s2) = (gated.clone(), gated.clone());
        let (i1, i2) = (
            item(&a, version, b"writer one"),
            item(&a, version, b"writer two"),
        );
        // The vault's owner writes (an item write commits only for a writing member).
        let writer = a.user;
        let (r1, r2) = tokio::join!(
            tokio::spawn(async move {
                s1.update_item(i1, audit(Some(&writer), "item.update"))
                    .await
            }),
            tokio::spawn(async move {
                s2.update_item(i2, audit(Some(&writer), "item.update"))
                    .await
            }),
        );
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        assert!(
            matches!(
                (&r1, &r2),
                (Ok(()), Err(StoreError::Conflict)) | (Err(StoreError::Conflict), Ok(()))
            ),
            "round {round}: {r1:?} {r2:?}"
        );
        let got = store
            .item(&a.user, &a.vault, &item(&a, 1, b"").id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.version, version);
        let winner: &[u8] = if r1.is_ok() {
            b"writer one"
        } else {
            b"writer two"
        };
        assert_eq!(got.value, winner);
    }
});
