//! Benchmark 1: decoder throughput in-process, no I/O. Each decoder turns
//! the same bytes into typed values: ours (framer + parser + typed
//! decoder), ours again with the borrowed FETCH view (framer + view, every
//! decoded value read), imap-proto 0.17 and imap-codec 2.x.

use std::hint::black_box;
use std::time::Duration;

use imap_codec::decode::Decoder as _;
use imaplib_proto::types::view::{
    BodyPart, EnvelopeView, ExtensionView, FetchView, FlagsView, Params, StrView,
};
use imaplib_proto::types::{decode_frame, decode_response, Fetch, Typed, Untagged};
use imaplib_proto::{Frame, Framer, Limits, Response};

use crate::inputs;
use crate::table::{measure_interleaved, median, round_ratio, Row, Table};

/// Read size fed to our framer, as a socket read would bring.
const CHUNK: usize = 64 * 1024;

/// Counts of one decoding pass: responses decoded, and how many of them
/// (or, for the peers, how many stretches of input) failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub ok: usize,
    pub failed: usize,
}

/// Feeds `input` to our framer in socket-sized reads and hands `each`
/// every frame as it is cut, as a client's read loop does.
#[inline(always)]
fn each_frame(input: &[u8], mut each: impl FnMut(Frame)) {
    let mut framer = Framer::new(Limits {
        max_literal: 1 << 30,
        ..Limits::default()
    });
    for piece in input.chunks(CHUNK) {
        framer.feed(piece);
        while let Some(frame) = framer.next_frame().expect("framable input") {
            each(frame);
        }
    }
}

/// Ours: the framer fed in socket-sized reads, each frame typed
/// ([`decode_frame`]); every value the peers produce read from each FETCH
/// (as [`ours_view`] does: the owned [`Fetch`] reads its values in place).
pub fn ours(input: &[u8]) -> Count {
    let mut n = Count::default();
    each_frame(input, |frame| {
        let typed = decode_frame(frame);
        if let Typed::Untagged(Untagged::Fetch(f)) = &typed {
            black_box(touch(f));
        }
        tally(&mut n, typed);
    });
    n
}

/// Ours, borrowed: the framer fed in socket-sized reads; each FETCH
/// response checked whole by [`FetchView`] and every value the peers
/// produce read from it (flags, dates, sizes, every envelope string and
/// address, every body part with its parameters and extension data); any
/// other response parsed and typed as in [`ours`].
pub fn ours_view(input: &[u8]) -> Count {
    let mut n = Count::default();
    each_frame(input, |frame| match FetchView::from_frame(&frame) {
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
        None => tally(&mut n, decode_response(&Response::parse(frame))),
    });
    n
}

/// Counts a typed response decoded (or not, or a FETCH with an item that
/// did not decode) and keeps it from being optimised away.
fn tally(n: &mut Count, typed: Typed) {
    match &typed {
        Typed::Undecodable { .. } | Typed::Unparsed { .. } => n.failed += 1,
        Typed::Untagged(Untagged::Fetch(f)) if f.has_undecodable() => n.failed += 1,
        _ => n.ok += 1,
    }
    black_box(typed);
}

/// Ours, owned and nothing read back: each frame typed as in [`ours`]
/// (what keeping the check costs beside [`views_checked`]).
pub fn ours_kept(input: &[u8]) -> Count {
    let mut n = Count::default();
    each_frame(input, |frame| tally(&mut n, decode_frame(frame)));
    n
}

/// Ours, owned and made whole: each frame typed as in [`ours`], then
/// every item of each FETCH made an owned [`FetchItem`]
/// ([`Fetch::to_items`]): what matching on the items costs.
pub fn ours_items(input: &[u8]) -> Count {
    let mut n = Count::default();
    each_frame(input, |frame| {
        let typed = decode_frame(frame);
        if let Typed::Untagged(Untagged::Fetch(f)) = &typed {
            black_box(f.to_items());
        }
        tally(&mut n, typed);
    });
    n
}

/// What the owned [`Fetch`] and the borrowed [`FetchView`] both hand out,
/// for [`touch`].
trait Values {
    fn seq(&self) -> u32;
    fn uid(&self) -> Option<u32>;
    fn flags(&self) -> Option<FlagsView<'_>>;
    fn internal_date(&self) -> Option<i64>;
    fn rfc822_size(&self) -> Option<u64>;
    fn envelope(&self) -> Option<&EnvelopeView<'_>>;
    fn body_structure(&self) -> Option<BodyPart<'_>>;
    fn body_len(&self) -> usize;
}

macro_rules! values {
    ($t:ty, $body:expr) => {
        impl Values for $t {
            #[inline(always)]
            fn seq(&self) -> u32 {
                <$t>::seq(self)
            }
            #[inline(always)]
            fn uid(&self) -> Option<u32> {
                <$t>::uid(self)
            }
            #[inline(always)]
            fn flags(&self) -> Option<FlagsView<'_>> {
                <$t>::flags(self)
            }
            #[inline(always)]
            fn internal_date(&self) -> Option<i64> {
                <$t>::internal_date(self).map(|d| d.timestamp())
            }
            #[inline(always)]
            fn rfc822_size(&self) -> Option<u64> {
                <$t>::rfc822_size(self)
            }
            #[inline(always)]
            fn envelope(&self) -> Option<&EnvelopeView<'_>> {
                <$t>::envelope(self)
            }
            #[inline(always)]
            fn body_structure(&self) -> Option<BodyPart<'_>> {
                <$t>::body_structure(self)
            }
            #[inline(always)]
            fn body_len(&self) -> usize {
                let f: fn(&$t) -> usize = $body;
                f(self)
            }
        }
    };
}

values!(FetchView<'_>, |v| v.body().map_or(0, |b| black_box(b.as_bytes()).len()));
values!(Fetch, |f| f.body().map_or(0, |b| black_box(b).len()));

/// Reads every value of a FETCH view, as the peers' decoders produce them
/// (strings unescaped, flags as text); returns a checksum.
#[inline(always)]
fn touch(v: &impl Values) -> usize {
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
    n += v.internal_date().map_or(0, |d| d as usize);
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
    n + v.body_len()
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
    let mut n = Count::default();
    each_frame(input, |frame| {
        black_box(Response::parse(frame));
        n.ok += 1;
    });
    n
}

/// The views checked and nothing read from them: what [`ours_view`] costs
/// without reading the values back.
pub fn views_checked(input: &[u8]) -> Count {
    let mut n = Count::default();
    each_frame(input, |frame| match FetchView::from_frame(&frame) {
        Some(Ok(view)) => {
            black_box(&view);
            n.ok += 1;
        }
        _ => n.failed += 1,
    });
    n
}

/// Runs decoders on input `which` (a, b or c) for `secs` seconds:
/// A decoder of a whole input, counting what it found.
type Decoder = fn(&[u8]) -> Count;

/// `variant` names one (owned, view, frames, imap-proto, imap-codec) or
/// several separated by commas, which then run in turn, one pass each per
/// round. Prints each one's fastest and median pass and, for several, the
/// median over the rounds of each one's time ÷ the first one's.
pub fn profile(which: &str, secs: f64, variant: &str) {
    let decoders: Vec<(&str, Decoder)> = variant
        .split(',')
        .map(|name| {
            let f: fn(&[u8]) -> Count = match name {
                "owned" => ours,
                "view" => ours_view,
                "items" => ours_items,
                "kept" => ours_kept,
                "frames" => frames_only,
                "checked" => views_checked,
                "imap-proto" => imap_proto,
                "imap-codec" => imap_codec,
                other => {
                    panic!("unknown decoder {other}: owned, kept, items, view, frames, checked, imap-proto or imap-codec")
                }
            };
            (name, f)
        })
        .collect();
    let input = workload_input(which);
    // A negative number of seconds means that many rounds (for callgrind).
    let (rounds, budget) = if secs < 0.0 {
        let n = -secs as usize;
        (n..=n, Duration::ZERO)
    } else {
        (1..=usize::MAX, Duration::from_secs_f64(secs))
    };
    let input = &input;
    let mut runs: Vec<_> = decoders
        .iter()
        .map(|&(_, decoder)| {
            move || {
                black_box(decoder(input));
            }
        })
        .collect();
    let mut fs: Vec<&mut dyn FnMut()> = runs.iter_mut().map(|f| f as &mut dyn FnMut()).collect();
    let times: Vec<Vec<f64>> = measure_interleaved(rounds, budget, false, &mut fs)
        .into_iter()
        .map(|t| t.into_iter().map(|s| s * 1e3).collect())
        .collect();
    for (i, (name, _)) in decoders.iter().enumerate() {
        let ratio = round_ratio(&times[i], &times[0]);
        let n = times[i].len();
        let mut sorted = times[i].clone();
        let mid = median(&mut sorted);
        eprintln!(
            "{name}: {n} passes, fastest {:.3} ms, median {mid:.3} ms, {ratio:.3}× the first (median per round)",
            sorted[0]
        );
    }
}

/// Decoder input `which`: (a) the corpus, (b) the envelope fetch or (c)
/// the 100 MB of literals, each FETCH with its tagged completion.
fn workload_input(which: &str) -> Vec<u8> {
    let mut input = match which {
        "a" => return inputs::corpus(),
        "b" => inputs::envelopes(10_000),
        _ => inputs::body_literals(1_000, 100_000_000),
    };
    input.extend_from_slice(b"A1 OK FETCH completed\r\n");
    input
}

/// Runs the three decoders on the three inputs and adds the rows.
pub fn run(table: &mut Table, budget: Duration) {
    let (corpus, envelopes, literals) = (
        workload_input("a"),
        workload_input("b"),
        workload_input("c"),
    );
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
        // One pass of each decoder per round, interleaved, so that the
        // load of a shared machine falls on all of them alike.
        let timed = measure_interleaved(
            5..=41,
            budget * 4,
            true,
            &mut [
                &mut || {
                    black_box(ours(input));
                },
                &mut || {
                    black_box(ours_view(input));
                },
                &mut || {
                    black_box(imap_proto(input));
                },
                &mut || {
                    black_box(imap_codec(input));
                },
            ],
        );
        let med = |i: usize| median(&mut timed[i].clone());
        let mb = input.len() as f64 / 1e6;
        let row = |client: String, i: usize, ok: usize| Row {
            section: "1 decoder".into(),
            workload: format!("{id} {what}"),
            client,
            figure: format!(
                "{:.0} MB/s, {:.0} responses/s",
                mb / med(i),
                frames as f64 / med(i)
            ),
            note: format!("{ok}/{frames} responses typed"),
            ratio: Some(round_ratio(&timed[i], &timed[0])),
        };
        table.push(row(
            "ours, owned (framer + Fetch, values read)".into(),
            0,
            ours_count.ok,
        ));
        table.push(row(
            "ours, borrowed view (framer + FetchView, values read)".into(),
            1,
            view_count.ok,
        ));
        // The peers against the view as well: the median over the rounds
        // of their time ÷ the view's in the same round.
        let peer = |mut r: Row, i: usize| {
            r.note = format!(
                "{}; {:.2}× the view's time (median of per-round ratios)",
                r.note,
                round_ratio(&timed[i], &timed[1])
            );
            r
        };
        table.push(peer(row("imap-proto 0.17".into(), 2, proto_ok), 2));
        table.push(peer(
            row("imap-codec 2.0.0-alpha.10".into(), 3, codec_ok),
            3,
        ));
    }
}
