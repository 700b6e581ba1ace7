//! A 200 MB message goes into Dovecot and comes back out through the
//! streaming APPEND and FETCH, while this process's peak memory (VmHWM from
//! /proc) stays under 32 MB. One test in its own binary, so nothing else
//! runs in the process.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use imaplib::Options;
use support::dovecot::Dovecot;

const SIZE: u64 = 200 * 1024 * 1024;

/// A readable message of exactly `SIZE` bytes, generated on the fly.
struct Message {
    pos: u64,
}

const HEADER: &[u8] = b"From: a@example.org\r\nSubject: big\r\n\r\n";
const LINE: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n";

fn byte_at(pos: u64) -> u8 {
    if pos < HEADER.len() as u64 {
        HEADER[pos as usize]
    } else {
        LINE[((pos - HEADER.len() as u64) % LINE.len() as u64) as usize]
    }
}

impl Read for Message {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min((SIZE - self.pos) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = byte_at(self.pos + i as u64);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Checks every byte against the generator without keeping it.
struct Verify {
    pos: u64,
    mismatches: u64,
}

impl Write for Verify {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for (i, &b) in buf.iter().enumerate() {
            if b != byte_at(self.pos + i as u64) {
                self.mismatches += 1;
            }
        }
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

both! {
fn two_hundred_megabytes_in_and_out_in_bounded_memory() {
    let server = Dovecot::start();
    let mut m = Imap4::with_options(
        "127.0.0.1",
        server.imap_port,
        Options::with_timeout(Duration::from_secs(120)),
    )
    .unwrap();
    m.login("alice", "alicepw").unwrap();
    let before = peak_rss_kib();

    let mut sent = 0;
    let reply = m
        .append_from(
            Some("INBOX"),
            None,
            None,
            &mut Message { pos: 0 },
            SIZE,
            |n| sent = n,
        )
        .unwrap();
    assert!(reply.is_ok(), "{reply:?}");
    assert_eq!(sent, SIZE);

    m.select("INBOX", false).unwrap();
    let mut sink = Verify {
        pos: 0,
        mismatches: 0,
    };
    let written = m.uid_fetch_to(1, "BODY.PEEK[]", &mut sink).unwrap();
    assert_eq!(written, SIZE);
    assert_eq!(sink.mismatches, 0);
    m.logout().unwrap();

    let peak = peak_rss_kib();
    println!(
        "peak RSS: {before} KiB before, {peak} KiB after moving {} MiB each way",
        SIZE >> 20
    );
    assert!(peak < 32 * 1024, "peak RSS {peak} KiB is over 32 MiB");
}
}
