//! Typed decoders: every response framed from any byte stream, and the
//! imaplib-shaped data of the same response, decode to a value or a
//! decoding error, never a panic, however deep its nesting or large its
//! numbers. Every way into the one FETCH check (a frame, a parsed
//! response, the typed decoder) accepts and refuses alike; the owned
//! `Fetch` hands out what the view reads; every value can be read.
//!
//! Input: the server's bytes.

#![no_main]

use imaplib_proto::types::view::{BodyPart, FetchView, ItemView};
use imaplib_proto::types::{
    decode_condition_text, decode_data, decode_frame, decode_response, Typed, Untagged,
};
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
        let resp = Response::parse(frame.clone());
        let typed = decode_response(&resp);
        assert_eq!(decode_frame(frame), typed, "decode_frame and decode_response differ");
        let _ = format!("{typed:?}");
        check_view(&resp, &typed);
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

/// The view of a FETCH response against the owned result.
fn check_view(resp: &Response, typed: &Typed) {
    let from_frame = FetchView::from_frame(resp.frame());
    let from_response = FetchView::from_response(resp);
    assert_eq!(from_frame.is_some(), from_response.is_some());
    match (from_frame, typed) {
        (None, Typed::Untagged(Untagged::Fetch(_))) => panic!("a FETCH the view does not see"),
        (None, _) => {}
        (Some(Ok(view)), Typed::Untagged(Untagged::Fetch(owned))) => {
            assert_eq!(view.to_items(), owned.to_items());
            assert_eq!(view.to_fetch().as_ref(), Ok(owned));
            assert_eq!(view.uid(), owned.uid());
            assert_eq!(view.flags().map(|f| f.to_vec()), owned.flags().map(|f| f.to_vec()));
            assert_eq!(view.envelope().map(|e| e.to_envelope()), owned.to_envelope());
            assert_eq!(
                view.body_structure().map(|b| b.to_body_structure()),
                owned.to_body_structure()
            );
            read_everything(&view);
            read_everything(&owned.view());
        }
        (Some(Err(e)), Typed::Undecodable { error, .. }) => assert_eq!(&e, error),
        (Some(other), _) => panic!("view {other:?} but owned {typed:?}"),
    }
}

/// Reads every value the view hands out.
fn read_everything(view: &FetchView<'_>) {
    fn body(b: BodyPart<'_>, depth: usize) {
        assert!(depth <= imaplib_proto::types::MAX_DEPTH);
        let _ = (b.media_type().as_bytes(), b.media_subtype().as_bytes());
        for (k, v) in b.params() {
            let _ = (k.as_bytes(), v.to_str_lossy());
        }
        let ext = b.extension();
        let _ = (
            ext.disposition().map(|(v, p)| (v, p.count())),
            ext.location(),
        );
        let _ = (ext.language().count(), ext.extra().count());
        if let BodyPart::Single(s) = b {
            if let Some((env, inner)) = s.message() {
                let _ = env.to_envelope();
                body(inner.read(), depth + 1);
            }
        }
        for part in b.parts() {
            body(part, depth + 1);
        }
    }
    for (name, item) in view.items() {
        let _ = format!("{:?} {item:?}", imaplib_proto::Printable(name));
        match item {
            ItemView::BodyStructure(b) | ItemView::Body(b) => body(b.read(), 0),
            ItemView::Envelope(e) => {
                for a in e.from().chain(e.to()).chain(e.cc()) {
                    let _ = (a.name.map(|n| n.as_bytes()), a.is_group_start());
                }
            }
            ItemView::Undecodable { raw, reason } => {
                let _ = (raw.joined(), reason.to_string());
            }
            _ => {}
        }
    }
    if let Some(b) = view.body_structure() {
        body(b, 0);
    }
}
