//! Property tests: every value that can be written survives the trip
//! through the encoder (or formatter) and back through the decoder.

use bytes::Bytes;
use chrono::{FixedOffset, TimeZone};
use imaplib_proto::types::{
    decode_response, Segments, SeqBound, SeqRange, SequenceSet, Typed, Untagged,
};
use imaplib_proto::{
    command::build, Arg, Command, Event, Frame, Framer, Limits, Response, Session, SessionConfig,
};
use proptest::prelude::*;

/// Sends `arg` through a session (LITERAL+ so nothing waits) and reads it
/// back from the wire with the response reader.
fn wire_roundtrip(arg: Arg, utf8: bool) -> Bytes {
    let mut s = Session::new(SessionConfig::default());
    s.feed(b"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ ENABLE UTF8=ACCEPT] hi\r\n");
    assert_eq!(s.poll_event().unwrap(), Some(Event::Greeting));
    if utf8 {
        let t = s.command(build::enable("UTF8=ACCEPT")).unwrap();
        s.take_transmit();
        s.feed(format!("{t} OK\r\n").as_bytes());
        while s.poll_event().unwrap().is_some() {}
        assert!(s.take_reply(&t).unwrap().unwrap().is_ok());
        assert!(s.utf8_enabled());
    }
    s.register_command("XCHECK");
    let tag = s.command(Command::new("XCHECK").arg(arg)).unwrap();
    let wire = s.take_transmit().unwrap();
    // Exactly one command line: the framer sees one frame and nothing else.
    let mut framer = Framer::new(Limits::default());
    framer.feed(&wire);
    let frame = framer.next_frame().unwrap().expect("one complete command");
    assert_eq!(
        framer.buffered(),
        0,
        "the argument produced more than one command"
    );
    let prefix = format!("{tag} XCHECK ").len();
    let seg = Segments::from_frame(&frame, prefix);
    let mut r = seg.reader();
    let v = r.string().unwrap();
    assert!(r.at_end(), "trailing bytes after the argument");
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn strings_roundtrip(v in proptest::collection::vec(1u8..=255, 1..64)) {
        // Any bytes but NUL: atom, quoted string or literal, read back equal.
        // A value the caller already enclosed in `"..."` or `(...)` passes
        // through as written, as imaplib passes it (see `Arg::String`).
        let enclosed = v.len() >= 2
            && matches!((v[0], v[v.len() - 1]), (b'"', b'"') | (b'(', b')'));
        prop_assume!(!enclosed);
        let got = wire_roundtrip(Arg::String(Bytes::from(v.clone())), false);
        prop_assert_eq!(got.as_ref(), &v[..]);
    }

    #[test]
    fn passwords_roundtrip(v in proptest::collection::vec(1u8..=255, 0..64)) {
        let got = wire_roundtrip(Arg::Secret(Bytes::from(v.clone())), false);
        prop_assert_eq!(got.as_ref(), &v[..]);
    }

    #[test]
    fn mailbox_names_roundtrip(name in "\\PC{1,24}") {
        prop_assume!(!name.contains('\0') && !name.starts_with('"') && !name.starts_with('('));
        // Modified UTF-7 without UTF8=ACCEPT. An ASCII name that is valid
        // modified UTF-7 already is taken as encoded and passes unchanged.
        let expected = match imaplib_proto::utf7::decode(name.as_bytes()) {
            Ok(decoded) if name.is_ascii() => decoded,
            _ => name.clone(),
        };
        let wire = wire_roundtrip(Arg::Mailbox(Bytes::copy_from_slice(name.as_bytes())), false);
        prop_assert_eq!(imaplib_proto::utf7::decode(&wire).unwrap(), expected);
        // ...UTF-8 as is with it.
        let wire = wire_roundtrip(Arg::Mailbox(Bytes::copy_from_slice(name.as_bytes())), true);
        prop_assert_eq!(wire.as_ref(), name.as_bytes());
    }

    #[test]
    fn utf7_roundtrip(name in "\\PC{0,40}") {
        let encoded = imaplib_proto::utf7::encode(&name);
        prop_assert!(encoded.is_ascii());
        prop_assert_eq!(imaplib_proto::utf7::decode(encoded.as_bytes()).unwrap(), name);
    }

    #[test]
    fn sequence_sets_roundtrip(ranges in proptest::collection::vec((1u32.., proptest::option::of(1u32..), any::<bool>()), 1..8)) {
        let set: Vec<SeqRange> = ranges
            .iter()
            .map(|&(a, b, star)| SeqRange {
                start: SeqBound::Num(a),
                end: if star { SeqBound::Star } else { b.map_or(SeqBound::Num(a), SeqBound::Num) },
            })
            .collect();
        let text = set
            .iter()
            .map(|r| if r.start == r.end { r.start.to_string() } else { format!("{}:{}", r.start, r.end) })
            .collect::<Vec<_>>()
            .join(",");
        let parsed: SequenceSet = text.parse().unwrap();
        prop_assert_eq!(parsed.ranges(), &set[..]);
        prop_assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn dates_roundtrip(secs in 0i64..4_102_444_800, offset_min in -840i32..=840i32) {
        let tz = FixedOffset::east_opt(offset_min * 60).unwrap();
        let dt = tz.timestamp_opt(secs, 0).unwrap();
        let text = imaplib_proto::date::format_internaldate(&dt);
        let back = imaplib_proto::date::parse_internaldate(text.as_bytes()).unwrap();
        prop_assert_eq!(back, dt);
        prop_assert_eq!(back.offset(), dt.offset());
        prop_assert_eq!(imaplib_proto::date::time_to_internaldate_in(dt, &chrono::Utc).unwrap(), text);
    }

    #[test]
    fn flags_roundtrip(flags in proptest::collection::vec("\\\\?[A-Za-z$][A-Za-z0-9$_.\\[\\]-]{0,12}", 0..8)) {
        let line = format!("* FLAGS ({})\r\n", flags.join(" "));
        let resp = Response::parse(Frame::parse_one(line.as_bytes()).unwrap());
        let Typed::Untagged(Untagged::Flags(got)) = decode_response(&resp) else {
            return Err(TestCaseError::fail("not decoded"));
        };
        prop_assert_eq!(got, flags.clone());
        // And as a STORE argument: sent as written, one command.
        let store = build::store(b"1", b"+FLAGS", flags.join(" ").as_bytes());
        let mut s = Session::new(SessionConfig::default());
        s.feed(b"* PREAUTH hi\r\n");
        s.poll_event().unwrap();
        let t = s.command(build::select(b"INBOX", false)).unwrap();
        s.take_transmit();
        s.feed(format!("{t} OK [READ-WRITE] selected\r\n").as_bytes());
        while s.poll_event().unwrap().is_some() {}
        s.take_reply(&t).unwrap().unwrap();
        assert_eq!(s.state(), imaplib_proto::State::Selected);
        s.command(store).unwrap();
        let wire = s.take_transmit().unwrap();
        prop_assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 1);
    }

    #[test]
    fn search_values_roundtrip(v in "[^\\x00-\\x20\"()]{0,20}[\\u{80}-\\u{10FFFF}][^\\x00-\\x20\"()]{0,20}") {
        // A non-ASCII search value passed as its own argument (e.g. after
        // SUBJECT) arrives intact, as a literal.
        let got = wire_roundtrip(Arg::Raw(Bytes::copy_from_slice(v.as_bytes())), false);
        prop_assert_eq!(got.as_ref(), v.as_bytes());
    }
}
