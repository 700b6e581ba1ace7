//! Parsing a frame's first line into tag / name / status / response code.
//!
//! Only the outer structure is parsed here (RFC 3501 §7: `response-tagged`,
//! `response-data`, `continue-req`, `resp-text-code`); the data of each
//! response is decoded elsewhere. The parser is deliberately tolerant of real
//! servers' defects: lower-case names and statuses, a missing text after the
//! status, several spaces where one belongs, a `]` inside a flag of a code.

use bytes::Bytes;

use super::{Code, Frame, Kind, Response, Status};

pub(super) fn parse(frame: Frame) -> Response {
    let line = frame.line(0);
    let unparsed = |frame, reason| Response {
        frame,
        kind: Kind::Unparsed { reason },
        text_start: 0,
        code: None,
        after_code: 0,
    };
    match line.first() {
        Some(b'+') => {
            let text_start = skip_spaces(&line, 1);
            Response {
                frame,
                kind: Kind::Continuation,
                text_start,
                code: None,
                after_code: text_start,
            }
        }
        Some(b'*') => {
            if line.get(1) != Some(&b' ') {
                return unparsed(frame, "untagged response without a space after '*'");
            }
            let mut pos = skip_spaces(&line, 1);
            let mut number = None;
            let digits = count_while(&line[pos..], |b| b.is_ascii_digit());
            if digits > 0 && line.get(pos + digits) == Some(&b' ') {
                number = Some(line.slice(pos..pos + digits));
                pos = skip_spaces(&line, pos + digits);
            }
            let name_len = count_while(&line[pos..], is_name_char);
            if name_len == 0 {
                return unparsed(frame, "untagged response without a name");
            }
            let name_bytes = &line[pos..pos + name_len];
            // Name characters are ASCII: upper-cased into the one
            // allocation the name needs.
            let name = String::from_utf8(name_bytes.to_ascii_uppercase())
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            let status = if number.is_none() {
                Status::from_bytes(name_bytes)
            } else {
                None
            };
            let text_start = after_separator(&line, pos + name_len);
            let (code, after_code) = if status.is_some() {
                parse_code(&line, text_start)
            } else {
                (None, text_start)
            };
            Response {
                frame,
                kind: Kind::Untagged {
                    name,
                    number,
                    status,
                },
                text_start,
                code,
                after_code,
            }
        }
        Some(_) => {
            let tag_len = count_while(&line, |b| b != b' ');
            let tag = line.slice(..tag_len);
            if !tag.iter().all(|&b| is_tag_char(b)) {
                return unparsed(
                    frame,
                    "response is neither tagged, untagged nor a continuation",
                );
            }
            let pos = skip_spaces(&line, tag_len);
            let word_len = count_while(&line[pos..], |b| b != b' ');
            let Some(status) = Status::from_bytes(&line[pos..pos + word_len])
                .filter(|s| matches!(s, Status::Ok | Status::No | Status::Bad))
            else {
                return unparsed(frame, "tagged response without OK, NO or BAD");
            };
            let text_start = after_separator(&line, pos + word_len);
            let (code, after_code) = parse_code(&line, text_start);
            Response {
                frame,
                kind: Kind::Tagged { tag, status },
                text_start,
                code,
                after_code,
            }
        }
        None => unparsed(frame, "empty response line"),
    }
}

/// Position after one separating space (and any extra spaces a sloppy
/// server added). imaplib's data starts after exactly one space; extra spaces
/// belong to the data there, and we keep that: only the first is skipped.
fn after_separator(line: &[u8], pos: usize) -> usize {
    if line.get(pos) == Some(&b' ') {
        pos + 1
    } else {
        pos
    }
}

fn skip_spaces(line: &[u8], mut pos: usize) -> usize {
    while line.get(pos) == Some(&b' ') {
        pos += 1;
    }
    pos
}

fn count_while(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|&&b| f(b)).count()
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=')
}

/// RFC 3501 `tag`: any ASTRING-CHAR except `+`. We accept any visible
/// non-special character.
fn is_tag_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b)
        && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
}

/// Parses `[NAME args]` at `start`. Brackets nest (a flag such as `\[test]`
/// inside PERMANENTFLAGS does not end the code) and quoted strings are
/// skipped. If the brackets never balance, the code ends at the last `]` of
/// the line, as imaplib's greedy pattern would have it.
fn parse_code(line: &Bytes, start: usize) -> (Option<Code>, usize) {
    if line.get(start) != Some(&b'[') {
        return (None, start);
    }
    let name_start = start + 1;
    let name_len = count_while(&line[name_start..], |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=' | b'/')
    });
    if name_len == 0 {
        return (None, start);
    }
    let name_end = name_start + name_len;
    let close = match line.get(name_end) {
        Some(b']') => Some(name_end),
        Some(b' ') => matching_bracket(line, name_end + 1).or_else(|| {
            line.iter()
                .rposition(|&b| b == b']')
                .filter(|&p| p > name_end)
        }),
        _ => None,
    };
    let Some(close) = close else {
        return (None, start);
    };
    let args = if close > name_end {
        line.slice(name_end + 1..close)
    } else {
        Bytes::new()
    };
    let code = Code {
        name: String::from_utf8_lossy(&line[name_start..name_end]).to_ascii_uppercase(),
        args,
    };
    (Some(code), after_separator(line, close + 1))
}

fn matching_bracket(line: &[u8], from: usize) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = from;
    while i < line.len() {
        match line[i] {
            b'"' => {
                i += 1;
                while i < line.len() && line[i] != b'"' {
                    if line[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Data;

    fn resp(s: &[u8]) -> Response {
        Response::parse(Frame::parse_one(s).unwrap())
    }

    #[test]
    fn tagged() {
        let r = resp(b"A001 OK [READ-WRITE] SELECT completed\r\n");
        assert_eq!(
            r.kind(),
            &Kind::Tagged {
                tag: Bytes::from_static(b"A001"),
                status: Status::Ok
            }
        );
        assert_eq!(r.code().unwrap().name, "READ-WRITE");
        assert!(r.code().unwrap().args.is_empty());
        assert_eq!(&r.text()[..], b"[READ-WRITE] SELECT completed");
        assert_eq!(&r.text_after_code()[..], b"SELECT completed");
        let r = resp(b"a2 no\r\n");
        assert_eq!(r.status(), Some(Status::No));
        assert_eq!(&r.text()[..], b"");
    }

    #[test]
    fn untagged_with_number_and_literal() {
        let r = resp(b"* 12 FETCH (BODY[] {3}\r\nabc UID 4)\r\n");
        assert_eq!(r.name(), Some("FETCH"));
        assert_eq!(
            r.imaplib_items(),
            vec![
                Data::from((b"12 (BODY[] {3}", b"abc")),
                Data::from(b" UID 4)"),
            ]
        );
        let r = resp(b"* 3 EXISTS\r\n");
        assert_eq!(r.imaplib_items(), vec![Data::from(b"3")]);
        let r = resp(b"* SEARCH\r\n");
        assert_eq!(r.imaplib_items(), vec![Data::from(b"")]);
    }

    #[test]
    fn codes() {
        let r = resp(b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n");
        let c = r.code().unwrap();
        assert_eq!(
            (c.name.as_str(), &c.args[..]),
            ("UIDVALIDITY", &b"3857529045"[..])
        );
        assert_eq!(&r.text_after_code()[..], b"UIDs valid");
        let r = resp(b"* OK [PERMANENTFLAGS (\\Answered \\[test] \\*)] Flags permitted.\r\n");
        assert_eq!(&r.code().unwrap().args[..], b"(\\Answered \\[test] \\*)");
        let r =
            resp(b"* OK [PERMANENTFLAGS Answered \\Flagged \\[test] \\*)] Flags permitted.\r\n");
        assert_eq!(
            &r.code().unwrap().args[..],
            b"Answered \\Flagged \\[test] \\*)"
        );
        let r = resp(b"* ok [alert] System going down\r\n");
        assert_eq!(r.status(), Some(Status::Ok));
        assert_eq!(r.code().unwrap().name, "ALERT");
        let r = resp(b"* OK [UNSEEN 3] Message 3 [first] unseen\r\n");
        assert_eq!(&r.code().unwrap().args[..], b"3");
        let r = resp(b"* NO [BADCHARSET (\"x]\" UTF-8)] no\r\n");
        assert_eq!(&r.code().unwrap().args[..], b"(\"x]\" UTF-8)");
        let r = resp(b"* OK [unterminated\r\n");
        assert!(r.code().is_none());
    }

    #[test]
    fn continuation() {
        let r = resp(b"+ idling\r\n");
        assert_eq!(r.kind(), &Kind::Continuation);
        assert_eq!(&r.text()[..], b"idling");
        let r = resp(b"+\r\n");
        assert_eq!(&r.text()[..], b"");
    }

    #[test]
    fn garbage_is_kept_unparsed() {
        for s in [
            &b"(garbage)\r\n"[..],
            b"*garbage\r\n",
            b"* \r\n",
            b"A1 MAYBE so\r\n",
            b")\r\n",
        ] {
            let r = resp(s);
            assert!(r.diagnostic().is_some(), "{s:?}");
            assert_eq!(r.frame().raw().len(), s.len());
        }
    }
}
