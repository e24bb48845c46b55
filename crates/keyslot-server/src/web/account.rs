//! Log in, sign up (with the recovery code shown once), log out, recover, change
//! password, and the account's activity.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use keyslot_core::Error;
use keyslot_crypto::Password;

use super::{Errors, FormData, Nav, Page, PageResult, WebSession, field_errors, time};
use crate::auth::{ClientIp, SessionCookie, clear_cookie, set_cookie};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate<'a> {
    username: &'a str,
    errors: Errors,
    nav: Option<Nav<'a>>,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupTemplate<'a> {
    username: &'a str,
    errors: Errors,
    nav: Option<Nav<'a>>,
}

#[derive(Template)]
#[template(path = "recovery_code.html")]
struct RecoveryCodeTemplate<'a> {
    heading: &'a str,
    code: &'a str,
    nav: Option<Nav<'a>>,
    /// Where "Continue" goes: the login page, or the vaults when this browser is signed
    /// in (a login that had to issue a new code).
    next: &'a str,
}

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverTemplate<'a> {
    username: &'a str,
    errors: Errors,
    nav: Option<Nav<'a>>,
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordTemplate<'a> {
    errors: Errors,
    done: bool,
    /// What "sign out everywhere and rotate keys" did, when it was asked for.
    rotated: Option<String>,
    nav: Option<Nav<'a>>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTemplate<'a> {
    events: Vec<(String, String, String, String, String)>,
    nav: Option<Nav<'a>>,
}

/// `/`: the vaults when logged in, otherwise the login page.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match SessionCookie::from_headers(&headers) {
        // Only whether the session is alive: nothing is audited here.
        Some(cookie) if cookie.verify(&state.keyslot, None).await.is_ok() => {
            Redirect::to("/vaults").into_response()
        }
        _ => Redirect::to("/login").into_response(),
    }
}

pub async fn login_page() -> Page {
    Page::render(&LoginTemplate {
        username: "",
        errors: Errors::default(),
        nav: None,
    })
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: FormData,
) -> PageResult {
    let username = form.get("username");
    let password = Password::new(form.get("password"));
    let device = crate::auth::device_cookie(&headers);
    let device = device.as_deref().map(String::as_str);
    match state.keyslot.login(username, password, &ip, device).await {
        Ok(done) => {
            crate::auth::end_presented_session(&state, &headers, &ip).await;
            // A due user-key rotation ran and had to replace the recovery code: the old
            // one no longer works, so the new one is shown before anything else.
            let mut response = match &done.recovery_code {
                Some(code) => Page::render(&RecoveryCodeTemplate {
                    heading: "Your keys were rotated: you have a new recovery code",
                    code,
                    nav: None,
                    next: "/vaults",
                })
                .into_response(),
                None => Redirect::to("/vaults").into_response(),
            };
            if let Some(cookie) =
                set_cookie(&done.session, state.keyslot.config().session_absolute_secs)
            {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            if let Some(cookie) = crate::auth::set_device_cookie(
                &done.device_cookie,
                state.keyslot.config().device_cookie_secs,
            ) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            Ok(response)
        }
        Err(Error::Unauthorized) => {
            let errors = Errors::one("password", "The username or password is not right.");
            Err(Page::render(&LoginTemplate {
                username,
                errors,
                nav: None,
            }))
        }
        Err(Error::TooManyAttempts { retry_after }) => {
            // Say what the owner can do: the ceiling an attacker pushes does not apply to
            // a browser that logged in before, nor to the recovery code.
            let errors = Errors::one(
                "password",
                format!(
                    "Too many attempts: wait {retry_after} seconds, then try again. If this \
                     account is yours and someone is guessing at it, log in from a browser \
                     you have logged in with before, or recover it with your recovery code."
                ),
            );
            Err(Page::render(&LoginTemplate {
                username,
                errors,
                nav: None,
            }))
        }
        Err(other) => Err(Page::from_error(other)),
    }
}

pub async fn signup_page() -> Page {
    Page::render(&SignupTemplate {
        username: "",
        errors: Errors::default(),
        nav: None,
    })
}

pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    form: FormData,
) -> PageResult {
    let username = form.get("username");
    match state
        .keyslot
        .signup(username, Password::new(form.get("password")), &ip)
        .await
    {
        Ok(done) => Ok(Page::render(&RecoveryCodeTemplate {
            heading: "Your account is ready",
            code: &done.recovery_code,
            nav: None,
            next: "/login",
        })
        .into_response()),
        Err(Error::UsernameTaken) => {
            let errors = Errors::one("username", "This username is taken. Choose another.");
            Err(Page::render(&SignupTemplate {
                username,
                errors,
                nav: None,
            }))
        }
        Err(e) => {
            let errors = field_errors(e)?;
            Err(Page::render(&SignupTemplate {
                username,
                errors,
                nav: None,
            }))
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    session: WebSession,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    state
        .keyslot
        .logout(&session.principal)
        .await
        .map_err(Page::from_error)?;
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    Ok(response)
}

pub async fn recover_page() -> Page {
    Page::render(&RecoverTemplate {
        username: "",
        errors: Errors::default(),
        nav: None,
    })
}

pub async fn recover(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    form: FormData,
) -> PageResult {
    let username = form.get("username");
    let rotate_keys = form.get("rotate_keys") == "on";
    let (password, revoke) = (
        Password::new(form.get("new_password")),
        form.get("revoke_tokens") == "on",
    );
    let code = form.get("recovery_code");
    let result = if rotate_keys {
        state
            .keyslot
            .recover_and_rotate(username, code, password, revoke, &ip)
            .await
            .map(|(code, _)| code)
    } else {
        state
            .keyslot
            .recover(username, code, password, revoke, &ip)
            .await
    };
    match result {
        Ok(code) => {
            let mut response = Page::render(&RecoveryCodeTemplate {
                heading: if rotate_keys {
                    "Your new password is set and your keys are rotated"
                } else {
                    "Your new password is set"
                },
                code: &code,
                nav: None,
                next: "/login",
            })
            .into_response();
            // Recovery ended every session, this browser's included.
            response
                .headers_mut()
                .insert(header::SET_COOKIE, clear_cookie());
            Ok(response)
        }
        Err(Error::Unauthorized) => {
            let errors = Errors::one(
                "recovery_code",
                "This recovery code does not open this account.",
            );
            Err(Page::render(&RecoverTemplate {
                username,
                errors,
                nav: None,
            }))
        }
        Err(Error::TooManyAttempts { retry_after }) => {
            let errors = Errors::one(
                "recovery_code",
                format!("Too many failed attempts: wait {retry_after} seconds."),
            );
            Err(Page::render(&RecoverTemplate {
                username,
                errors,
                nav: None,
            }))
        }
        Err(e) => {
            let errors = field_errors(e)?;
            Err(Page::render(&RecoverTemplate {
                username,
                errors,
                nav: None,
            }))
        }
    }
}

pub async fn password_page(session: WebSession) -> Page {
    Page::render(&PasswordTemplate {
        errors: Errors::default(),
        done: false,
        rotated: None,
        nav: Some(Nav {
            csrf: &session.csrf,
        }),
    })
}

pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: WebSession,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let end_others = form.get("end_other_sessions") == "on";
    let new_password = form.get("new_password");
    let result = state
        .keyslot
        .change_password(
            &session.principal,
            Password::new(form.get("current_password")),
            Password::new(new_password),
            end_others,
            form.get("revoke_tokens") == "on",
        )
        .await;
    let nav = Some(Nav {
        csrf: &session.csrf,
    });
    let failed = |errors| {
        Page::render(&PasswordTemplate {
            errors,
            done: false,
            rotated: None,
            nav: Some(Nav {
                csrf: &session.csrf,
            }),
        })
    };
    match result {
        Ok(()) if form.get("rotate_keys") == "on" => {
            // "Sign out everywhere and rotate keys", with the password just set.
            let done = state
                .keyslot
                .rotate_user_key(
                    &session.principal,
                    session.cookie.expose(),
                    Password::new(new_password),
                    false,
                    &ip,
                )
                .await
                .map_err(Page::from_error)?;
            if let Some(code) = &done.recovery_code {
                return Ok(Page::render(&RecoveryCodeTemplate {
                    heading: "Your password is changed and your keys are rotated",
                    code,
                    nav,
                    next: "/vaults",
                })
                .into_response());
            }
            Ok(Page::render(&PasswordTemplate {
                errors: Errors::default(),
                done: true,
                rotated: Some(format!(
                    "Your keys are rotated: {} vault key(s) renewed, {} other session(s) signed out. Your recovery code keeps working.",
                    done.vaults_rotated, done.sessions_ended
                )),
                nav,
            })
            .into_response())
        }
        Ok(()) => Ok(Page::render(&PasswordTemplate {
            errors: Errors::default(),
            done: true,
            rotated: None,
            nav,
        })
        .into_response()),
        Err(Error::Forbidden(_)) => Err(failed(Errors::one(
            "current_password",
            "This is not your current password.",
        ))),
        Err(e) => Err(failed(field_errors(e)?)),
    }
}

pub async fn audit(State(state): State<AppState>, session: WebSession) -> PageResult {
    let events = state
        .keyslot
        .audit_log(&session.principal, 200)
        .await
        .map_err(Page::from_error)?;
    let events = events
        .into_iter()
        .map(|e| {
            (
                time(e.at),
                e.action,
                e.actor,
                e.outcome,
                e.ip.unwrap_or_default(),
            )
        })
        .collect();
    Ok(Page::render(&AuditTemplate {
        events,
        nav: Some(Nav {
            csrf: &session.csrf,
        }),
    })
    .into_response())
}
