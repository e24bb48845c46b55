//! The web pages at the HTTP level: strict headers, forms that need the session's CSRF
//! field, and secrets never in URLs. (The browser flows are in tests/browser.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{PASSWORD, TestServer};
use reqwest::StatusCode;
use reqwest::redirect::Policy;

#[tokio::test]
async fn pages_are_strict_and_forms_need_the_csrf_field() {
    let s = TestServer::start().await;
    let a = s.signup("wendy").await;
    let http = common::http().redirect(Policy::none()).build().unwrap();

    let page = http.get(s.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        !csp.contains("unsafe-inline")
            && csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    // Logging in with the form sets the cookie and goes to the vaults.
    let login = http
        .post(s.url("/login"))
        .form(&[("username", "wendy"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(login.headers()["location"], "/vaults");
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let vaults = http
        .get(s.url("/vaults"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = vaults
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    // Without the field, or with another value, nothing is created.
    for fields in [
        vec![("name", "forged")],
        vec![("name", "forged"), ("csrf", "wrong")],
    ] {
        let r = http
            .post(s.url("/vaults"))
            .header("cookie", &cookie)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let r = http
        .post(s.url("/vaults"))
        .header("cookie", &cookie)
        .form(&[("name", "real"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let listed = http
        .get(s.url("/vaults"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listed.contains("real") && !listed.contains("forged"));

    // Tokens are created by POST and shown in the page body, never in a URL; the form
    // asks for the password again (a token outlives the session).
    let mint = |password: &'static str| {
        http.post(s.url("/tokens"))
            .header("cookie", &cookie)
            .form(&[
                ("name", "t"),
                ("scope", "some"),
                ("vault", a.vault.as_str()),
                ("permissions", "read"),
                ("days", "30"),
                ("current_password", password),
                ("csrf", csrf.as_str()),
            ])
    };
    let r = mint("not the password, no").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("This is not your current password.") && !page.contains("kst_"),
        "{page}"
    );
    let r = mint(PASSWORD).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("location").is_none());
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    assert!(page.contains("kst_"));
    // The curl line names the scheme the page was served over: plain HTTP here...
    let here = format!(" http://{}/v1/vaults/{}/items", s.addr, a.vault);
    assert!(page.contains(&here), "{page}");
    // ...and HTTPS when the browser reached it over HTTPS, through a proxy that ends TLS.
    let r = mint(PASSWORD)
        .header("origin", format!("https://{}", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let proxied = format!(" https://{}/v1/vaults/{}/items", s.addr, a.vault);
    assert!(page.contains(&proxied), "{page}");

    // Pages without a session send the browser to the login page.
    let r = http.get(s.url("/tokens")).send().await.unwrap();
    assert_eq!(
        (r.status(), r.headers()["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/login")
    );
}
