//! The session: whatever the server sends, in whatever chunks, with
//! commands in flight, the session never panics; once it reports a fatal
//! error it stays broken and sends nothing more.
//!
//! Input: one byte of options (greeting, FETCH capture, chunk sizes),
//! then the server's bytes.

#![no_main]

use imaplib_proto::command::build;
use imaplib_proto::{Event, Limits, Session, SessionConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&options, input)) = data.split_first() else {
        return;
    };
    let mut s = Session::new(SessionConfig {
        limits: Limits {
            max_line: 4096,
            max_literal: 1 << 16,
            max_response: 1 << 20,
        },
        max_untagged_bytes: 1 << 18,
        ..SessionConfig::default()
    });
    // Recorded transcripts start after the greeting; give them one.
    if options & 1 == 0 {
        s.feed(b"* PREAUTH [CAPABILITY IMAP4rev1 IDLE LITERAL+] hi\r\n");
    }
    // FETCH kept whole for the caller (fetch_each) instead of stored.
    if options & 2 != 0 {
        s.capture_responses(Some("FETCH"));
    }
    let mut state = u32::from(options) | 1;
    let mut pos = 0;
    let mut commands_sent = false;
    let mut broken = false;
    while pos < input.len() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let end = (pos + 1 + (state % 64) as usize).min(input.len());
        s.feed(&input[pos..end]);
        pos = end;
        loop {
            match s.poll_event() {
                Ok(Some(Event::Continuation { tag, .. })) => {
                    let _ = s.continue_with(&tag, b"*", false);
                }
                Ok(Some(_)) => assert!(!broken, "an event after a fatal error"),
                Ok(None) => break,
                Err(e) => {
                    assert!(e.kind().is_fatal(), "{e:?}");
                    broken = true;
                    break;
                }
            }
            while s.poll_transmit().is_some() {}
        }
        if broken {
            // Sticky: later calls fail too, and nothing is queued.
            assert!(s.poll_event().is_err());
            assert!(s.command(build::noop()).is_err());
            assert!(s.poll_transmit().is_none() || s.poll_transmit().is_none());
            return;
        }
        if s.greeted() && !commands_sent {
            commands_sent = true;
            for cmd in [
                build::noop(),
                build::login(b"user", b"password"),
                build::select(b"INBOX", false),
                build::append(None, None, None, b"hello", false),
                build::fetch(b"1:*", b"(FLAGS BODY[])"),
                build::idle(),
                build::authenticate("PLAIN"),
                build::logout(),
            ] {
                let _ = s.command(cmd);
            }
            while s.poll_transmit().is_some() {}
        }
        if state & 4 == 0 {
            for resp in s.take_responses() {
                let _ = imaplib_proto::types::decode_response(&resp);
            }
        }
        for name in ["FETCH", "EXISTS", "OK", "CAPABILITY", "SEARCH"] {
            if state & 3 == 0 {
                let _ = s.pop_untagged(name);
            }
        }
    }
});
