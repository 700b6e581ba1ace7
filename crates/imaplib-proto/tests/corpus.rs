//! Every recorded server transcript of the shared corpus frames and parses
//! into responses without a single error, fed whole and byte by byte, and
//! both ways give the same responses.

use imaplib_proto::{Framer, Limits, Response};

mod support;

/// Frames and parses `chunks`; returns each response's debug form.
fn decode(chunks: &mut dyn Iterator<Item = &[u8]>) -> Result<Vec<String>, String> {
    let mut framer = Framer::new(Limits::default());
    let mut out = Vec::new();
    for chunk in chunks {
        framer.feed(chunk);
        while let Some(frame) = framer.next_frame().map_err(|e| e.to_string())? {
            if frame.line_count() == 1 && frame.first_line().is_empty() {
                continue;
            }
            let resp = Response::parse(frame);
            if let Some(reason) = resp.diagnostic() {
                eprintln!("diagnostic: {reason}: {:?}", resp.frame());
            }
            out.push(format!("{resp:?} {:?}", resp.imaplib_items()));
        }
    }
    if framer.buffered() > 0 {
        return Err(format!("{} bytes left over at the end", framer.buffered()));
    }
    Ok(out)
}

#[test]
fn every_corpus_file_decodes_whole_and_byte_by_byte() {
    let list = support::corpus_files();
    assert!(
        list.len() > 100,
        "corpus looks incomplete: {} files",
        list.len()
    );
    let mut failures = Vec::new();
    let mut responses = 0;
    for path in &list {
        let bytes = std::fs::read(path).unwrap();
        let whole = decode(&mut std::iter::once(&bytes[..]));
        let bytewise = decode(&mut bytes.chunks(1));
        match (whole, bytewise) {
            (Ok(a), Ok(b)) => {
                if a != b {
                    failures.push(format!("{}: whole and byte-by-byte differ", path.display()));
                }
                // Two-way splits: every cut for small files, 97 spread cuts otherwise.
                let step = (bytes.len() / 97).max(1);
                for cut in (0..=bytes.len()).step_by(step) {
                    let (x, y) = bytes.split_at(cut);
                    if decode(&mut [x, y].into_iter()).as_ref() != Ok(&a) {
                        failures.push(format!("{}: split at {cut} differs", path.display()));
                        break;
                    }
                }
                responses += a.len();
            }
            (Err(e), _) | (_, Err(e)) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        list.len(),
        failures.join("\n")
    );
    println!("{} files, {responses} responses", list.len());
}

/// Each file, with its placeholder tag replaced by the tag of a command in
/// flight, runs through a whole session: the command completes and nothing
/// breaks the session.
#[test]
fn every_corpus_file_completes_a_command_in_a_session() {
    use imaplib_proto::{command::build, Event, Session, SessionConfig};
    let list = support::corpus_files();
    let mut failures = Vec::new();
    let mut skipped_lines = 0;
    for path in &list {
        let bytes = std::fs::read(path).unwrap();
        let mut session = Session::new(SessionConfig::default());
        session.feed(b"* PREAUTH [CAPABILITY IMAP4rev1] ready\r\n");
        assert_eq!(session.poll_event().unwrap(), Some(Event::Greeting));
        let tag = session.command(build::noop()).unwrap();
        let text = replace_all(&bytes, b"A########", tag.as_bytes());
        let has_tagged = text.windows(tag.len()).any(|w| w == tag.as_bytes());
        let mut completed = false;
        let mut error = None;
        for chunk in text.chunks(7) {
            session.feed(chunk);
            loop {
                match session.poll_event() {
                    Ok(Some(Event::Completed { tag: t })) if t == tag => completed = true,
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            if error.is_some() {
                break;
            }
        }
        skipped_lines += session.unparsed_count();
        if let Some(e) = error {
            failures.push(format!("{}: {e}", path.display()));
        } else if has_tagged && !completed {
            failures.push(format!("{}: command never completed", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} files failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{} files; {skipped_lines} defective lines skipped",
        list.len()
    );
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Known server defects in the corpus that leave a response (or an item)
/// undecodable: `(file suffix, what the server got wrong)`. Anything not
/// listed here must decode fully.
const KNOWN_DEFECTS: &[(&str, &str)] = &[(
    "gmail/headers.1+unsolicited-info.txt",
    "the BODY[HEADER] literal is announced as 515 bytes but 517 follow, so the \
     closing ')' of the FETCH arrives as a line of its own",
)];

/// Every response of every corpus file, typed: counts of fully typed
/// responses, responses with an undecodable FETCH item, and failures.
#[test]
fn every_corpus_response_is_typed() {
    use imaplib_proto::types::{decode_response, FetchItem, Typed, Untagged};
    let list = support::corpus_files();
    let (mut typed, mut partial, mut failed) = (0usize, 0usize, 0usize);
    let mut problems = Vec::new();
    for path in &list {
        let bytes = std::fs::read(path).unwrap();
        let mut framer = Framer::new(Limits::default());
        framer.feed(&bytes);
        while let Some(frame) = framer.next_frame().unwrap() {
            if frame.line_count() == 1 && frame.first_line().is_empty() {
                continue;
            }
            let resp = Response::parse(frame);
            let known = KNOWN_DEFECTS
                .iter()
                .any(|(f, _)| path.to_string_lossy().ends_with(f));
            match decode_response(&resp) {
                Typed::Untagged(Untagged::Fetch(f)) if f.has_undecodable() => {
                    partial += 1;
                    if !known {
                        let bad: Vec<_> = f
                            .to_items()
                            .into_iter()
                            .filter_map(|i| match i {
                                FetchItem::Undecodable { name, reason, .. } => {
                                    Some(format!("{name}: {reason}"))
                                }
                                _ => None,
                            })
                            .collect();
                        problems.push(format!("{}: FETCH items {bad:?}", path.display()));
                    }
                }
                Typed::Undecodable { name, error } => {
                    failed += 1;
                    if !known {
                        problems.push(format!("{}: {name}: {error}", path.display()));
                    }
                }
                Typed::Unparsed { reason } => {
                    failed += 1;
                    if !known {
                        problems.push(format!("{}: unparsed: {reason}", path.display()));
                    }
                }
                _ => typed += 1,
            }
        }
    }
    println!("typed: {typed}, with an undecodable item: {partial}, failed: {failed}");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
