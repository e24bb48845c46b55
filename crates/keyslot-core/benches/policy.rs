//! The password strength check on hostile input (issue 13): a long password of
//! characters zxcvbn reads as l33t substitutions, whose full scoring costs seconds of CPU.
//! `before_*` is zxcvbn over the whole password, as the check ran until issue 13;
//! `policy_password_*` is the check as it runs now (a bounded prefix, length credit).
//!
//! `cargo bench -p keyslot-core --bench policy`
#![allow(clippy::unwrap_used)]

use keyslot_core::policy;

/// The l33t alphabet of the review, repeated to `len` characters.
fn leet(len: usize) -> String {
    "4@8({[<369!1|70$5+%2".chars().cycle().take(len).collect()
}

/// L33t characters between letters, to `len` characters.
fn mixed(len: usize) -> String {
    "a4b@c8d(e{f[g<h3i6j9k!l1m|n7o0p$q5r+s%t2"
        .chars()
        .cycle()
        .take(len)
        .collect()
}

/// An ordinary long passphrase, to `len` characters.
fn words(len: usize) -> String {
    "correct horse battery staple and then some more words "
        .chars()
        .cycle()
        .take(len)
        .collect()
}

fn main() {
    divan::main();
}

#[divan::bench(args = [16, 32, 64, 100], sample_count = 10)]
fn before_leet(bencher: divan::Bencher<'_, '_>, len: usize) {
    let password = leet(len);
    let mut known = vec!["alice"];
    known.extend_from_slice(policy::CONTEXT_WORDS);
    bencher.bench(|| zxcvbn::zxcvbn(divan::black_box(&password), &known).score());
}

#[divan::bench(args = [64, 100], sample_count = 10)]
fn before_mixed(bencher: divan::Bencher<'_, '_>, len: usize) {
    let password = mixed(len);
    let mut known = vec!["alice"];
    known.extend_from_slice(policy::CONTEXT_WORDS);
    bencher.bench(|| zxcvbn::zxcvbn(divan::black_box(&password), &known).score());
}

#[divan::bench(args = [100, 1024])]
fn policy_password_leet(bencher: divan::Bencher<'_, '_>, len: usize) {
    let password = leet(len);
    bencher.bench(|| policy::password("password", divan::black_box(&password), "alice"));
}

#[divan::bench(args = [100, 1024])]
fn policy_password_mixed(bencher: divan::Bencher<'_, '_>, len: usize) {
    let password = mixed(len);
    bencher.bench(|| policy::password("password", divan::black_box(&password), "alice"));
}

#[divan::bench(args = [28, 1024])]
fn policy_password_words(bencher: divan::Bencher<'_, '_>, len: usize) {
    let password = words(len);
    bencher.bench(|| policy::password("password", divan::black_box(&password), "alice"));
}
