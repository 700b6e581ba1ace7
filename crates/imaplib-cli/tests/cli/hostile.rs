//! The tool against scripted servers that send what no real server should:
//! huge mailbox names, control characters meant for the terminal, and
//! messages without their UID.

use std::sync::{Arc, Mutex};

use crate::scripted::{Cmd, Peer, Scripted};
use crate::support::{files, imap, Run, TempDir};

/// `--host 127.0.0.1 --port P` for a scripted server.
fn at(server: &Scripted) -> Vec<String> {
    vec![
        "--host".into(),
        "127.0.0.1".into(),
        "--port".into(),
        server.port().to_string(),
        "--timeout".into(),
        "10".into(),
    ]
}

/// A preauthenticated server that answers LIST with `entries` (whole
/// response lines after `* LIST `, literals included), a NO to STATUS
/// whose text holds an ESC sequence, and LOGOUT.
fn list_server(entries: Vec<Vec<u8>>) -> Scripted {
    Scripted::start(move |p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] ready");
        loop {
            let cmd = p.command();
            match cmd.name.as_str() {
                "LIST" => {
                    for e in &entries {
                        p.send(b"* LIST ");
                        p.send(e);
                        p.send(b"\r\n");
                    }
                    p.tagged(&cmd, "OK done");
                }
                "STATUS" => p.tagged(&cmd, "NO \x1b]0;owned\x07 no \x1b[2Jstatus"),
                "LOGOUT" => {
                    p.line_out("* BYE bye");
                    p.tagged(&cmd, "OK done");
                    return;
                }
                other => panic!("unexpected {other}"),
            }
        }
    })
}

/// A name sent as a literal (it may hold CR and LF).
fn literal_entry(name: &[u8]) -> Vec<u8> {
    let mut e = format!("() \"/\" {{{}}}\r\n", name.len()).into_bytes();
    e.extend_from_slice(name);
    e
}

/// No byte that a terminal would act on: C0 but TAB and LF, DEL, C1.
fn assert_terminal_safe(what: &str, text: &str) {
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c);
        assert!(!bad, "{what} holds the raw control {c:?}:\n{text}");
    }
}

#[test]
fn list_survives_a_70000_character_name() {
    let long = "a".repeat(70_000);
    let server = list_server(vec![
        format!("() \"/\" \"{long}\"").into_bytes(),
        b"(\\HasNoChildren) \"/\" INBOX".to_vec(),
    ]);
    let run = imap([&["list".to_string()][..], &at(&server)].concat()).run();
    server.finish();
    run.expect(0);
    let out = run.out();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{}", &out[..200.min(out.len())]);
    assert_eq!(lines[0], long, "the long name, nothing after it");
    assert!(lines[1].starts_with("INBOX "), "{}", lines[1]);
    assert!(lines[1].ends_with("\\HasNoChildren"), "{}", lines[1]);
}

#[test]
fn server_controls_never_reach_the_terminal() {
    let entries = || {
        vec![
            literal_entry(b"evil\r\nA1 OK fake completion\r\n* BYE fake"),
            b"(\\Marked) \"/\" \"esc\x1b[31mred\"".to_vec(),
            literal_entry("c1\u{9b}31mred".as_bytes()),
            // Not a valid attribute: the entry is left out with a
            // warning, which quotes it.
            b"(\\X\x1b[5m) \"/\" INBOX".to_vec(),
        ]
    };

    // The table.
    let server = list_server(entries());
    let run = imap([&["list".to_string()][..], &at(&server)].concat()).run();
    server.finish();
    run.expect(0);
    let out = run.out();
    assert_terminal_safe("the table", &out);
    assert!(
        out.contains("evil\\r\\nA1 OK fake completion\\r\\n* BYE fake"),
        "{out}"
    );
    assert!(out.contains("esc\\x1b[31mred"), "{out}");
    assert!(out.contains("c1\\u{9b}31mred"), "{out}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_terminal_safe("stderr", &run.stderr);
    assert!(run.stderr.contains("\\x1b[5m"), "{}", run.stderr);

    // With counts: the warnings name the mailboxes and quote the server's
    // refusal; the -v trace shows the protocol. All of it on stderr.
    let server = list_server(entries());
    let args = [
        &["list".into(), "--status".into(), "-v".into()][..],
        &at(&server),
    ]
    .concat();
    let run = imap(args).run();
    server.finish();
    run.expect(0);
    assert_terminal_safe("stdout", &run.out());
    assert_terminal_safe("stderr", &run.stderr);
    assert!(
        run.stderr
            .contains("no status for evil\\r\\nA1 OK fake completion"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\\x1b]0;owned\\x07"), "{}", run.stderr);
    assert!(
        run.stderr.contains("LIST"),
        "the trace is there: {}",
        run.stderr
    );

    // JSON keeps the exact name (escaped by JSON itself).
    let server = list_server(entries());
    let run = imap([&["list".into(), "--json".into()][..], &at(&server)].concat()).run();
    server.finish();
    run.expect(0);
    assert_terminal_safe("JSON", &run.out());
    let names: Vec<String> = run
        .json_lines()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names[0], "evil\r\nA1 OK fake completion\r\n* BYE fake");
}

#[test]
fn error_messages_are_escaped() {
    // A refusal whose text would clear the screen and set the title.
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] ready");
        let cmd = p.expect("LIST");
        p.tagged(&cmd, "NO \x1b]0;owned\x07\x1b[2J\u{9b}0m gone");
        p.logout();
    });
    let run = imap([&["list".to_string()][..], &at(&server)].concat()).run();
    server.finish();
    run.expect(5);
    assert_terminal_safe("stderr", &run.stderr);
    assert!(
        run.stderr
            .contains("\\x1b]0;owned\\x07\\x1b[2J\\u{9b}0m gone"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------
// `imap fetch` and a server that leaves out a message's UID

/// How the mailbox server answers.
#[derive(Clone, Copy, PartialEq)]
enum Omit {
    /// Leaves out UID 2 the first time it sends that message only.
    Once,
    /// Always leaves out UID 2.
    Always,
    /// Never leaves anything out.
    Never,
}

fn body(uid: u32) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: message {uid}\r\n\r\nBody of {uid}.\r\n").into_bytes()
}

/// The UIDs of a UID set (`1:3,5`, `2:*`) among `all`.
fn uids_in(set: &str, all: &[u32]) -> Vec<u32> {
    let max = all.iter().copied().max().unwrap_or(0);
    let num = |s: &str| if s == "*" { max } else { s.parse().unwrap() };
    let mut out = Vec::new();
    for part in set.split(',') {
        let (a, b) = match part.split_once(':') {
            Some((a, b)) => (num(a), num(b)),
            None => (num(part), num(part)),
        };
        let (lo, hi) = (a.min(b), a.max(b));
        out.extend(all.iter().copied().filter(|u| (lo..=hi).contains(u)));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A preauthenticated INBOX holding UIDs 1 to 3; `omit` says whether the
/// message of UID 2 comes without its UID. Records every command.
fn mailbox_server(omit: Omit, log: Arc<Mutex<Vec<String>>>) -> Scripted {
    Scripted::start(move |p: &mut Peer| {
        let all = [1u32, 2, 3];
        let mut sent_2 = 0;
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] ready");
        loop {
            let cmd: Cmd = p.command();
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&cmd.line).into_owned());
            let args = cmd.args();
            match cmd.name.as_str() {
                "EXAMINE" | "SELECT" => {
                    p.line_out("* 3 EXISTS");
                    p.line_out("* OK [UIDVALIDITY 7] ok");
                    p.line_out("* OK [UIDNEXT 4] ok");
                    p.tagged(&cmd, "OK [READ-ONLY] done");
                }
                "UID" if args.starts_with("SEARCH") => {
                    // `UID SEARCH UID 2:* (ALL)`, `UID SEARCH ALL`, `UID SEARCH UID 2`.
                    let found = match args.split_whitespace().skip_while(|w| *w != "UID").nth(1) {
                        Some(set) => uids_in(set, &all),
                        None => all.to_vec(),
                    };
                    let list: Vec<String> = found.iter().map(u32::to_string).collect();
                    p.line_out(format!("* SEARCH {}", list.join(" ")).trim_end());
                    p.tagged(&cmd, "OK done");
                }
                "UID" if args.starts_with("FETCH") => {
                    let set = args.split_whitespace().nth(1).unwrap();
                    for uid in uids_in(set, &all) {
                        if args.contains("BODY.PEEK[]") {
                            let b = body(uid);
                            let omitted = uid == 2
                                && (omit == Omit::Always || (omit == Omit::Once && sent_2 == 0));
                            if uid == 2 {
                                sent_2 += 1;
                            }
                            let id = if omitted {
                                String::new()
                            } else {
                                format!("UID {uid} ")
                            };
                            p.send(format!(
                                "* {uid} FETCH ({id}FLAGS (\\Seen) INTERNALDATE \"01-Jan-2026 10:00:00 +0000\" BODY[] {{{}}}\r\n",
                                b.len()
                            ));
                            p.send(&b);
                            p.send(b")\r\n");
                        } else {
                            p.line_out(&format!(
                                "* {uid} FETCH (UID {uid} RFC822.SIZE {})",
                                body(uid).len()
                            ));
                        }
                    }
                    p.tagged(&cmd, "OK done");
                }
                "CLOSE" | "NOOP" => p.tagged(&cmd, "OK done"),
                "LOGOUT" => {
                    p.line_out("* BYE bye");
                    p.tagged(&cmd, "OK done");
                    return;
                }
                other => panic!("unexpected {other}"),
            }
        }
    })
}

fn fetch_into(server: &Scripted, out: &TempDir) -> Run {
    let args = [
        &[
            "fetch".to_string(),
            "INBOX".into(),
            "--out".into(),
            out.0.display().to_string(),
            "--format".into(),
            "eml".into(),
        ][..],
        &at(server),
    ]
    .concat();
    imap(args).run()
}

fn last_uid(out: &TempDir) -> u64 {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(".imap-fetch.json")).unwrap()).unwrap();
    state["mailboxes"]["INBOX"]["last_uid"].as_u64().unwrap()
}

/// UIDs 1 to 3 each saved once, UID 2 whole, and the state at UID 3.
fn assert_all_saved(out: &TempDir) {
    assert_eq!(
        files(&out.0),
        [".imap-fetch.json", "1.eml", "2.eml", "3.eml"]
    );
    assert_eq!(std::fs::read(out.join("2.eml")).unwrap(), body(2));
    assert_eq!(last_uid(out), 3);
}

#[test]
fn a_message_sent_without_its_uid_is_asked_for_again() {
    let out = TempDir::new("fetch-omit-once");
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = mailbox_server(Omit::Once, Arc::clone(&log));
    let run = fetch_into(&server, &out);
    server.finish();
    run.expect(0);
    assert_all_saved(&out);
    let log = log.lock().unwrap();
    assert!(
        log.iter()
            .any(|l| l.ends_with("UID FETCH 2 (UID FLAGS INTERNALDATE BODY.PEEK[])")),
        "UID 2 asked for again: {log:?}"
    );
}

#[test]
fn a_message_never_identified_stops_the_state_below_it() {
    let out = TempDir::new("fetch-omit-always");
    let server = mailbox_server(Omit::Always, Arc::new(Mutex::new(Vec::new())));
    let run = fetch_into(&server, &out);
    server.finish();
    run.expect(6);
    run.one_error_line("UID 2");
    assert!(run.stderr.contains("run again"), "{}", run.stderr);
    // UIDs 1 and 3 are saved, but the state does not pass UID 2 ...
    assert_eq!(files(&out.0), [".imap-fetch.json", "1.eml", "3.eml"]);
    assert_eq!(last_uid(&out), 1);

    // ... so a later run against a server that behaves gets it, and does
    // not save UID 3 twice.
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = mailbox_server(Omit::Never, Arc::clone(&log));
    let run = fetch_into(&server, &out);
    server.finish();
    run.expect(0);
    assert_all_saved(&out);
}
