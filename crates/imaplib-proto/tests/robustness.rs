//! Whatever a server sends, the session never panics: random bytes,
//! corpus transcripts with bytes flipped, cut or repeated, and responses
//! arriving in every state. (Coverage-guided fuzzing goes further; this
//! runs in every test run.)

use imaplib_proto::command::build;
use imaplib_proto::{Event, Limits, Session, SessionConfig};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Feeds `input` to a session with a few commands in flight, in chunks,
/// answering interactive continuations; returns when the input is used up
/// or the session broke.
fn drive(input: &[u8], rng: &mut Rng) {
    let mut s = Session::new(SessionConfig {
        limits: Limits {
            max_line: 4096,
            max_literal: 1 << 16,
            max_response: 1 << 20,
        },
        max_untagged_bytes: 1 << 20,
        ..SessionConfig::default()
    });
    let mut pos = 0;
    let mut commands_sent = false;
    while pos < input.len() {
        let n = 1 + rng.below(64);
        let end = (pos + n).min(input.len());
        s.feed(&input[pos..end]);
        pos = end;
        loop {
            match s.poll_event() {
                Ok(Some(Event::Continuation { tag, .. })) => {
                    let _ = s.continue_with(&tag, b"*", false);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
            while s.poll_transmit().is_some() {}
        }
        if s.greeted() && !commands_sent {
            commands_sent = true;
            for cmd in [
                build::noop(),
                build::login(b"u", b"p"),
                build::select(b"INBOX", false),
                build::append(None, None, None, b"hello", false),
                build::authenticate("PLAIN"),
                build::fetch(b"1:*", b"(FLAGS)"),
                build::logout(),
            ] {
                let _ = s.command(cmd);
            }
        }
        for name in ["FETCH", "EXISTS", "OK", "CAPABILITY", "BYE"] {
            if rng.below(4) == 0 {
                let _ = s.pop_untagged(name);
            }
        }
    }
}

mod support;

fn corpus_files() -> Vec<Vec<u8>> {
    support::corpus_files()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let alphabet = b"* OK NO BAD BYE PREAUTH FETCH {}[]()~+\"\\\r\n0123456789 A1 CAPABILITY\0\xff";
    for _ in 0..300 {
        let len = rng.below(2000);
        let mut input = b"* OK hi\r\n".to_vec();
        for _ in 0..len {
            input.push(alphabet[rng.below(alphabet.len())]);
        }
        drive(&input, &mut rng);
    }
}

#[test]
fn mutated_corpus_never_panics() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let files = corpus_files();
    assert!(!files.is_empty());
    for file in &files {
        for _ in 0..4 {
            let mut input = b"* PREAUTH hi\r\n".to_vec();
            let mut body = file.clone();
            match rng.below(4) {
                0 => {
                    for _ in 0..1 + rng.below(8) {
                        if !body.is_empty() {
                            let i = rng.below(body.len());
                            body[i] = rng.next() as u8;
                        }
                    }
                }
                1 => body.truncate(rng.below(body.len() + 1)),
                2 => {
                    let i = rng.below(body.len() + 1);
                    let tail = body[i..].to_vec();
                    body.extend_from_slice(&tail);
                }
                _ => {
                    // Replace the placeholder tag by a plausible real one.
                    let text = String::from_utf8_lossy(&body).replace("A########", "AAAA3");
                    body = text.into_bytes();
                }
            }
            input.extend_from_slice(&body);
            drive(&input, &mut rng);
        }
    }
}
