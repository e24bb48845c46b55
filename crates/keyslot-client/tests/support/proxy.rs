//! A malicious server, played by a proxy in front of a real one: it forwards every request,
//! records its request line, keeps every JSON answer by path, and lets the test rewrite
//! answers before the client sees them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the test rewrites an answer: `(method, path, body)`.
pub type Rewrite = Box<dyn Fn(&str, &str, &mut serde_json::Value) + Send + Sync>;

#[derive(Clone, Default)]
pub struct Proxy {
    /// Every request line, in order (`"GET /v1/vaults"`).
    pub seen: Arc<Mutex<Vec<String>>>,
    /// The last JSON answer the real server gave for each path.
    pub answers: Arc<Mutex<HashMap<String, serde_json::Value>>>,
    rewrite: Arc<Mutex<Option<Rewrite>>>,
}

impl Proxy {
    /// Start in front of `upstream`; returns the proxy's base URL.
    pub async fn start(upstream: SocketAddr) -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let proxy = Self::default();
        let p = proxy.clone();
        // keyslot-client installs the process-wide rustls provider reqwest needs.
        let _ = keyslot_client::Client::new("http://127.0.0.1:1", keyslot_client::Credential::None);
        let http = reqwest::Client::new();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (p, http) = (p.clone(), http.clone());
                tokio::spawn(async move {
                    let _ = p.serve(stream, upstream, http).await;
                });
            }
        });
        (proxy, format!("http://{addr}"))
    }

    /// Rewrite answers from now on (`None`: pass them through).
    pub fn set(&self, rewrite: Option<Rewrite>) {
        *self.rewrite.lock().unwrap() = rewrite;
    }

    /// Forget the requests seen so far.
    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }

    /// Whether a request line starting with `prefix` was seen since the last clear.
    pub fn saw(&self, prefix: &str) -> bool {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with(prefix))
    }

    async fn serve(
        &self,
        stream: tokio::net::TcpStream,
        upstream: SocketAddr,
        http: reqwest::Client,
    ) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_owned(),
                parts.next().unwrap_or("").to_owned(),
            );
            let mut headers = Vec::new();
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).await?;
                let header = header.trim_end().to_owned();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
                    if name == "content-length" {
                        length = value.parse().unwrap_or(0);
                    }
                    if !matches!(name.as_str(), "host" | "content-length" | "connection") {
                        headers.push((name, value));
                    }
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).await?;
            self.seen.lock().unwrap().push(format!("{method} {path}"));

            let mut request =
                http.request(method.parse().unwrap(), format!("http://{upstream}{path}"));
            for (name, value) in &headers {
                request = request.header(name, value);
            }
            let answer = request.body(body).send().await.unwrap();
            let status = answer.status();
            let answer_headers: Vec<(String, String)> = answer
                .headers()
                .iter()
                .filter(|(n, _)| {
                    !matches!(
                        n.as_str(),
                        "content-length" | "transfer-encoding" | "connection"
                    )
                })
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            let mut bytes = answer.bytes().await.unwrap().to_vec();
            if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                let bare = path.split('?').next().unwrap_or("").to_owned();
                self.answers
                    .lock()
                    .unwrap()
                    .insert(bare.clone(), json.clone());
                if status.is_success()
                    && let Some(rewrite) = self.rewrite.lock().unwrap().as_ref()
                {
                    rewrite(&method, &bare, &mut json);
                    bytes = serde_json::to_vec(&json).unwrap();
                }
            }
            let mut head = format!(
                "HTTP/1.1 {} {}\r\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            for (name, value) in answer_headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!("content-length: {}\r\n\r\n", bytes.len()));
            let stream = reader.get_mut();
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&bytes).await?;
            stream.flush().await?;
        }
    }
}
