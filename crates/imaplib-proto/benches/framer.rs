//! Framer + parser throughput: the baseline later performance work is
//! measured against. Run with `cargo bench -p imaplib-proto --bench framer`;
//! criterion prints MB/s for each input.

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use imaplib_proto::{Framer, Limits, Response};

#[path = "../tests/support/mod.rs"]
mod support;

/// Frames and parses `input` fed in `chunk`-byte reads; returns the number
/// of responses and of imaplib data items.
fn decode(input: &[u8], chunk: usize) -> (usize, usize) {
    let mut framer = Framer::new(Limits {
        max_literal: 1 << 30,
        ..Limits::default()
    });
    let (mut responses, mut items) = (0, 0);
    for piece in input.chunks(chunk) {
        framer.feed(piece);
        while let Some(frame) = framer.next_frame().expect("valid input") {
            let resp = Response::parse(frame);
            items += resp.imaplib_items().len();
            responses += 1;
        }
    }
    (responses, items)
}

/// `* N FETCH (UID N RFC822 {size}` + a message, for about `total` bytes.
pub fn synthetic_fetch(total: usize) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        b"Return-Path: <alice@example.org>\r\nFrom: Alice <alice@example.org>\r\n\
To: Bob <bob@example.org>\r\nSubject: benchmark message\r\n\
Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <B27397-0100000@example.org>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
    );
    while body.len() < 10_000 {
        body.extend_from_slice(
            b"The quick brown fox jumps over the lazy dog, again and again.\r\n",
        );
    }
    let mut out = Vec::with_capacity(total + 100_000);
    let mut n = 1;
    while out.len() < total {
        out.extend_from_slice(
            format!("* {n} FETCH (UID {n} RFC822 {{{}}}\r\n", body.len()).as_bytes(),
        );
        out.extend_from_slice(&body);
        out.extend_from_slice(b")\r\n");
        n += 1;
    }
    out.extend_from_slice(b"A1 OK FETCH completed\r\n");
    out
}

/// `FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)`
/// for `n` realistic messages, with its tagged completion.
pub fn synthetic_envelopes(n: usize) -> Vec<u8> {
    let mut out = support::envelopes(n);
    out.extend_from_slice(b"A1 OK FETCH completed\r\n");
    out
}

/// Frames, parses and types every response; returns how many FETCH
/// responses carried an envelope and a body structure.
fn decode_typed(input: &[u8], chunk: usize) -> usize {
    use imaplib_proto::types::{decode_response, Typed, Untagged};
    let mut framer = Framer::new(Limits::default());
    let mut n = 0;
    for piece in input.chunks(chunk) {
        framer.feed(piece);
        while let Some(frame) = framer.next_frame().expect("valid input") {
            if let Typed::Untagged(Untagged::Fetch(f)) = decode_response(&Response::parse(frame)) {
                if f.envelope().is_some() && f.body_structure().is_some() {
                    n += 1;
                }
            }
        }
    }
    n
}

/// The same through the borrowed view: each FETCH response checked whole
/// by `FetchView`, its envelope's addresses and its body parts read.
fn decode_view(input: &[u8], chunk: usize) -> usize {
    use imaplib_proto::types::view::FetchView;
    let mut framer = Framer::new(Limits::default());
    let mut n = 0;
    for piece in input.chunks(chunk) {
        framer.feed(piece);
        while let Some(frame) = framer.next_frame().expect("valid input") {
            if let Some(Ok(v)) = FetchView::from_frame(&frame) {
                if let (Some(e), Some(b)) = (v.envelope(), v.body_structure()) {
                    let addresses = e.from().chain(e.to()).chain(e.cc()).count();
                    let parts = b.parts().count();
                    n += usize::from(addresses > 0 || parts > 0);
                }
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let corpus = support::corpus();
    let mut g = c.benchmark_group("framer+parser");
    g.throughput(Throughput::Bytes(corpus.len() as u64));
    g.bench_function("corpus/whole", |b| b.iter(|| decode(&corpus, corpus.len())));
    g.bench_function("corpus/16KiB-reads", |b| {
        b.iter(|| decode(&corpus, 16 * 1024))
    });
    let fetch = synthetic_fetch(100 * 1024 * 1024);
    g.throughput(Throughput::Bytes(fetch.len() as u64));
    g.sample_size(10);
    g.bench_function("fetch-rfc822-100MB/64KiB-reads", |b| {
        b.iter(|| decode(&fetch, 64 * 1024))
    });
    g.finish();

    let envelopes = synthetic_envelopes(10_000);
    assert_eq!(decode_typed(&envelopes, 64 * 1024), 10_000);
    let mut g = c.benchmark_group("typed");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(20);
    g.bench_function("envelope+bodystructure-10k/responses", |b| {
        b.iter(|| decode_typed(&envelopes, 64 * 1024))
    });
    assert_eq!(decode_view(&envelopes, 64 * 1024), 10_000);
    g.bench_function("envelope+bodystructure-10k/view-responses", |b| {
        b.iter(|| decode_view(&envelopes, 64 * 1024))
    });
    g.throughput(Throughput::Bytes(envelopes.len() as u64));
    g.bench_function("envelope+bodystructure-10k/bytes", |b| {
        b.iter(|| decode_typed(&envelopes, 64 * 1024))
    });
    g.throughput(Throughput::Bytes(corpus.len() as u64));
    g.bench_function("corpus/typed", |b| {
        b.iter(|| decode_typed(&corpus, corpus.len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
