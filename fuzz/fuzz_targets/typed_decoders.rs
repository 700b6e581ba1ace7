//! Typed decoders: every response framed from any byte stream, and the
//! imaplib-shaped data of the same response, decode to a value or a
//! decoding error, never a panic, however deep its nesting or large its
//! numbers.
//!
//! Input: the server's bytes.

#![no_main]

use imaplib_proto::types::{decode_condition_text, decode_data, decode_response};
use imaplib_proto::{Framer, Kind, Limits, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut framer = Framer::new(Limits {
        max_line: 1 << 16,
        max_literal: 1 << 16,
        max_response: 1 << 20,
    });
    framer.feed(data);
    while let Ok(Some(frame)) = framer.next_frame() {
        let resp = Response::parse(frame);
        let typed = decode_response(&resp);
        let _ = format!("{typed:?}");
        if let Kind::Untagged { name, .. } = resp.kind() {
            // The imaplib-shaped data of the same response, as a command's
            // reply carries it.
            let items = resp.imaplib_items();
            let from_data = decode_data(name, &items);
            let _ = format!("{from_data:?}");
        }
        let _ = decode_condition_text(&resp.text());
    }
});
