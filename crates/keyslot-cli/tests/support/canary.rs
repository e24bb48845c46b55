//! The canary search: is any secret anywhere in a recording, in any encoding it could
//! travel in?
//!
//! Each canary (a password, a token's text and its 32 secret bytes, a wrap key, an item's
//! name or value) is searched for whole and as every window of [`WINDOW`] bytes, so it is
//! found inside a longer field or cut short, in each of:
//!
//! - raw bytes, JSON-escaped (serde's escaping, and `\uXXXX` for everything not ASCII),
//!   percent-encoded (a query string or a form);
//! - hex, lower and upper case;
//! - base64 and base64url, padded or not, and at each of the three alignments it can
//!   have inside a longer encoded blob: only the characters that the window's bytes alone
//!   determine are searched, so the window is found wherever in the blob it sits;
//! - base62 (the alphabet of Keyslot's text credentials), of the whole secret as one
//!   number, without leading zeros (big-number encodings do not keep substrings, so
//!   windows mean nothing there; a credential's own text is a raw canary besides).
//!
//! Windows of 16 bytes of a random secret do not occur by chance; canaries the tests make
//! up are random past their first few characters so that they cannot match each other
//! or the protocol's own words.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::recording_proxy::Stream;

/// Bytes of the windows searched for (a canary shorter than this is searched whole).
pub const WINDOW: usize = 16;

/// The shortest canary.
pub const MIN_LEN: usize = 12;

/// Something that must not be in the recording.
#[derive(Clone)]
pub struct Canary {
    /// What it is ("alice's password"); never the secret itself.
    pub label: String,
    pub bytes: Vec<u8>,
}

impl Canary {
    pub fn text(label: impl Into<String>, text: &str) -> Self {
        Self::bytes(label, text.as_bytes())
    }

    /// At least [`MIN_LEN`] bytes: shorter ones could occur by chance (and their encoded
    /// forms would be shorter than the search index's prefix).
    pub fn bytes(label: impl Into<String>, bytes: &[u8]) -> Self {
        let label = label.into();
        assert!(
            bytes.len() >= MIN_LEN,
            "canary {label} is shorter than {MIN_LEN} bytes"
        );
        Self {
            label,
            bytes: bytes.to_vec(),
        }
    }
}

/// A canary found in the recording.
#[derive(Clone, Debug)]
pub struct Finding {
    pub canary: String,
    pub encoding: &'static str,
    pub stream: String,
    pub offset: usize,
}

/// Where each canary occurs in `streams`, in any encoding (at most one finding per canary,
/// encoding and stream).
pub fn search(streams: &[Stream], canaries: &[Canary]) -> Vec<Finding> {
    let patterns: Vec<(usize, &'static str, Vec<u8>)> = canaries
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            encodings(&c.bytes)
                .into_iter()
                .map(move |(encoding, p)| (i, encoding, p))
        })
        .collect();
    // Every pattern is at least 8 bytes: index them by their first 8, one lookup per
    // position of the recording whatever the number of patterns.
    let mut by_prefix: HashMap<[u8; 8], Vec<usize>> = HashMap::new();
    for (n, (_, _, p)) in patterns.iter().enumerate() {
        assert!(p.len() >= 8, "a canary pattern is shorter than 8 bytes");
        by_prefix
            .entry(p[..8].try_into().unwrap())
            .or_default()
            .push(n);
    }
    let mut found: Vec<Finding> = Vec::new();
    for stream in streams {
        let bytes = &stream.bytes;
        for at in 0..bytes.len().saturating_sub(7) {
            let Some(candidates) = by_prefix.get(&<[u8; 8]>::try_from(&bytes[at..at + 8]).unwrap())
            else {
                continue;
            };
            for &n in candidates {
                let (canary, encoding, pattern) = &patterns[n];
                if bytes[at..].starts_with(pattern)
                    && !found.iter().any(|f| {
                        f.canary == canaries[*canary].label
                            && f.encoding == *encoding
                            && f.stream == stream.label
                    })
                {
                    found.push(Finding {
                        canary: canaries[*canary].label.clone(),
                        encoding,
                        stream: stream.label.clone(),
                        offset: at,
                    });
                }
            }
        }
    }
    found
}

/// Fail, naming each finding (where, and in which encoding), if any canary is in
/// `streams`. Also fails on an empty recording: a proxy that recorded nothing proves
/// nothing.
pub fn assert_none_found(streams: &[Stream], canaries: &[Canary]) {
    let total: usize = streams.iter().map(|s| s.bytes.len()).sum();
    assert!(total > 0, "the recording is empty");
    assert!(!canaries.is_empty(), "no canaries to search for");
    let found = search(streams, canaries);
    // Each finding's stream's first line (a request line or a status line), to tell which
    // call carried it. Never the secret: the first line holds none unless the secret is in
    // the URL, which is then exactly the finding to see.
    let first_line = |label: &str| {
        streams
            .iter()
            .find(|s| s.label == label)
            .map(|s| {
                let end = s
                    .bytes
                    .iter()
                    .position(|&b| b == b'\r')
                    .unwrap_or(s.bytes.len());
                String::from_utf8_lossy(&s.bytes[..end.min(120)]).into_owned()
            })
            .unwrap_or_default()
    };
    assert!(
        found.is_empty(),
        "{} canary finding(s) in {total} recorded bytes:\n{}",
        found.len(),
        found
            .iter()
            .map(|f| format!(
                "  {} ({}) in {} ({}) at byte {}",
                f.canary,
                f.encoding,
                f.stream,
                first_line(&f.stream),
                f.offset
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Whether `label` was found, in any encoding.
pub fn found(findings: &[Finding], label: &str) -> bool {
    findings.iter().any(|f| f.canary == label)
}

/// Every pattern to search for `secret`, with its encoding's name.
pub fn encodings(secret: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let windows: Vec<&[u8]> = if secret.len() <= WINDOW {
        vec![secret]
    } else {
        secret.windows(WINDOW).collect()
    };
    for w in windows {
        out.push(("raw", w.to_vec()));
        out.push(("hex", hex(w, b"0123456789abcdef")));
        out.push(("HEX", hex(w, b"0123456789ABCDEF")));
        for align in 0..3 {
            out.push(("base64", base64_core(w, align, STD)));
            out.push(("base64url", base64_core(w, align, URL)));
        }
        out.push(("percent-encoded", percent(w)));
        if let Ok(text) = std::str::from_utf8(w) {
            let escaped = serde_json::to_string(text).unwrap();
            out.push((
                "JSON-escaped",
                escaped.as_bytes()[1..escaped.len() - 1].to_vec(),
            ));
            out.push(("JSON \\u-escaped", json_ascii(text)));
        }
    }
    out.push(("base62", base62(secret)));
    // Duplicates (a raw window that needs no escaping) are searched once.
    out.sort();
    out.dedup_by(|a, b| a.1 == b.1);
    out
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn hex(bytes: &[u8], digits: &[u8; 16]) -> Vec<u8> {
    bytes
        .iter()
        .flat_map(|b| [digits[usize::from(b >> 4)], digits[usize::from(b & 15)]])
        .collect()
}

/// Base64 without padding.
pub fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    out
}

/// The characters of base64(`align` unknown bytes ‖ `w` ‖ anything) that `w` alone
/// determines: character i covers bits [6i, 6i+6), and `w` holds bits
/// [8·align, 8·(align+len)).
fn base64_core(w: &[u8], align: usize, alphabet: &[u8; 64]) -> Vec<u8> {
    let mut padded = vec![0u8; align];
    padded.extend_from_slice(w);
    let encoded = base64(&padded, alphabet);
    let first = (8 * align).div_ceil(6);
    let end = (8 * (align + w.len())) / 6;
    encoded[first..end].to_vec()
}

fn percent(bytes: &[u8]) -> Vec<u8> {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out.into_bytes()
}

/// JSON string escaping that leaves only printable ASCII as is.
fn json_ascii(text: &str) -> Vec<u8> {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(out, "\\u{u:04x}").unwrap();
                }
            }
        }
    }
    out.into_bytes()
}

/// Base62 (`0-9A-Za-z`) of `bytes` as one big-endian number, without leading zeros: a
/// substring of any fixed-width form of it.
pub fn base62(bytes: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut number = bytes.to_vec();
    let mut digits = Vec::new();
    while number.iter().any(|&b| b != 0) {
        let mut remainder = 0u32;
        for byte in &mut number {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        digits.push(ALPHABET[remainder as usize]);
    }
    digits.reverse();
    digits
}

#[test]
fn the_encoders_match_known_answers() {
    // RFC 4648 §10.
    assert_eq!(base64(b"foobar", STD), b"Zm9vYmFy");
    assert_eq!(base64(b"fooba", STD), b"Zm9vYmE");
    assert_eq!(base64(&[0xfb, 0xff], URL), b"-_8");
    assert_eq!(hex(&[0xab, 0x01], b"0123456789abcdef"), b"ab01");
    assert_eq!(base62(&[0, 61]), b"z");
    assert_eq!(base62(&[0, 62]), b"10");
    assert_eq!(json_ascii("a\"é"), b"a\\\"\\u00e9");
}

#[test]
fn a_window_is_found_wherever_it_sits_in_an_encoded_blob() {
    let secret: Vec<u8> = (0u8..40).map(|b| b.wrapping_mul(37) ^ 0x5a).collect();
    let canary = [Canary::bytes("secret", &secret)];
    for prefix in 0..4 {
        // The secret cut short, after `prefix` other bytes, inside a longer blob.
        let mut blob = vec![7u8; prefix];
        blob.extend_from_slice(&secret[3..30]);
        blob.extend_from_slice(b"tail");
        for (name, encoded) in [
            ("base64", base64(&blob, STD)),
            ("base64url", base64(&blob, URL)),
            ("hex", hex(&blob, b"0123456789ABCDEF")),
        ] {
            let mut body = b"{\"field\":\"".to_vec();
            body.extend_from_slice(&encoded);
            body.extend_from_slice(b"\"}");
            let stream = Stream {
                label: "test".into(),
                bytes: body,
            };
            assert!(
                !search(&[stream], &canary).is_empty(),
                "{name} at offset {prefix} not found"
            );
        }
    }
    let unrelated = Stream {
        label: "test".into(),
        bytes: base64(&[9u8; 100], STD),
    };
    assert!(search(&[unrelated], &canary).is_empty());
}
