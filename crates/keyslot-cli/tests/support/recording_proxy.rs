//! A TCP proxy in front of `keyslot serve` that records every byte in both directions:
//! request lines, headers (cookies, `Authorization`) and bodies, and every answer. It is
//! what someone running code on the server (or reading its socket) would see; the
//! end-to-end tests search it for secrets that must never reach the server.
//!
//! It works below HTTP on purpose: nothing the client sends can slip past it by being
//! framed in a way an HTTP-level recorder would not log (a header, a second request on a
//! kept-alive connection, a chunked body). Each connection's two directions are kept
//! apart, in order, so a secret never appears split across interleaved reads.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One direction of one connection, as recorded.
#[derive(Clone)]
pub struct Stream {
    /// "connection 3 request" / "connection 3 response".
    pub label: String,
    pub bytes: Vec<u8>,
}

type Recorded = Arc<Mutex<Vec<Arc<Mutex<Stream>>>>>;

/// The proxy; stops accepting when dropped.
pub struct RecordingProxy {
    /// `http://127.0.0.1:PORT`: give this to the CLI as KEYSLOT_ADDR.
    pub addr: String,
    port: u16,
    streams: Recorded,
    stop: Arc<AtomicBool>,
}

impl RecordingProxy {
    /// Listen on a free loopback port and forward every connection to `upstream`
    /// (`http://127.0.0.1:PORT` or `127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let streams: Recorded = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (accepted, stopping) = (streams.clone(), stop.clone());
        std::thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    // The server is gone: the client sees a closed connection.
                    continue;
                };
                let request = record(&accepted, format!("connection {n} request"));
                let response = record(&accepted, format!("connection {n} response"));
                pipe(&client, &server, request);
                pipe(&server, &client, response);
            }
        });
        Self {
            addr: format!("http://127.0.0.1:{port}"),
            port,
            streams,
            stop,
        }
    }

    /// Everything recorded so far, one entry per connection and direction.
    pub fn recording(&self) -> Vec<Stream> {
        self.streams
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.lock().unwrap().clone())
            .collect()
    }

    /// Every recorded byte, all streams concatenated (for the sanity checks that the
    /// recording holds traffic at all).
    pub fn all_bytes(&self) -> Vec<u8> {
        self.recording().into_iter().flat_map(|s| s.bytes).collect()
    }

    /// Forget what was recorded (the part of a test that is not under scrutiny, such as
    /// a control account's set-up, can run before this).
    pub fn clear(&self) {
        self.streams.lock().unwrap().clear();
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn record(streams: &Recorded, label: String) -> Arc<Mutex<Stream>> {
    let stream = Arc::new(Mutex::new(Stream {
        label,
        bytes: Vec::new(),
    }));
    streams.lock().unwrap().push(stream.clone());
    stream
}

/// Copy `from` to `to` on a thread, appending every byte to `into`; at end of input, end
/// `to`'s writing half so the other side sees it too.
fn pipe(from: &TcpStream, to: &TcpStream, into: Arc<Mutex<Stream>>) {
    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // Recorded before it is forwarded: whatever the other side saw is in the
            // recording when it answers.
            into.lock().unwrap().bytes.extend_from_slice(&buf[..n]);
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
