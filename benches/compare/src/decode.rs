//! Benchmark 1: decoder throughput in-process, no I/O. Each decoder turns
//! the same bytes into typed values: ours (framer + parser + typed
//! decoder), ours again with the borrowed FETCH view (framer + view, every
//! decoded value read), imap-proto 0.17 and imap-codec 2.x.

use std::hint::black_box;
use std::time::Duration;

use imap_codec::decode::Decoder as _;
use imaplib_proto::types::view::{BodyPart, ExtensionView, FetchView, Params, StrView};
use imaplib_proto::types::{decode_response, Typed, Untagged};
use imaplib_proto::{Framer, Limits, Response};

use crate::inputs;
use crate::table::{measure, Row, Table};

/// Read size fed to our framer, as a socket read would bring.
const CHUNK: usize = 64 * 1024;

/// Counts of one decoding pass: responses decoded, and how many of them
/// (or, for the peers, how many stretches of input) failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub ok: usize,
    pub failed: usize,
}

/// Ours: the framer fed in socket-sized reads, each frame parsed and typed.
pub fn ours(input: &[u8]) -> Count {
    let mut framer = Framer::new(Limits {
        max_literal: 1 << 30,
        ..Limits::default()
    });
    let mut n = Count::default();
    for piece in input.chunks(CHUNK) {
        framer.feed(piece);
        while let Some(frame) = framer.next_frame().expect("framable input") {
            let typed = decode_response(&Response::parse(frame));
            match &typed {
                Typed::Undecodable { .. } | Typed::Unparsed { .. } => n.failed += 1,
                Typed::Untagged(Untagged::Fetch(f)) if f.has_undecodable() => n.failed += 1,
                _ => n.ok += 1,
            }
            black_box(typed);
        }
    }
    n
}

/// Ours, borrowed: the framer fed in socket-sized reads; each FETCH
/// response checked whole by [`FetchView`] and every value the peers
/// produce read from it (flags, dates, sizes, every envelope string and
/// address, every body part with its parameters and extension data); any
/// other response parsed and typed as in [`ours`].
pub fn ours_view(input: &[u8]) -> Count {
    let mut framer = Framer::new(Limits {
        max_literal: 1 << 30,
        ..Limits::default()
    });
    let mut n = Count::default();
    for piece in input.chunks(CHUNK) {
        framer.feed(piece);
        while let Some(frame) = framer.next_frame().expect("framable input") {
            match FetchView::from_frame(&frame) {
                Some(Ok(view)) => {
                    black_box(touch(&view));
                    if view.has_undecodable() {
                        n.failed += 1;
                    } else {
                        n.ok += 1;
                    }
                }
                Some(Err(e)) => {
                    black_box(e);
                    n.failed += 1;
                }
                None => {
                    let typed = decode_response(&Response::parse(frame));
                    match &typed {
                        Typed::Undecodable { .. } | Typed::Unparsed { .. } => n.failed += 1,
                        _ => n.ok += 1,
                    }
                    black_box(typed);
                }
            }
        }
    }
    n
}

/// Reads every value of a FETCH view, as the peers' decoders produce them
/// (strings unescaped, flags as text); returns a checksum.
fn touch(v: &FetchView<'_>) -> usize {
    fn s(x: StrView<'_>) -> usize {
        black_box(x.as_bytes()).len()
    }
    fn o(x: Option<StrView<'_>>) -> usize {
        x.map_or(0, s)
    }
    fn params(p: Params<'_>) -> usize {
        p.map(|(k, v)| s(k) + s(v)).sum()
    }
    fn ext(e: ExtensionView<'_>) -> usize {
        let mut n = 0;
        if let Some((value, p)) = e.disposition() {
            n += s(value) + params(p);
        }
        n += e.language().map(s).sum::<usize>();
        n += o(e.location());
        n + e.extra().map(s).sum::<usize>()
    }
    fn body(b: BodyPart<'_>) -> usize {
        match b {
            BodyPart::Single(p) => {
                let mut n = s(p.media_type) + s(p.media_subtype) + params(p.params());
                n += o(p.id) + o(p.description) + o(p.encoding) + o(p.md5);
                n += p.size as usize + p.lines.unwrap_or(0) as usize;
                if let Some((e, inner)) = p.message() {
                    n += o(e.subject()) + body(inner.read());
                }
                n + ext(p.extension())
            }
            BodyPart::Multipart(m) => {
                let mut n = s(m.media_subtype) + params(m.params()) + ext(m.extension());
                for part in m.parts() {
                    n += body(part);
                }
                n
            }
        }
    }
    let mut n = v.seq() as usize + v.uid().unwrap_or(0) as usize;
    if let Some(flags) = v.flags() {
        n += flags.iter().map(|f| black_box(f).len()).sum::<usize>();
    }
    n += v.internal_date().map_or(0, |d| d.timestamp() as usize);
    n += v.rfc822_size().unwrap_or(0) as usize;
    if let Some(e) = v.envelope() {
        n += o(e.date()) + o(e.subject()) + o(e.in_reply_to()) + o(e.message_id());
        for list in [e.from(), e.sender(), e.reply_to(), e.to(), e.cc(), e.bcc()] {
            for a in list {
                n += o(a.name) + o(a.adl) + o(a.mailbox) + o(a.host);
            }
        }
    }
    if let Some(b) = v.body_structure() {
        n += body(b);
    }
    n + v.body().map_or(0, s)
}

/// Skips past the next line feed (how a stream reader resynchronises after
/// a response it cannot parse).
fn skip_line(rest: &[u8]) -> &[u8] {
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) => &rest[i + 1..],
        None => &[],
    }
}

/// imap-proto 0.17 over the whole input.
pub fn imap_proto(input: &[u8]) -> Count {
    let mut n = Count::default();
    let mut rest = input;
    while !rest.is_empty() {
        match imap_proto::Response::parse(rest) {
            Ok((r, resp)) => {
                black_box(resp);
                n.ok += 1;
                rest = r;
            }
            Err(e) if e.is_incomplete() => {
                n.failed += 1;
                break;
            }
            Err(_) => {
                n.failed += 1;
                rest = skip_line(rest);
            }
        }
    }
    n
}

/// imap-codec 2.x's response decoder over the whole input.
pub fn imap_codec(input: &[u8]) -> Count {
    let codec = imap_codec::ResponseCodec::default();
    let mut n = Count::default();
    let mut rest = input;
    while !rest.is_empty() {
        match codec.decode(rest) {
            Ok((r, resp)) => {
                black_box(resp);
                n.ok += 1;
                rest = r;
            }
            Err(imap_codec::decode::ResponseDecodeError::Incomplete) => {
                n.failed += 1;
                break;
            }
            Err(_) => {
                n.failed += 1;
                rest = skip_line(rest);
            }
        }
    }
    n
}

/// How many of the frames of `input` (as our framer cuts them) each peer
/// decodes completely: `(frames, imap-proto, imap-codec)`.
pub fn per_frame_success(input: &[u8]) -> (usize, usize, usize) {
    let mut framer = Framer::new(Limits {
        max_literal: 1 << 30,
        ..Limits::default()
    });
    framer.feed(input);
    let codec = imap_codec::ResponseCodec::default();
    let greeting = imap_codec::GreetingCodec::default();
    let (mut frames, mut proto, mut icodec) = (0, 0, 0);
    while let Some(frame) = framer.next_frame().expect("framable input") {
        frames += 1;
        let raw = frame.raw();
        if matches!(imap_proto::Response::parse(raw), Ok((r, _)) if r.is_empty()) {
            proto += 1;
        }
        let by_codec = matches!(codec.decode(raw), Ok((r, _)) if r.is_empty())
            || matches!(greeting.decode(raw), Ok((r, _)) if r.is_empty());
        if by_codec {
            icodec += 1;
        }
    }
    (frames, proto, icodec)
}

/// The framer and the response parser alone, no typed decoding: the floor
/// under every typed decoder of ours.
pub fn frames_only(input: &[u8]) -> Count {
    let mut framer = Framer::new(Limits {
        max_literal: 1 << 30,
        ..Limits::default()
    });
    let mut n = Count::default();
    for piece in input.chunks(CHUNK) {
        framer.feed(piece);
        while let Some(frame) = framer.next_frame().expect("framable input") {
            black_box(Response::parse(frame));
            n.ok += 1;
        }
    }
    n
}

/// Runs one of our decoders (`variant`: owned, view or frames) on input
/// `which` (a, b or c) for `secs` seconds.
pub fn profile(which: &str, secs: f64, variant: &str) {
    let decoder: fn(&[u8]) -> Count = match variant {
        "owned" => ours,
        "view" => ours_view,
        "frames" => frames_only,
        "imap-proto" => imap_proto,
        "imap-codec" => imap_codec,
        other => panic!("unknown decoder {other}: owned, view, frames, imap-proto or imap-codec"),
    };
    let input = match which {
        "a" => inputs::corpus(),
        "b" => {
            let mut envelopes = inputs::envelopes(10_000);
            envelopes.extend_from_slice(b"A1 OK FETCH completed\r\n");
            envelopes
        }
        _ => {
            let mut literals = inputs::body_literals(1_000, 100_000_000);
            literals.extend_from_slice(b"A1 OK FETCH completed\r\n");
            literals
        }
    };
    // A negative number of seconds means that many passes (for callgrind).
    let passes = if secs < 0.0 {
        -secs as usize
    } else {
        usize::MAX
    };
    let start = std::time::Instant::now();
    let mut n = 0;
    while n < passes && (secs < 0.0 || start.elapsed().as_secs_f64() < secs) {
        black_box(decoder(&input));
        n += 1;
    }
    eprintln!(
        "{n} passes, {:.3} ms each",
        start.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}

fn workload_inputs() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let corpus = inputs::corpus();
    let mut envelopes = inputs::envelopes(10_000);
    envelopes.extend_from_slice(b"A1 OK FETCH completed\r\n");
    let mut literals = inputs::body_literals(1_000, 100_000_000);
    literals.extend_from_slice(b"A1 OK FETCH completed\r\n");
    (corpus, envelopes, literals)
}

/// Runs the three decoders on the three inputs and adds the rows.
pub fn run(table: &mut Table, budget: Duration) {
    let (corpus, envelopes, literals) = workload_inputs();
    let workloads: [(&str, &str, &[u8]); 3] = [
        ("decode (a)", "recorded corpus, whole stream", &corpus),
        (
            "decode (b)",
            "10,000 FETCH (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)",
            &envelopes,
        ),
        (
            "decode (c)",
            "1,000 FETCH BODY[] literals, 100 MB",
            &literals,
        ),
    ];
    for (id, what, input) in workloads {
        let (frames, proto_ok, codec_ok) = per_frame_success(input);
        eprintln!(
            "{id}: {} bytes, {frames} responses; complete decodes: imap-proto {proto_ok}, imap-codec {codec_ok}",
            input.len()
        );
        let ours_count = ours(input);
        let view_count = ours_view(input);
        let (t_ours, _) = measure(budget, || ours(input));
        let (t_view, _) = measure(budget, || ours_view(input));
        let (t_proto, _) = measure(budget, || imap_proto(input));
        let (t_codec, _) = measure(budget, || imap_codec(input));
        let mb = input.len() as f64 / 1e6;
        let row = |client: String, t: f64, ok: usize| Row {
            section: "1 decoder".into(),
            workload: format!("{id} {what}"),
            client,
            figure: format!("{:.0} MB/s, {:.0} responses/s", mb / t, frames as f64 / t),
            note: format!("{ok}/{frames} responses typed"),
            ratio: Some(t / t_ours),
        };
        table.push(row(
            "ours (framer + typed decoder)".into(),
            t_ours,
            ours_count.ok,
        ));
        table.push(row(
            "ours, borrowed view (framer + FetchView, values read)".into(),
            t_view,
            view_count.ok,
        ));
        // The peers' time against the view's as well.
        let against_view = |mut r: Row, t: f64| {
            r.note = format!("{}; {:.2}× the view's time", r.note, t / t_view);
            r
        };
        table.push(against_view(
            row("imap-proto 0.17".into(), t_proto, proto_ok),
            t_proto,
        ));
        table.push(against_view(
            row("imap-codec 2.0.0-alpha.10".into(), t_codec, codec_ok),
            t_codec,
        ));
    }
}
