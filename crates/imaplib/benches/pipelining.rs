//! Fetching 10,000 messages from a real Dovecot: one command per message
//! and waiting for each, against the same commands pipelined, and against
//! pipelined batches. Prints the numbers.
//!
//! `cargo bench -p imaplib --bench pipelining` (needs Dovecot:
//! `scripts/install-deps.sh`).

#![allow(missing_docs)]

#[path = "../tests/support/dovecot.rs"]
mod dovecot;

use std::time::{Duration, Instant};

use imaplib::{Imap4, Options};

const MESSAGES: usize = 10_000;

fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: message {i}\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m{i}@example.org>\r\n\r\n"
    );
    while m.len() < 2000 {
        m.push_str("The quick brown fox jumps over the lazy dog.\r\n");
    }
    m.into_bytes()
}

fn connect(server: &dovecot::Dovecot) -> Imap4 {
    let mut m = Imap4::with_options(
        "127.0.0.1",
        server.imap_port,
        Options::with_timeout(Duration::from_secs(60)),
    )
    .unwrap();
    m.login("alice", "alicepw").unwrap();
    m.select("INBOX", true).unwrap();
    m
}

fn report(name: &str, took: Duration, bytes: usize) {
    println!(
        "{name:<44} {:>8.3} s {:>9.0} msg/s {:>7.1} MB/s",
        took.as_secs_f64(),
        MESSAGES as f64 / took.as_secs_f64(),
        bytes as f64 / took.as_secs_f64() / 1e6
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let server = dovecot::Dovecot::start();
    let t = Instant::now();
    for i in 1..=MESSAGES {
        server.deliver("alice", "INBOX", &message(i));
    }
    println!(
        "delivered {MESSAGES} messages in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let uids: Vec<u32> = (1..=MESSAGES as u32).collect();
    // Warm Dovecot's index and cache.
    let mut m = connect(&server);
    let mut n = 0;
    m.uid_fetch_pipelined(&uids, "(UID RFC822.SIZE)", 1000, 2, |_| {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(n, MESSAGES);

    // One by one: send, wait, send...
    let t = Instant::now();
    let mut bytes = 0;
    for uid in &uids {
        let reply = m
            .uid("FETCH", [uid.to_string().as_str(), "(RFC822)"])
            .unwrap();
        bytes += reply.data[0].literal().map_or(0, |l| l.len());
    }
    report("one command per message, sequential", t.elapsed(), bytes);

    for (batch, window) in [(1, 32), (1, 128), (100, 4), (500, 2)] {
        let t = Instant::now();
        let mut bytes = 0;
        let mut count = 0;
        m.uid_fetch_pipelined(&uids, "(RFC822)", batch, window, |f| {
            bytes += f.body().map_or(0, |b| b.len());
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, MESSAGES);
        report(
            &format!("pipelined: {batch} UID(s) per command, {window} in flight"),
            t.elapsed(),
            bytes,
        );
    }
    m.logout().unwrap();
}
