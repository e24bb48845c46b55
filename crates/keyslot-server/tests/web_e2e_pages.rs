//! The end-to-end account's web pages at the HTTP level (the crypto in the page is
//! driven in Chromium by tests/browser/e2e_flows.mjs): who is sent where, the scripts
//! served from a fixed table, and sign-up/login forms whose "end-to-end" box never travels
//! in a form post.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{PASSWORD, TestServer};
use reqwest::StatusCode;
use reqwest::redirect::Policy;

const SCRIPTS: [&str; 15] = [
    "api.js",
    "ks.js",
    "session.js",
    "storage.js",
    "ui.js",
    "worker.js",
    "argon.js",
    "login.js",
    "signup.js",
    "recover.js",
    "vaults.js",
    "vault.js",
    "item.js",
    "tokens.js",
    "password.js",
];

#[tokio::test]
async fn the_pages_send_each_kind_of_session_to_its_own_pages() {
    let s = TestServer::start().await;
    let a = s.signup("wendy").await;
    let http = common::http().redirect(Policy::none()).build().unwrap();

    // No session: the login page.
    for path in ["/e2e/vaults", "/e2e/tokens", "/e2e/password"] {
        let r = http.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()["location"], "/login", "{path}");
    }

    // A server-mode session: back to the server-rendered twin, which it can fill.
    let cookie = format!(
        "__Host-keyslot={}",
        s.session("wendy", PASSWORD).await.session().cookie
    );
    for (path, twin) in [
        ("/e2e/vaults".to_owned(), "/vaults".to_owned()),
        (
            format!("/e2e/vaults/{}", a.vault),
            format!("/vaults/{}", a.vault),
        ),
        ("/e2e/tokens".to_owned(), "/tokens".to_owned()),
        ("/e2e/password".to_owned(), "/password".to_owned()),
    ] {
        let r = http
            .get(s.url(&path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()["location"], twin.as_str(), "{path}");
    }
    // …and its own pages stay where they are.
    let vaults = http
        .get(s.url("/vaults"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(vaults.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_scripts_come_from_a_fixed_table_under_the_strict_policy() {
    let s = TestServer::start().await;
    let http = common::http().build().unwrap();
    for name in SCRIPTS {
        let r = http
            .get(s.url(&format!("/assets/e2e/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{name}");
        assert_eq!(
            r.headers()["content-type"],
            "text/javascript; charset=utf-8",
            "{name}"
        );
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("'unsafe-eval'"),
            "{csp}"
        );
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("innerHTML"),
            "{name} writes text, never HTML"
        );
        assert!(!body.contains("eval("), "{name}");
    }
    for name in ["nope.js", "..%2Fapp.js", "%2e%2e%2fapp.css", "ks.js%00"] {
        let r = http
            .get(s.url(&format!("/assets/e2e/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{name}");
    }
}

#[tokio::test]
async fn the_end_to_end_box_is_hidden_without_script_and_never_posted() {
    let s = TestServer::start().await;
    let http = common::http().build().unwrap();
    for (path, script) in [
        ("/login", "/assets/e2e/login.js"),
        ("/signup", "/assets/e2e/signup.js"),
        ("/recover", "/assets/e2e/recover.js"),
    ] {
        let html = http
            .get(s.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let choice = html
            .split("id=\"e2e-choice\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{path} offers the end-to-end choice"));
        assert!(
            choice.starts_with(" hidden>"),
            "{path}: hidden until the script shows it"
        );
        let input = choice
            .split("<input")
            .nth(1)
            .unwrap()
            .split('>')
            .next()
            .unwrap();
        assert!(input.contains("id=\"end_to_end\""), "{path}: {input}");
        assert!(
            !input.contains("name="),
            "{path}: the box is never a form field"
        );
        assert!(
            html.contains(&format!(
                "<script type=\"module\" src=\"{script}\"></script>"
            )),
            "{path}"
        );
    }
}
