//! A malicious server, as a client sees it: an HTTP/1.1 proxy in front of `keyslot
//! serve` that rewrites the JSON of chosen answers (Argon2 parameters, public keys) and
//! records every request the client sent, so a test can assert what the client refused
//! and that nothing was sent after the refusal.
//!
//! Each request goes to the server on a fresh connection (`Connection: close`), so an
//! answer is read to its end whatever its framing; the rewritten answer goes back with a
//! `Content-Length`. Only what a test needs from HTTP is here: a request body has a
//! `Content-Length` (the CLI's client always sends one), an answer may be chunked.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A request the client sent.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

/// Rewrites one answer's JSON: given the request's method and path (query included) and
/// the answer's status and body; returns whether it changed anything.
pub type Rewrite = dyn Fn(&str, &str, u16, &mut Value) -> bool + Send + Sync;

/// The proxy: honest until [`RewritingProxy::set`] gives it a rewrite, so a client keeps
/// one server address (its session and what it remembers are per address) while the
/// server turns malicious under it.
pub struct RewritingProxy {
    /// `http://127.0.0.1:PORT`: give this to the CLI as KEYSLOT_ADDR.
    pub addr: String,
    requests: Arc<Mutex<Vec<Request>>>,
    rewrites: Arc<Mutex<usize>>,
    rewrite: Arc<Mutex<Option<Arc<Rewrite>>>>,
}

impl RewritingProxy {
    /// Listen on a free loopback port and forward to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let rewrites: Arc<Mutex<usize>> = Arc::default();
        let rewrite: Arc<Mutex<Option<Arc<Rewrite>>>> = Arc::default();
        let (log, count, current) = (requests.clone(), rewrites.clone(), rewrite.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let (upstream, current, log, count) = (
                    upstream.clone(),
                    current.clone(),
                    log.clone(),
                    count.clone(),
                );
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &current, &log, &count);
                });
            }
        });
        Self {
            addr: format!("http://127.0.0.1:{port}"),
            requests,
            rewrites,
            rewrite,
        }
    }

    /// Turn malicious: rewrite answers with `rewrite` from now on. The requests and the
    /// count of rewrites start again.
    pub fn set(&self, rewrite: Arc<Rewrite>) {
        *self.rewrite.lock().unwrap() = Some(rewrite);
        self.requests.lock().unwrap().clear();
        *self.rewrites.lock().unwrap() = 0;
    }

    /// Turn honest again.
    pub fn honest(&self) {
        *self.rewrite.lock().unwrap() = None;
    }

    /// Every request the client sent, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// How many answers were rewritten (a test that rewrote nothing proved nothing).
    pub fn rewrites(&self) -> usize {
        *self.rewrites.lock().unwrap()
    }

    /// Whether the client sent `method` to a path starting with `prefix` and ending with
    /// `suffix`.
    pub fn sent(&self, method: &str, prefix: &str, suffix: &str) -> bool {
        self.requests().iter().any(|r| {
            let path = r.path.split('?').next().unwrap_or_default();
            r.method == method && path.starts_with(prefix) && path.ends_with(suffix)
        })
    }
}

fn serve(
    client: TcpStream,
    upstream: &str,
    rewrite: &Mutex<Option<Arc<Rewrite>>>,
    log: &Mutex<Vec<Request>>,
    count: &Mutex<usize>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut writer = client;
    loop {
        let Some((head, body)) = read_request(&mut reader)? else {
            return Ok(());
        };
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default().to_owned();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        log.lock().unwrap().push(Request {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
        });
        // The same request, on its own connection that the server closes after answering.
        let mut forwarded = format!("{request_line}\r\n");
        for line in lines {
            if !line.to_ascii_lowercase().starts_with("connection:") {
                forwarded.push_str(line);
                forwarded.push_str("\r\n");
            }
        }
        forwarded.push_str("connection: close\r\n\r\n");
        let mut server = TcpStream::connect(upstream)?;
        server.write_all(forwarded.as_bytes())?;
        server.write_all(&body)?;
        let mut answer = Vec::new();
        server.read_to_end(&mut answer)?;
        let (status_line, headers, mut answer_body) = parse_answer(&answer);
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let rewrite = rewrite.lock().unwrap().clone();
        if let Some(rewrite) = rewrite
            && let Ok(mut json) = serde_json::from_slice::<Value>(&answer_body)
            && rewrite(&method, &path, status, &mut json)
        {
            answer_body = serde_json::to_vec(&json).unwrap();
            *count.lock().unwrap() += 1;
        }
        let mut out = format!("{status_line}\r\n");
        for (name, value) in &headers {
            let lower = name.to_ascii_lowercase();
            if lower != "content-length" && lower != "transfer-encoding" && lower != "connection" {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        out.push_str(&format!("content-length: {}\r\n\r\n", answer_body.len()));
        writer.write_all(out.as_bytes())?;
        writer.write_all(&answer_body)?;
        writer.flush()?;
    }
}

/// One request: its head (request line and headers) and its body; `None` at the end of
/// the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if line == "\r\n" || line == "\n" {
            if head.is_empty() {
                continue;
            }
            break;
        }
        head.push_str(line.trim_end_matches(['\r', '\n']));
        head.push('\n');
    }
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    Ok(Some((head, body)))
}

/// Status line, headers and the body (de-chunked) of a whole answer.
fn parse_answer(answer: &[u8]) -> (String, Vec<(String, String)>, Vec<u8>) {
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let rest = answer.get(split + 4..).unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    (status_line, headers, body)
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&rest[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
}
