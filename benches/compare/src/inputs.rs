//! The inputs every benchmark shares: the recorded corpus, synthetic FETCH
//! responses, and the messages seeded into Dovecot.

// The corpus reader and the synthetic envelope responses are the core
// crate's test data, so that its tests and benchmarks and these measure
// the same bytes.
#[path = "../../../crates/imaplib-proto/tests/support/mod.rs"]
mod shared;

pub use shared::{corpus, envelopes};

/// The item list of the header/envelope workload.
pub const ENVELOPE_ITEMS: &str = "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)";

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
    if !i.is_multiple_of(3) {
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
