//! A server that lies: prelogin parameters below the floor or below the last seen. The
//! client refuses before hashing and sends nothing after the prelogin (the fake server
//! records every request line). Key substitutions are refused in the unit tests of
//! `e2e::rotation` and `e2e::sharing`, and through the CLI by its rewriting proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use keyslot_client::e2e::{ParamsCheck, Refusal, account};
use keyslot_client::{Client, Credential};
use keyslot_crypto::Argon2Params;

/// Answers every request with `prelogin` as JSON and records each request line.
fn lying_server(prelogin: serde_json::Value) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            log.lock().unwrap().push(line.trim().to_owned());
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim().to_ascii_lowercase();
                if header.is_empty() {
                    break;
                }
                if let Some(v) = header.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let answer = prelogin.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (format!("http://{addr}"), seen)
}

fn prelogin(m: u32, t: u32, p: u32) -> serde_json::Value {
    serde_json::json!({
        "credential_id": "00112233445566778899aabbccddeeff",
        "salt": "AAAAAAAAAAAAAAAAAAAAAA",
        "m_cost": m, "t_cost": t, "p_cost": p,
        "recovery_credential_id": "ffeeddccbbaa99887766554433221100",
    })
}

#[tokio::test]
async fn parameters_below_the_floor_are_refused_and_nothing_follows_the_prelogin() {
    for (m, t, p) in [(8, 1, 1), (19 * 1024, 1, 1), (1024, 2, 1)] {
        let (url, seen) = lying_server(prelogin(m, t, p));
        let client = Client::new(&url, Credential::None);
        let e = account::login(
            &client,
            "alice",
            "a long password here",
            &ParamsCheck::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e.refusal(), Some(Refusal::ParamsBelowFloor { .. })),
            "m={m} t={t}: {e}"
        );
        assert!(e.to_string().contains("below this client's floor"), "{e}");
        assert_eq!(*seen.lock().unwrap(), ["POST /v1/prelogin HTTP/1.1"]);
    }
}

#[tokio::test]
async fn parameters_lower_than_last_time_are_a_downgrade() {
    let floor = Argon2Params::OWASP;
    let (url, seen) = lying_server(prelogin(floor.m_cost_kib, floor.t_cost, floor.p_cost));
    let client = Client::new(&url, Credential::None);
    let last = Argon2Params {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    let e = account::login(
        &client,
        "alice",
        "a long password here",
        &ParamsCheck::after(Some(last)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e.refusal(), Some(Refusal::ParamsBelowLastSeen { .. })),
        "{e}"
    );
    assert_eq!(*seen.lock().unwrap(), ["POST /v1/prelogin HTTP/1.1"]);
}

#[tokio::test]
async fn parameters_above_the_ceiling_would_tie_the_client_up_and_are_refused() {
    let (url, seen) = lying_server(prelogin(4 * 1024 * 1024, 2, 1));
    let client = Client::new(&url, Credential::None);
    let e = account::login(
        &client,
        "alice",
        "a long password here",
        &ParamsCheck::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e.refusal(), Some(Refusal::ParamsAboveCeiling { .. })),
        "{e}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// A server that seals a user key of its own choosing to the recovery code's public key
/// (which anyone can compute a seal to): the client refuses it rather than adopt a key
/// the server knows, and sends no `finish`.
#[tokio::test]
async fn a_user_key_sealed_to_the_recovery_codes_public_key_is_refused() {
    use keyslot_crypto::x25519::RecoveryKeyPair;
    use keyslot_crypto::{Id, RecoveryCode, UserKey, seal_to, user_key_grant_aad};

    let code = RecoveryCode::generate().unwrap();
    let credential: Id = "ffeeddccbbaa99887766554433221100".parse().unwrap();
    let user = Id::from_bytes([9; 16]);
    let servers_key = UserKey::generate().unwrap();
    let public = RecoveryKeyPair::derive(&code, &credential).public_key();
    let sealed = seal_to(
        &public,
        &servers_key,
        &user_key_grant_aad(&user, &credential),
    )
    .unwrap();
    let mut answer = prelogin(19 * 1024, 2, 1);
    answer["user_id"] = serde_json::json!(user.to_string());
    answer["wrapped_user_key"] = serde_json::json!("AAAA");
    answer["sealed_user_key"] = serde_json::json!(sealed.to_base64());
    let (url, seen) = lying_server(answer);
    let client = Client::new(&url, Credential::None);
    let e = account::recover_begin(&client, "alice", &code.expose_text())
        .await
        .unwrap_err();
    assert!(
        matches!(e.refusal(), Some(Refusal::UnverifiedKey { .. })),
        "{e}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "POST /v1/prelogin HTTP/1.1",
            "POST /v1/recover/begin HTTP/1.1"
        ]
    );
}
