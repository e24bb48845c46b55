//! The lifecycle crash test's HTTP client: a session (with the known-device cookie) or a
//! token, and what one write's answer says happened.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::lifecycle_world::Check;
use crate::support::Session;

/// One request's outcome.
pub enum Reply {
    Done(Value),
    /// Refused whole (rate limit): nothing happened.
    Refused,
    /// No answer (the kill), or a 5xx that does not say whether it happened.
    Lost,
}

/// A JSON client that speaks as a session (with the device cookie) or a token.
pub struct Http {
    pub http: reqwest::Client,
    pub base: String,
}

/// Who a request speaks as.
#[derive(Clone, Copy)]
pub enum Who<'a> {
    Nobody,
    Session(&'a Session),
    Token(&'a str),
}

impl Http {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        who: Who<'_>,
        device: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value, Vec<String>), reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        let mut cookies = Vec::new();
        if let Some(d) = device {
            cookies.push(format!("__Host-keyslot-device={d}"));
        }
        match who {
            Who::Nobody => {}
            Who::Session(s) => {
                cookies.push(format!("__Host-keyslot={}", s.cookie));
                req = req.header("x-csrf-token", &s.csrf);
            }
            Who::Token(t) => req = req.bearer_auth(t),
        }
        if !cookies.is_empty() {
            req = req.header("cookie", cookies.join("; "));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await?;
        let status = r.status();
        let set: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::to_owned)
            .collect();
        Ok((status, r.json().await.unwrap_or(Value::Null), set))
    }

    pub async fn write(
        &self,
        method: Method,
        path: &str,
        who: Who<'_>,
        body: Option<Value>,
        ok: StatusCode,
    ) -> Check<Reply> {
        match self.send(method.clone(), path, who, None, body).await {
            Err(_) => Ok(Reply::Lost),
            Ok((status, body, _)) if status == ok => Ok(Reply::Done(body)),
            Ok((StatusCode::TOO_MANY_REQUESTS, _, _)) => Ok(Reply::Refused),
            Ok((status, _, _)) if status.is_server_error() => Ok(Reply::Lost),
            Ok((status, body, _)) => Err(format!("{method} {path}: unexpected {status}: {body}")),
        }
    }

    pub async fn get(&self, path: &str, who: Who<'_>) -> Check<(StatusCode, Value)> {
        self.send(Method::GET, path, who, None, None)
            .await
            .map(|(s, b, _)| (s, b))
            .map_err(|e| format!("GET {path}: no answer from the restarted server: {e}"))
    }
}
