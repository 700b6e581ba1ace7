//! Framer + parser: any byte stream, cut into any chunks, frames the same
//! way as when it arrives whole; frames account for every byte consumed;
//! parsing a frame never fails or panics.
//!
//! Input: one byte that seeds the chunk sizes, then the server's bytes.

#![no_main]

use imaplib_proto::{Frame, Framer, Limits, ProtoErrorKind, Response};
use libfuzzer_sys::fuzz_target;

/// Small limits, so that the limit paths are reached by short inputs.
const LIMITS: Limits = Limits {
    max_line: 4096,
    max_literal: 1 << 16,
    max_response: 1 << 20,
};

/// What a stream framed into: the frames' raw bytes, and the error that
/// stopped it, if any.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    frames: Vec<Vec<u8>>,
    error: Option<ProtoErrorKind>,
}

fn frame_all(input: &[u8], mut next_chunk: impl FnMut() -> usize) -> Outcome {
    let mut framer = Framer::new(LIMITS);
    let mut out = Outcome {
        frames: Vec::new(),
        error: None,
    };
    let mut pos = 0;
    while pos < input.len() {
        let end = (pos + next_chunk()).min(input.len());
        framer.feed(&input[pos..end]);
        pos = end;
        loop {
            match framer.next_frame() {
                Ok(Some(frame)) => {
                    check_frame(&frame);
                    out.frames.push(frame.raw().to_vec());
                }
                Ok(None) => break,
                Err(e) => {
                    // Errors are sticky.
                    assert_eq!(framer.next_frame().unwrap_err().kind(), e.kind());
                    out.error = Some(e.kind());
                    return out;
                }
            }
        }
    }
    out
}

/// A frame's lines and literals tile its bytes in order, with one more
/// line than literals, and the parser accepts whatever it is.
fn check_frame(frame: &Frame) {
    assert_eq!(frame.line_count(), frame.literal_count() + 1);
    let mut at = 0;
    for i in 0..frame.line_count() {
        let line = frame.line_range(i);
        assert!(line.start >= at && line.end <= frame.len());
        assert!(line.end - line.start <= LIMITS.max_line);
        at = line.end;
        if i < frame.literal_count() {
            let lit = frame.literal_range(i);
            assert!(lit.start >= at && lit.end <= frame.len());
            assert!((lit.end - lit.start) as u64 <= LIMITS.max_literal);
            at = lit.end;
        }
    }
    let resp = Response::parse(frame.clone());
    let _ = (resp.kind(), resp.code(), resp.status(), resp.text());
    let _ = resp.text_after_code();
    let items = resp.imaplib_items();
    assert_eq!(items.len(), frame.literal_count() + 1);
}

/// A CR waiting for its LF does not count against the line limit, so lines
/// of exactly the limit are compared however they are split too.
const CHECK_LINES_AT_THE_LIMIT: bool = true;

/// True if the input holds a line of exactly the limit plus CR LF.
fn has_line_at_the_limit(input: &[u8]) -> bool {
    input
        .split(|&b| b == b'\n')
        .any(|l| l.len() == LIMITS.max_line + 1 && l.ends_with(b"\r"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let whole = frame_all(input, || input.len().max(1));
    // The frames account for exactly the bytes they consumed, in order.
    let joined: Vec<u8> = whole.frames.concat();
    assert_eq!(&input[..joined.len()], &joined[..]);
    if !CHECK_LINES_AT_THE_LIMIT && has_line_at_the_limit(input) {
        return;
    }
    let mut state = u32::from(seed) | 1;
    let chunked = frame_all(input, || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        1 + (state % 97) as usize
    });
    assert_eq!(whole, chunked, "the chunking changed the result");
    if input.len() <= 4096 {
        let bytewise = frame_all(input, || 1);
        assert_eq!(whole, bytewise, "one byte at a time changed the result");
    }
});
