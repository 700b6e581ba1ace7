//! Test data shared by this crate's tests and benchmarks (and by the
//! side-by-side benchmark crate in `benches/compare`): the recorded corpus
//! and synthetic FETCH responses. Each user takes what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The recorded corpus (`testdata/corpus/mailkit` in the repository, or
/// `$IMAPLIB_CORPUS`). Missing, it fails the caller: a test that cannot
/// read its input never passes.
pub fn corpus_dir() -> PathBuf {
    let dir = match std::env::var_os("IMAPLIB_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/mailkit"),
    };
    assert!(
        dir.is_dir(),
        "the recorded corpus must be at {} (testdata/corpus in the repository)",
        dir.display()
    );
    dir
}

/// Every `.txt` file of the corpus, in path order.
pub fn corpus_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("corpus directory {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "txt") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&corpus_dir(), &mut out);
    out
}

/// Every file of the corpus concatenated: one stream of server-to-client
/// bytes.
pub fn corpus() -> Vec<u8> {
    let mut out = Vec::new();
    for path in corpus_files() {
        out.extend_from_slice(&std::fs::read(&path).unwrap());
    }
    out
}

/// The untagged responses of `FETCH 1:* (UID FLAGS INTERNALDATE
/// RFC822.SIZE ENVELOPE BODYSTRUCTURE)` for `n` realistic messages: a
/// multipart with a PDF attachment every third, several recipients, a
/// reply's In-Reply-To. No tagged completion.
pub fn envelopes(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 1..=n {
        let body = if i % 3 == 0 {
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 1543 38 NIL NIL NIL NIL)\
(\"application\" \"pdf\" (\"name\" \"report.pdf\") NIL NIL \"base64\" 81234 NIL (\"attachment\" (\"filename\" \"report.pdf\")) NIL NIL) \
\"mixed\" (\"boundary\" \"----=_Part_12_34\") NIL NIL NIL)"
        } else {
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\" \"format\" \"flowed\") NIL NIL \"7bit\" 2345 52 NIL NIL NIL NIL)"
        };
        out.extend_from_slice(
            format!(
                "* {i} FETCH (UID {uid} FLAGS (\\Seen $NotJunk) INTERNALDATE \"{d:02}-Nov-2026 10:{m:02}:00 +0100\" \
RFC822.SIZE {size} ENVELOPE (\"Thu, {d:02} Nov 2026 10:{m:02}:00 +0100\" \"Re: quarterly numbers, part {i}\" \
((\"Alice Example\" NIL \"alice\" \"example.org\")) ((\"Alice Example\" NIL \"alice\" \"example.org\")) \
((\"Alice Example\" NIL \"alice\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.net\")(NIL NIL \"carol\" \"example.com\")) \
NIL NIL \"<prev-{i}@example.org>\" \"<msg-{i}@example.org>\") BODYSTRUCTURE {body})\r\n",
                uid = i + 1000,
                d = 1 + i % 28,
                m = i % 60,
                size = 3000 + i % 5000,
            )
            .as_bytes(),
        );
    }
    out
}
