//! The database goes away under light load and comes back: requests fail fast with 503
//! and a problem body (no hang, no 500), `/readyz` says not ready, service resumes by
//! itself, and no acknowledged write is lost. The outage is a TCP proxy between Keyslot
//! and PostgreSQL that the test cuts (every open connection dropped, new ones refused)
//! and restores. Runs when `KEYSLOT_TEST_DATABASE_URL` is set (always in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Auth, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy that can be cut and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let (flag, gen_tx) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if !flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let mut cut = gen_tx.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    tokio::select! {
                        _ = tokio::io::copy(&mut cr, &mut sw) => {},
                        _ = tokio::io::copy(&mut sr, &mut cw) => {},
                        _ = cut.changed() => {},
                    }
                });
            }
        });
        Self {
            port,
            up,
            generation,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `url` with its host and port replaced by 127.0.0.1:`port`; and the original host:port.
fn through(url: &str, port: u16) -> (String, String) {
    let start = url.find("://").unwrap() + 3;
    let rest = &url[start..];
    let at = rest.find('@').map_or(0, |i| i + 1);
    let end = rest[at..].find('/').map_or(rest.len(), |i| at + i);
    let hostport = &rest[at..end];
    let target = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    (
        format!(
            "{}{}127.0.0.1:{port}{}",
            &url[..start],
            &rest[..at],
            &rest[end..]
        ),
        target,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_gives_clean_503s_and_service_resumes_with_nothing_lost() {
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url("database outage").await
    else {
        return;
    };
    keyslot_store::open(&url, keyslot_store::Schema::Migrate)
        .await
        .unwrap();
    let (_, target) = through(&url, 0);
    let proxy = Proxy::start(target).await;
    let (proxied, _) = through(&url, proxy.port);
    let s = Arc::new(TestServer::start_with(|c| c.database_url = Some(proxied.clone())).await);

    let a = s.signup("olga").await;
    let session = s.session("olga", PASSWORD).await;
    let (_, token) = s
        .mint(&session, json!([a.vault]), json!(["read", "write"]))
        .await;
    let token = Auth::Token(token);
    let items = format!("/v1/vaults/{}/items", a.vault);

    // Light load: a writer that remembers every write the server acknowledged.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (s, token, items, stop) = (s.clone(), token.clone(), items.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut acked, mut statuses) = (Vec::new(), Vec::new());
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let value = format!("value-{n}");
                let started = Instant::now();
                let r = s
                    .post(
                        &items,
                        &token,
                        json!({"name": format!("item-{n}"), "value": value}),
                    )
                    .await;
                statuses.push((r.status, started.elapsed()));
                if r.status == StatusCode::CREATED {
                    acked.push((r.str("id"), value));
                } else {
                    r.problem(StatusCode::SERVICE_UNAVAILABLE);
                    assert!(r.headers.get("retry-after").is_some());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (acked, statuses)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    proxy.cut();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let ready = s.get("/readyz", &Auth::None).await;
    ready.problem(StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "readyz answered in {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    s.get(&items, &token)
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed fast: {:?}",
        started.elapsed()
    );
    s.login("olga", PASSWORD)
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_secs(2)).await;

    proxy.restore();
    let back = Instant::now();
    loop {
        if s.get("/readyz", &Auth::None).await.status == StatusCode::OK {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "service did not resume"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let (acked, statuses) = writer.await.unwrap();

    assert!(
        statuses
            .iter()
            .any(|(st, _)| *st == StatusCode::SERVICE_UNAVAILABLE),
        "the outage was seen"
    );
    assert!(
        statuses
            .iter()
            .all(|(st, _)| *st == StatusCode::CREATED || *st == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|(_, took)| *took < Duration::from_secs(5)),
        "no request hung"
    );
    assert!(
        statuses
            .last()
            .is_some_and(|(st, _)| *st == StatusCode::CREATED),
        "writes succeed again"
    );
    for (id, value) in &acked {
        let r = s.get(&format!("{items}/{id}"), &token).await;
        assert_eq!(
            r.body["value"].as_str(),
            Some(value.as_str()),
            "acknowledged write {id} lost"
        );
    }
    // A write cut off after its commit but before its answer may be there too (an
    // ambiguous commit, answered 503): never fewer than acknowledged, and all of them open.
    let listed = s.get(&items, &token).await;
    assert_eq!(
        listed.status,
        StatusCode::OK,
        "every stored item still opens: {}",
        listed.text
    );
    assert!(listed.body["items"].as_array().unwrap().len() >= acked.len());
    keyslot_store_tests::postgres::drop_database(&url).await;
}
