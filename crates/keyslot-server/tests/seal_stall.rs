//! A seal key that does not answer (an HSM that hangs rather than reporting itself away)
//! costs password logins and nothing else: they are answered 503 with `Retry-After` once
//! the seal-key call timeout passes, while token reads, which never need the seal key,
//! keep being answered. Seal-key calls run on the blocking pool; made on the async
//! runtime's workers, a few stuck logins would stop every request.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

#[derive(Default)]
struct Hold {
    armed: AtomicBool,
    held: AtomicUsize,
    released: Mutex<bool>,
    wake: Condvar,
}

impl Hold {
    fn release(&self) {
        *self.released.lock().unwrap() = true;
        self.wake.notify_all();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_seal_key_answers_logins_503_and_token_reads_go_on() {
    let hold = Arc::new(Hold::default());
    let hook_hold = hold.clone();
    let s = TestServer::start_with(move |c| {
        c.core.seal_call_timeout = Duration::from_millis(300);
        c.core.seal_call_hook = Some(keyslot_core::StrengthCheckHook(Arc::new(move || {
            if !hook_hold.armed.load(Ordering::SeqCst) {
                return;
            }
            hook_hold.held.fetch_add(1, Ordering::SeqCst);
            let mut released = hook_hold.released.lock().unwrap();
            while !*released {
                released = hook_hold.wake.wait(released).unwrap();
            }
        })));
    })
    .await;
    let a = s.signup("hana").await;
    let session = s.session("hana", PASSWORD).await;
    let item = s.create_item(&session, &a.vault, "k", json!("v")).await;
    let (_, token) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let path = format!("/v1/vaults/{}/items/{item}", a.vault);

    // The seal key stops answering; more logins arrive than the runtime has workers.
    hold.armed.store(true, Ordering::SeqCst);
    let s = Arc::new(s);
    let logins: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.login("hana", PASSWORD).await })
        })
        .collect();
    // Blocking waits, on this thread: were the calls made on the runtime, they would hold
    // its threads, and a timer on it with them.
    for _ in 0..500 {
        if hold.held.load(Ordering::SeqCst) >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(hold.held.load(Ordering::SeqCst) >= 2, "seal calls not held");

    // Token reads, from a thread and runtime of their own, are answered meanwhile.
    let (answered_tx, answered) = std::sync::mpsc::channel();
    let read = s.url(&path);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let all_ok = runtime.block_on(async move {
            let http = common::http().build().unwrap();
            let mut all_ok = true;
            for _ in 0..20 {
                let r = http.get(&read).bearer_auth(&token).send().await.unwrap();
                all_ok &= r.status() == StatusCode::OK;
            }
            all_ok
        });
        let _ = answered_tx.send(all_ok);
    });
    // The timeout only turns a hang into a failure; it measures nothing.
    let answered = answered.recv_timeout(Duration::from_secs(30));
    // The logins are answered while the seal key still hangs: 503, with when to retry.
    let (done_tx, done) = std::sync::mpsc::channel();
    tokio::spawn(async move {
        let mut answers = Vec::new();
        for login in logins {
            let r = login.await.unwrap();
            answers.push((
                r.status,
                r.headers
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned()),
            ));
        }
        let _ = done_tx.send(answers);
    });
    let answers = done.recv_timeout(Duration::from_secs(30));
    let released_before = *hold.released.lock().unwrap();
    hold.armed.store(false, Ordering::SeqCst);
    hold.release();
    assert!(!released_before);
    assert_eq!(
        answered,
        Ok(true),
        "token reads were not answered while the seal key hung"
    );
    let answers = answers.expect("logins were not answered while the seal key hung");
    for (status, retry_after) in &answers {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{answers:?}");
        assert!(
            retry_after
                .as_deref()
                .is_some_and(|s| s.parse::<u64>().unwrap() >= 1),
            "{answers:?}"
        );
    }

    // The seal key answers again: so do logins.
    let r = s.login("hana", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}
