//! The command encoder, through the session: whatever arguments a caller
//! passes to a command builder, the bytes sent parse, the way a server
//! parses them, as exactly one command with the session's tag (never two,
//! never an unfinished one), with no CR, LF or NUL outside literals; or
//! the command is refused and nothing is sent. Strings, mailbox names and
//! passwords arrive exactly as given.
//!
//! Input: a byte choosing the builder, a byte of options (LITERAL+ /
//! LITERAL- / UTF8=ACCEPT), then the arguments separated by 0xFE.

#![no_main]

use imaplib_proto::command::build;
use imaplib_proto::{Command, Event, ProtoErrorKind, Session, SessionConfig};
use libfuzzer_sys::fuzz_target;

/// Arguments passed as written that end in a literal announcement (`x {5}`)
/// are refused by the encoder, so such inputs are checked like any other.
const CHECK_TRAILING_LITERAL_ANNOUNCEMENTS: bool = true;

/// Command names are checked to be atoms by the session.
const CHECK_COMMAND_NAMES: bool = true;

enum Piece<'a> {
    Text(&'a [u8]),
    Literal(&'a [u8]),
}

/// `{N}`, `{N+}` or `~{N}` at the end of a line: the size and where the
/// announcement starts.
fn literal_suffix(line: &[u8]) -> Option<(usize, usize)> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let inner = &body[open + 1..];
    let digits = inner.strip_suffix(b"+").unwrap_or(inner);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(digits)
        .ok()?
        .parse()
        .unwrap_or(usize::MAX);
    let start = if open > 0 && line[open - 1] == b'~' {
        open - 1
    } else {
        open
    };
    Some((size, start))
}

fn ends_with_announcement(v: &[u8]) -> bool {
    literal_suffix(v).is_some()
}

/// Splits command pieces into arguments as a server reads them: atoms as
/// they are, quoted strings unescaped, literals as their data,
/// parenthesised groups raw.
fn tokens(pieces: &[Piece<'_>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut group: Option<(usize, Vec<u8>)> = None;
    for piece in pieces {
        let text = match piece {
            Piece::Literal(data) => {
                match &mut group {
                    Some((_, raw)) => raw.extend_from_slice(data),
                    None => out.push(data.to_vec()),
                }
                continue;
            }
            Piece::Text(t) => *t,
        };
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            if let Some((depth, raw)) = &mut group {
                raw.push(b);
                match b {
                    b'(' => *depth += 1,
                    b')' => *depth -= 1,
                    b'"' => {
                        i += 1;
                        while i < text.len() && text[i] != b'"' {
                            if text[i] == b'\\' && i + 1 < text.len() {
                                raw.push(text[i]);
                                i += 1;
                            }
                            raw.push(text[i]);
                            i += 1;
                        }
                        raw.push(b'"');
                    }
                    _ => {}
                }
                if *depth == 0 {
                    out.push(group.take().map(|g| g.1).unwrap_or_default());
                }
                i += 1;
                continue;
            }
            match b {
                b' ' => i += 1,
                b'(' => {
                    group = Some((1, vec![b'(']));
                    i += 1;
                }
                b'"' => {
                    let mut value = Vec::new();
                    i += 1;
                    // Expressions passed as written may hold any quoting
                    // (the server answers BAD); strings the encoder quoted
                    // are compared with what was given, which checks it.
                    while i < text.len() && text[i] != b'"' {
                        if text[i] == b'\\' && i + 1 < text.len() {
                            i += 1;
                        }
                        value.push(text[i]);
                        i += 1;
                    }
                    out.push(value);
                    i += 1;
                }
                _ => {
                    let start = i;
                    while i < text.len() && text[i] != b' ' && text[i] != b'(' {
                        i += 1;
                    }
                    out.push(text[start..i].to_vec());
                }
            }
        }
    }
    if let Some((_, raw)) = group {
        out.push(raw);
    }
    out
}

/// Parses `wire` as a server would. Returns the commands found and whether
/// the bytes end exactly where a command ends.
fn parse_commands(wire: &[u8]) -> (Vec<Vec<Vec<u8>>>, bool) {
    let mut commands = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        let mut pieces = Vec::new();
        loop {
            let Some(lf) = wire[pos..].iter().position(|&b| b == b'\n') else {
                return (commands, false);
            };
            let line_end = pos + lf;
            assert!(
                lf > 0 && wire[line_end - 1] == b'\r',
                "a command line ends in a bare LF"
            );
            let line = &wire[pos..line_end - 1];
            assert!(!line.contains(&b'\r'), "CR inside a command line");
            assert!(!line.contains(&0), "NUL inside a command line");
            pos = line_end + 1;
            match literal_suffix(line) {
                Some((size, start)) => {
                    pieces.push(Piece::Text(&line[..start]));
                    if size > wire.len() - pos {
                        return (commands, false);
                    }
                    pieces.push(Piece::Literal(&wire[pos..pos + size]));
                    pos += size;
                }
                None => {
                    pieces.push(Piece::Text(line));
                    break;
                }
            }
        }
        commands.push(tokens(&pieces));
    }
    (commands, true)
}

/// Feeds `input` to the session and processes what it leads to.
fn feed(s: &mut Session, input: &[u8]) {
    s.feed(input);
    while let Ok(Some(_)) = s.poll_event() {}
}

/// A session in the state `cmd` needs, with the capabilities from `options`.
fn session_for(cmd: &Command, options: u8) -> Session {
    let mut s = Session::new(SessionConfig::default());
    let literals = match options & 3 {
        1 => " LITERAL+",
        2 => " LITERAL-",
        _ => "",
    };
    let nonauth = matches!(cmd.name.as_str(), "LOGIN" | "AUTHENTICATE");
    let greeting = format!(
        "* {} [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT{literals}] hi\r\n",
        if nonauth { "OK" } else { "PREAUTH" }
    );
    feed(&mut s, greeting.as_bytes());
    if !nonauth && options & 4 != 0 {
        let tag = s.command(build::enable("UTF8=ACCEPT")).expect("ENABLE");
        feed(&mut s, format!("{tag} OK enabled\r\n").as_bytes());
    }
    let selected = matches!(
        cmd.name.as_str(),
        "FETCH" | "STORE" | "COPY" | "MOVE" | "SEARCH" | "UID" | "SORT" | "THREAD"
    );
    if selected {
        let tag = s.command(build::select(b"INBOX", false)).expect("SELECT");
        feed(
            &mut s,
            format!("{tag} OK [READ-WRITE] selected\r\n").as_bytes(),
        );
    }
    while s.poll_transmit().is_some() {}
    s
}

fn is_enclosed(v: &[u8]) -> bool {
    v.len() >= 2 && matches!((v[0], v[v.len() - 1]), (b'"', b'"') | (b'(', b')'))
}

fn is_atom(v: &[u8]) -> bool {
    !v.is_empty()
        && v.iter().all(|&b| {
            (0x21..0x7f).contains(&b)
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        })
}

fuzz_target!(|data: &[u8]| {
    let [which, options, rest @ ..] = data else {
        return;
    };
    let args: Vec<&[u8]> = rest.split(|&b| b == 0xFE).collect();
    let arg = |i: usize| -> &[u8] { args.get(i).copied().unwrap_or(b"") };
    let text = |i: usize| String::from_utf8_lossy(arg(i)).into_owned();
    let utf8 = options & 4 != 0;
    // The builder, and the arguments that must arrive exactly as given
    // (strings, mailbox names, passwords): (index in args, position in the
    // command's arguments).
    let (cmd, exact): (Command, Vec<(usize, usize)>) = match which % 20 {
        0 => (build::login(arg(0), arg(1)), vec![(0, 0), (1, 1)]),
        1 => (build::create(arg(0)), vec![(0, 0)]),
        2 => (build::rename(arg(0), arg(1)), vec![(0, 0), (1, 1)]),
        3 => (build::select(arg(0), options & 8 != 0), vec![]),
        4 => (build::status(arg(0), arg(1)), vec![(0, 0)]),
        5 => (build::list(arg(0), arg(1)), vec![]),
        6 => (build::search(None, &args), vec![]),
        7 => (build::fetch(arg(0), arg(1)), vec![]),
        8 => (build::store(arg(0), arg(1), arg(2)), vec![]),
        9 => (build::copy(arg(0), arg(1)), vec![]),
        10 => (build::setacl(arg(0), arg(1), arg(2)), vec![(1, 1), (2, 2)]),
        11 => (build::getquota(arg(0)), vec![(0, 0)]),
        12 => (
            build::append(Some(arg(0)), Some(arg(1)), None, arg(2), utf8),
            vec![],
        ),
        13 => (build::xatom(&text(0), &args[1..]), vec![]),
        14 => {
            let sub = ["FETCH", "SEARCH", "COPY", "STORE"][usize::from(options >> 4) % 4];
            (build::uid(sub, &args), vec![])
        }
        15 => (build::authenticate(&text(0)), vec![]),
        16 => (
            build::sort(arg(0), &text(1), &args[2.min(args.len())..]),
            vec![],
        ),
        17 => (
            build::thread(arg(0), &text(1), &args[2.min(args.len())..]),
            vec![],
        ),
        18 => (build::getannotation(arg(0), arg(1), arg(2)), vec![]),
        _ => (build::deleteacl(arg(0), arg(1)), vec![(1, 1)]),
    };
    let name_ok = is_atom(cmd.name.as_bytes());
    if !CHECK_COMMAND_NAMES && !name_ok {
        return;
    }
    if !CHECK_TRAILING_LITERAL_ANNOUNCEMENTS
        && (args.iter().any(|a| ends_with_announcement(a))
            || ends_with_announcement(text(0).as_bytes()))
    {
        return;
    }
    let name = cmd.name.clone();
    let mut s = session_for(&cmd, *options);
    if which % 20 == 13 {
        s.register_command(&name);
    }
    let tag = match s.command(cmd) {
        Ok(tag) => tag,
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    ProtoErrorKind::BadArgument | ProtoErrorKind::IllegalState
                ),
                "refused with {e:?}"
            );
            assert!(s.poll_transmit().is_none(), "a refused command sent bytes");
            return;
        }
    };
    // Collect what goes out, granting every synchronizing literal.
    let mut wire = Vec::new();
    // At most one literal per argument (and the message of APPEND).
    for _ in 0..args.len() + 8 {
        while let Some(b) = s.poll_transmit() {
            wire.extend_from_slice(&b);
        }
        if parse_commands(&wire).1 {
            break;
        }
        s.feed(b"+ go ahead\r\n");
        loop {
            match s.poll_event() {
                Ok(Some(Event::Continuation { .. })) | Ok(None) => break,
                Ok(Some(_)) => {}
                Err(e) => panic!("the session broke on '+': {e:?}"),
            }
        }
        if !s.wants_transmit() {
            break;
        }
    }
    let (commands, complete) = parse_commands(&wire);
    assert!(
        complete && commands.len() == 1,
        "{} command(s), complete: {complete}, from {:?}",
        commands.len(),
        String::from_utf8_lossy(&wire)
    );
    let command = &commands[0];
    assert_eq!(command[0], tag.as_bytes(), "the tag");
    assert!(
        command[1].eq_ignore_ascii_case(name.as_bytes()),
        "the command name"
    );
    let sent_args = &command[2..];
    // A value the caller already quoted or parenthesised passes through as
    // written, as imaplib passes it: it may stand for several arguments.
    // (A password is always quoted or a literal.)
    let passed_through = if name == "LOGIN" {
        is_enclosed(arg(0))
    } else {
        args.iter().any(|a| is_enclosed(a))
    };
    for (i, at) in exact {
        if passed_through {
            break;
        }
        let given = arg(i);
        let sent = sent_args.get(at).map(Vec::as_slice);
        let mailbox = matches!(name.as_str(), "CREATE" | "RENAME" | "STATUS");
        // A mailbox name arrives as given, or (without UTF8=ACCEPT) in
        // modified UTF-7 that decodes to it.
        let decoded = match sent {
            Some(s) if mailbox && !utf8 && s != given => {
                imaplib_proto::utf7::decode(s).ok().map(String::into_bytes)
            }
            Some(s) => Some(s.to_vec()),
            None => None,
        };
        assert_eq!(
            decoded.as_deref(),
            Some(given),
            "argument {at} of {:?}",
            String::from_utf8_lossy(&wire)
        );
    }
});
