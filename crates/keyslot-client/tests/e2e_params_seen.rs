//! A password change and a token mint check prelogin's Argon2 parameters against the last
//! ones seen for the account, not only the floor (review R1 finding 8), on SQLite and
//! PostgreSQL: a server answering lower parameters than the session holds as seen gets
//! the named refusal, and neither the change nor the mint is sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/proxy.rs"]
mod proxy;
mod support;

use keyslot_client::e2e::{ParamsCheck, Refusal, account};
use keyslot_client::{Client, Credential};
use keyslot_crypto::Argon2Params;
use proxy::Proxy;
use support::{BACKENDS, Server};

const ALICE: &str = "correct horse battery staple 41";
const ALICE_NEW: &str = "a different long passphrase 7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_or_mint_below_the_last_seen_parameters_is_refused() {
    for (postgres, backend) in BACKENDS {
        let Some(server) = Server::start(postgres, "client_params_seen").await else {
            continue;
        };
        let (proxy, url) = Proxy::start(server.addr).await;
        let base = Client::new(&url, Credential::None);
        let up = account::signup(&base, "alice", ALICE).await.unwrap();
        let (alice, _, seen) = account::login(&base, "alice", ALICE, &ParamsCheck::default())
            .await
            .unwrap();
        assert_eq!(seen, up.params, "{backend}");
        // The caller's record says the account's parameters were raised (another
        // client changed the password); this server still answers the old ones.
        alice.params_seen(Argon2Params {
            m_cost_kib: seen.m_cost_kib * 2,
            ..seen
        });
        proxy.clear();
        let changed = alice
            .change_password(ALICE, ALICE_NEW, false)
            .await
            .unwrap_err();
        assert!(
            matches!(changed.refusal(), Some(Refusal::ParamsBelowLastSeen { .. })),
            "{backend}: {changed}"
        );
        assert!(!proxy.saw("POST /v1/password"), "{backend}");
        let minted = alice
            .mint_token(ALICE, "ci", Some(&[up.vault_id]), false, None)
            .await
            .unwrap_err();
        assert!(
            matches!(minted.refusal(), Some(Refusal::ParamsBelowLastSeen { .. })),
            "{backend}: {minted}"
        );
        assert!(!proxy.saw("POST /v1/tokens"), "{backend}");
        // Without the raised record both run.
        let (fresh, _, _) = account::login(&base, "alice", ALICE, &ParamsCheck::default())
            .await
            .unwrap();
        fresh
            .mint_token(ALICE, "ci", Some(&[up.vault_id]), false, None)
            .await
            .unwrap();
        fresh
            .change_password(ALICE, ALICE_NEW, false)
            .await
            .unwrap();
        server.stop().await;
    }
}
