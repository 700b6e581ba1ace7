//! The inputs every benchmark shares: the recorded corpus, synthetic FETCH
//! responses, and the messages seeded into Dovecot.

use std::path::{Path, PathBuf};

/// The recorded corpus directory (`shared/corpus/mailkit` beside the repo).
pub fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMAPLIB_CORPUS") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/mailkit")
}

/// Every `.txt` file of the corpus, in path order, concatenated: one stream
/// of server-to-client bytes.
pub fn corpus() -> Vec<u8> {
    fn walk(dir: &Path, out: &mut Vec<u8>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("corpus directory {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "txt") {
                out.extend_from_slice(&std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = Vec::new();
    walk(&corpus_dir(), &mut out);
    out
}

/// The item list of the header/envelope workload.
pub const ENVELOPE_ITEMS: &str = "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)";

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

/// A realistic message of about `size` bytes (headers, then text lines).
pub fn message(i: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <alice@example.org>\r\nDelivered-To: bob@example.net\r\n\
         Received: from mail.example.org (mail.example.org [192.0.2.10])\r\n\
         \tby mx.example.net with ESMTPS id {i:08x}\r\n\
         \tfor <bob@example.net>; Thu, 26 Nov 2026 10:00:00 +0000\r\n\
         From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n\
         Cc: Carol <carol@example.com>\r\nSubject: Re: quarterly numbers, part {i}\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <msg-{i}@example.org>\r\n\
         In-Reply-To: <prev-{i}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    .into_bytes();
    let lines: [&[u8]; 4] = [
        b"Hi Bob, here are the numbers we talked about on Monday; see below.\r\n",
        b"> The quick brown fox jumps over the lazy dog, again and again and again.\r\n",
        b"Revenue grew by 4.2% over the quarter, costs stayed where they were.\r\n",
        b"-- \r\nAlice\r\n",
    ];
    let mut k = i;
    while m.len() < size {
        m.extend_from_slice(lines[k % lines.len()]);
        k += 1;
    }
    m
}

/// `* n FETCH (RFC822 {size}` + message + `)` for `count` messages of
/// `size` bytes each (`item` names the data item: `RFC822`, `BODY[]`).
pub fn literal_fetches(count: usize, size: usize, item: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * (size + 64));
    for i in 1..=count {
        let body = message(i, size);
        out.extend_from_slice(format!("* {i} FETCH ({item} {{{}}}\r\n", body.len()).as_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(b")\r\n");
    }
    out
}

/// `* n FETCH (UID n BODY[] {size}` ... for 1,000 messages totalling
/// `total` literal bytes.
pub fn body_literals(count: usize, total: usize) -> Vec<u8> {
    let size = total / count;
    let mut out = Vec::with_capacity(total + count * 64);
    for i in 1..=count {
        let mut body = message(i, size);
        body.truncate(size);
        out.extend_from_slice(
            format!(
                "* {i} FETCH (UID {} BODY[] {{{}}}\r\n",
                i + 1000,
                body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&body);
        out.extend_from_slice(b")\r\n");
    }
    out
}

/// A message for Dovecot: about 2-12 KB of text, a multipart with a small
/// base64 attachment every third.
pub fn dovecot_message(i: usize) -> Vec<u8> {
    let size = 2000 + (i * 7919) % 10_000;
    if i % 3 != 0 {
        return message(i, size);
    }
    let mut m = format!(
        "From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n\
         Cc: Carol <carol@example.com>\r\nSubject: report {i}\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <rep-{i}@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"----=_Part_12_34\"\r\n\r\n\
         ------=_Part_12_34\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         The report is attached.\r\n\r\n------=_Part_12_34\r\n\
         Content-Type: application/pdf; name=\"report.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"report.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    )
    .into_bytes();
    while m.len() < size {
        m.extend_from_slice(
            b"JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29k\r\n",
        );
    }
    m.extend_from_slice(b"\r\n------=_Part_12_34--\r\n");
    m
}
