//! Masking for `keyslot run`: the values it put in a command's environment are replaced by
//! [`MASK`] in that command's standard output and error, as the command writes them.
//!
//! This is a guard against accidents (a deploy script that echoes its environment, a
//! debug log that prints a connection string into CI output), not a boundary: the command
//! holds the values and can always print them transformed (base64, reversed, one byte at
//! a time), which no filter can recognise.

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;

use zeroize::Zeroizing;

/// What a masked value is replaced with.
pub const MASK: &[u8] = b"<concealed by keyslot>";

/// Values shorter than this are not masked.
///
/// A one- or two-byte value (`1`, `on`, `eu`) occurs all over ordinary output: replacing
/// every occurrence would garble the output beyond use, and would hide nothing, since a
/// value that short is guessed in a handful of tries whether masked or not.
pub const MIN_MASKED_LEN: usize = 3;

/// The values to mask, longest first, so that when one value is the beginning of another,
/// the longer one is masked whole.
#[derive(Clone)]
pub struct Secrets(Arc<[Zeroizing<Vec<u8>>]>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.0.len())
    }
}

impl Secrets {
    /// The values worth masking among `values` (see [`MIN_MASKED_LEN`]), once each.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut kept: Vec<Zeroizing<Vec<u8>>> = values
            .into_iter()
            .filter(|v| v.len() >= MIN_MASKED_LEN)
            .map(|v| Zeroizing::new(v.to_vec()))
            .collect();
        kept.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        kept.dedup();
        Self(kept.into())
    }

    /// Whether there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Masks one stream that arrives in pieces.
///
/// A value may be split across two reads (the command wrote it in two calls, or a pipe
/// buffer filled mid-value), so the masker holds back the end of what it has seen while
/// that end could still be the beginning of a value: at most the longest value's length
/// minus one byte, and only while it matches. Everything before it is released at once,
/// so output is delayed only by bytes that look like the start of a secret.
#[derive(Debug)]
pub struct Masker {
    secrets: Secrets,
    pending: Zeroizing<Vec<u8>>,
}

impl Masker {
    /// A masker for `secrets`.
    pub fn new(secrets: Secrets) -> Self {
        Self {
            secrets,
            pending: Zeroizing::new(Vec::new()),
        }
    }

    /// Take `input`; append to `out` what can be released.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.pending.extend_from_slice(input);
        self.release(out, false);
    }

    /// The stream ended: release everything held back.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.release(out, true);
    }

    fn release(&mut self, out: &mut Vec<u8>, at_end: bool) {
        let pending = &self.pending;
        let mut i = 0;
        while i < pending.len() {
            let rest = &pending[i..];
            // A value could begin here and go on in the next read: wait for it. Checked
            // before the complete matches, so a shorter value that begins a longer one
            // does not release the longer one's tail.
            if !at_end
                && self
                    .secrets
                    .0
                    .iter()
                    .any(|s| s.len() > rest.len() && s.starts_with(rest))
            {
                break;
            }
            if let Some(s) = self.secrets.0.iter().find(|s| rest.starts_with(s)) {
                out.extend_from_slice(MASK);
                i += s.len();
            } else {
                out.push(pending[i]);
                i += 1;
            }
        }
        self.pending.drain(..i);
    }
}

/// Copy `from` to `to` through a [`Masker`], writing each piece as soon as it is masked,
/// until `from` ends.
///
/// If `to` fails (the reader of keyslot's output went away), `from` is dropped, so the
/// command sees a broken pipe just as it would writing to `to` itself.
pub fn pump(mut from: impl Read, mut to: impl Write, secrets: Secrets) {
    let mut masker = Masker::new(secrets);
    let mut buf = Zeroizing::new(vec![0u8; 8192]);
    let mut out = Vec::with_capacity(buf.len() + MASK.len());
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        masker.push(&buf[..n], &mut out);
        if to.write_all(&out).and_then(|()| to.flush()).is_err() {
            return;
        }
        out.clear();
    }
    masker.finish(&mut out);
    let _ = to.write_all(&out).and_then(|()| to.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(secrets: &[&str], pieces: &[&[u8]]) -> String {
        let mut m = Masker::new(Secrets::new(secrets.iter().map(|s| s.as_bytes())));
        let mut out = Vec::new();
        for p in pieces {
            m.push(p, &mut out);
        }
        m.finish(&mut out);
        String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_value_is_masked_wherever_the_stream_is_split() {
        let text = b"key=s3cr3t-value; again s3cr3t-value.";
        let want = "key=<concealed by keyslot>; again <concealed by keyslot>.";
        assert_eq!(masked(&["s3cr3t-value"], &[text]), want);
        for a in 0..=text.len() {
            for b in a..=text.len() {
                assert_eq!(
                    masked(&["s3cr3t-value"], &[&text[..a], &text[a..b], &text[b..]]),
                    want,
                    "split at {a} and {b}"
                );
            }
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(masked(&["s3cr3t-value"], &bytes), want);
    }

    #[test]
    fn a_value_that_begins_another_does_not_uncover_it() {
        let text = b"[abcdef] [abc] [abcd]";
        let want = "[<concealed by keyslot>] [<concealed by keyslot>] [<concealed by keyslot>d]";
        for cut in 0..=text.len() {
            assert_eq!(
                masked(&["abc", "abcdef"], &[&text[..cut], &text[cut..]]),
                want,
                "split at {cut}"
            );
        }
    }

    #[test]
    fn near_misses_and_short_values_pass_unchanged() {
        assert_eq!(
            masked(&["secret"], &[b"secre", b"t!"]),
            "<concealed by keyslot>!"
        );
        assert_eq!(masked(&["secret"], &[b"secre", b"T!"]), "secreT!");
        assert_eq!(
            masked(&["secret"], &[b"secr"]),
            "secr",
            "held back, then released"
        );
        assert_eq!(masked(&["ok", "1"], &[b"ok 1 ok"]), "ok 1 ok");
        assert_eq!(masked(&[], &[b"plain"]), "plain");
        assert_eq!(
            masked(&["line1\nline2"], &[b"a line1\n", b"line2 b"]),
            "a <concealed by keyslot> b"
        );
    }

    #[test]
    fn only_a_possible_beginning_is_held_back() {
        let mut m = Masker::new(Secrets::new([b"secret".as_slice()]));
        let mut out = Vec::new();
        m.push(b"progress 10%\nse", &mut out);
        assert_eq!(out, b"progress 10%\n");
        out.clear();
        m.push(b"x", &mut out);
        assert_eq!(out, b"sex");
    }

    #[test]
    fn pump_masks_and_stops_when_its_reader_goes() {
        let secrets = Secrets::new([b"hunter22".as_slice()]);
        let mut out = Vec::new();
        pump(&b"pw=hunter22\n"[..], &mut out, secrets.clone());
        assert_eq!(out, b"pw=<concealed by keyslot>\n");

        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        pump(&b"pw=hunter22\n"[..], Closed, secrets);
    }
}
