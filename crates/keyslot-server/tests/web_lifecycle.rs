//! The vault page's key lifecycle and members, as a browser without JavaScript sees it:
//! the key version and re-wrap state on the page; the "Rotate key now" form, and the
//! share, change-role and remove forms (removal behind a confirmation page that says it
//! rotates), which only the owner's session with the page's CSRF field can use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, TestServer};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::json;

/// A browser logged in as one user: its cookie header.
struct Browser {
    http: reqwest::Client,
    cookie: String,
}

impl Browser {
    async fn of(s: &TestServer, username: &str) -> Self {
        let session = s.session(username, common::PASSWORD).await.session();
        Self {
            http: common::http().redirect(Policy::none()).build().unwrap(),
            cookie: format!("__Host-keyslot={}", session.cookie),
        }
    }

    async fn page(&self, s: &TestServer, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(s.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn post(&self, s: &TestServer, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(s.url(path))
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF field of the first form on a page of this browser.
    async fn csrf(&self, s: &TestServer, path: &str) -> String {
        let (status, html) = self.page(s, path).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        html.split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    }
}

async fn key_version(s: &TestServer, owner: &Auth, vault: &str) -> u64 {
    let r = s.get(&format!("/v1/vaults/{vault}"), owner).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["key_version"].as_u64().unwrap()
}

#[tokio::test]
async fn the_owner_rotates_from_the_vault_page_and_nobody_else_can() {
    // No re-wrap batches, so the item written before the rotation stays under version 1
    // and the page has a pending re-wrap to show.
    let s = TestServer::start_with(|c| c.core.rewrap_batch = 0).await;
    let ann = s.signup("ann").await;
    s.signup("bob").await;
    let owner = s.session("ann", common::PASSWORD).await;
    s.create_item(&owner, &ann.vault, "db-password", json!("hunter2"))
        .await;
    let (_, token) = s
        .mint(&owner, json!([ann.vault.as_str()]), json!(["read"]))
        .await;

    let browser = Browser::of(&s, "ann").await;
    let vault_path = format!("/vaults/{}", ann.vault);
    let rotate_path = format!("{vault_path}/rotate");
    let (status, html) = browser.page(&s, &vault_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Key version 1."), "{html}");
    assert!(!html.contains("sealed under an older version"), "{html}");
    assert!(
        html.contains(&format!("action=\"{rotate_path}\""))
            && html.contains("Rotate key now")
            && html.contains(
                "tokens that were revoked or expired can never read anything written afterwards"
            ),
        "{html}"
    );
    let csrf = browser.csrf(&s, &vault_path).await;

    // A post without the field, or with another session's value, rotates nothing.
    let bob = Browser::of(&s, "bob").await;
    let bobs_csrf = bob.csrf(&s, "/vaults").await;
    for fields in [
        vec![],
        vec![("csrf", "wrong")],
        vec![("csrf", bobs_csrf.as_str())],
    ] {
        let r = browser.post(&s, &rotate_path, &fields).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // Another user, with their own valid field, cannot open the vault at all.
    let r = bob
        .post(&s, &rotate_path, &[("csrf", bobs_csrf.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.page(&s, &vault_path).await.0, StatusCode::NOT_FOUND);
    // Without a session the browser is sent to log in; a bearer token is no session.
    let anonymous = common::http().redirect(Policy::none()).build().unwrap();
    let r = anonymous
        .post(s.url(&rotate_path))
        .bearer_auth(&token)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login");
    assert_eq!(key_version(&s, &owner, &ann.vault).await, 1);

    // The owner's form rotates and comes back to the vault page, which shows version 2.
    let r = browser
        .post(&s, &rotate_path, &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], vault_path.as_str());
    assert_eq!(key_version(&s, &owner, &ann.vault).await, 2);
    let (status, html) = browser.page(&s, &vault_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Key version 2."), "{html}");
    assert!(html.contains("sealed under an older version"), "{html}");
    // The item under version 1 still opens, on the page and for the token that kept access.
    let item = html
        .split(&format!("href=\"{vault_path}/items/"))
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let (status, html) = browser
        .page(&s, &format!("{vault_path}/items/{item}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("hunter2"));
    let r = s
        .get(
            &format!("/v1/vaults/{}/items/{item}", ann.vault),
            &Auth::Token(token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["value"], "hunter2");
}

#[tokio::test]
async fn the_owner_shares_changes_a_role_and_removes_a_member_which_rotates() {
    let s = TestServer::start().await;
    let ann = s.signup("ann").await;
    let bob = s.signup("bob").await;
    let owner = s.session("ann", common::PASSWORD).await;
    let browser = Browser::of(&s, "ann").await;
    let vault_path = format!("/vaults/{}", ann.vault);
    let members_path = format!("{vault_path}/members");
    let (_, html) = browser.page(&s, &vault_path).await;
    assert!(
        html.contains("ann (you)") && html.contains(&format!("action=\"{members_path}\"")),
        "{html}"
    );
    let csrf = browser.csrf(&s, &vault_path).await;

    // An unknown username is said beside the field; nothing without the CSRF field.
    let r = browser
        .post(
            &s,
            &members_path,
            &[("username", "nobody"), ("role", "read"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("no user has this name"));
    let r = browser
        .post(&s, &members_path, &[("username", "bob"), ("role", "read")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let bobs = Browser::of(&s, "bob").await;
    assert_eq!(bobs.page(&s, &vault_path).await.0, StatusCode::NOT_FOUND);

    let r = browser
        .post(
            &s,
            &members_path,
            &[("username", "bob"), ("role", "read"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Bob now opens the vault as a reader: no rotate or share form, and posting them is 403.
    let (status, html) = bobs.page(&s, &vault_path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Key version 1.")
            && html.contains("the read role")
            && !html.contains("Rotate key now")
            && !html.contains(&format!("action=\"{members_path}\"")),
        "{html}"
    );
    let bobs_csrf = bobs.csrf(&s, &vault_path).await;
    for (path, fields) in [
        (
            format!("{vault_path}/rotate"),
            vec![("csrf", bobs_csrf.as_str())],
        ),
        (
            members_path.clone(),
            vec![
                ("username", "ann"),
                ("role", "read"),
                ("csrf", bobs_csrf.as_str()),
            ],
        ),
    ] {
        let r = bobs.post(&s, &path, &fields).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // The owner makes bob a writer; bob's page says so.
    let bob_path = format!("{members_path}/{}", bob.user_id);
    let r = browser
        .post(
            &s,
            &format!("{bob_path}/role"),
            &[("role", "write"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        bobs.page(&s, &vault_path)
            .await
            .1
            .contains("the write role")
    );

    // The last owner cannot leave: the page says why and the key does not move.
    let r = browser
        .post(
            &s,
            &format!("{members_path}/{}/remove", ann.user_id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("last owner"));
    assert_eq!(key_version(&s, &owner, &ann.vault).await, 1);

    // Removing asks first, saying it rotates; the confirmed form removes and rotates.
    let (status, html) = browser.page(&s, &format!("{bob_path}/remove")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Removal rotates the vault key")
            && html.contains(&format!("action=\"{bob_path}/remove\"")),
        "{html}"
    );
    let r = browser.post(&s, &format!("{bob_path}/remove"), &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(bobs.page(&s, &vault_path).await.0, StatusCode::OK);
    let r = browser
        .post(&s, &format!("{bob_path}/remove"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], vault_path.as_str());
    assert_eq!(key_version(&s, &owner, &ann.vault).await, 2);
    assert_eq!(bobs.page(&s, &vault_path).await.0, StatusCode::NOT_FOUND);
    assert!(!browser.page(&s, &vault_path).await.1.contains("bob"));
}
