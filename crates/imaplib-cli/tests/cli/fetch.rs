//! `imap fetch`: to stdout, Maildir, mbox and .eml, incremental runs, a
//! UIDVALIDITY change, a connection that drops half-way; over stdin/stdout,
//! STARTTLS and implicit TLS.

use std::fs;

use crate::support::{daemon, files, imap, message, tcp_args, PreauthDovecot, TempDir};

fn lf(b: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(b)
        .replace("\r\n", "\n")
        .into_bytes()
}

fn state(dir: &TempDir) -> serde_json::Value {
    serde_json::from_slice(&fs::read(dir.join(".imap-fetch.json")).expect("state file"))
        .expect("state JSON")
}

#[test]
fn fetch_prints_every_message_without_out() {
    let server = PreauthDovecot::new();
    let msgs = [
        message("one", 100),
        message("two", 150),
        message("three", 120),
    ];
    for m in &msgs {
        server.deliver("INBOX", m);
    }
    let run = imap(["fetch", "INBOX", "--stream", &server.command()]).run();
    run.expect(0);
    let mut expected = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        expected.extend_from_slice(format!("Message {}\n", i + 1).as_bytes());
        expected.extend_from_slice(m);
        expected.push(b'\n');
    }
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&expected)
    );
    assert!(
        run.stderr.starts_with("INBOX: 3 messages"),
        "{}",
        run.stderr
    );
    // -q: only the messages.
    let run = imap(["fetch", "-q", "INBOX", "--stream", &server.command()]).run();
    run.expect(0);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn fetch_to_maildir_is_incremental() {
    let server = PreauthDovecot::new();
    let cmd = server.command();
    let first = [
        message("one", 300),
        message("two", 300),
        message("three", 300),
    ];
    for m in &first {
        server.deliver("INBOX", m);
    }
    imap(["shell", "--stream", &cmd])
        .stdin("select INBOX\nstore 1 +FLAGS '(\\Seen \\Flagged)'\n")
        .run()
        .expect(0);
    let out = TempDir::new("maildir");
    let dir = out.0.display().to_string();
    let run = imap([
        "fetch", "INBOX", "--out", &dir, "--format", "maildir", "--stream", &cmd,
    ])
    .run();
    run.expect(0);
    assert!(
        run.out().starts_with("INBOX: 3 new messages"),
        "{}",
        run.out()
    );
    assert!(
        run.stderr.is_empty(),
        "no progress bar without a terminal: {}",
        run.stderr
    );
    let cur = files(&out.join("cur"));
    assert_eq!(cur.len(), 3, "{cur:?}");
    assert!(cur.iter().any(|n| n.ends_with(":2,FS")), "{cur:?}");
    assert_eq!(
        cur.iter().filter(|n| n.ends_with(":2,")).count(),
        2,
        "{cur:?}"
    );
    assert!(files(&out.join("tmp")).is_empty());
    assert!(files(&out.join("new")).is_empty());
    let mut bodies: Vec<Vec<u8>> = cur
        .iter()
        .map(|n| fs::read(out.join("cur").join(n)).unwrap())
        .collect();
    bodies.sort();
    let mut expected: Vec<Vec<u8>> = first.iter().map(|m| lf(m)).collect();
    expected.sort();
    assert_eq!(bodies, expected);
    assert_eq!(state(&out)["mailboxes"]["INBOX"]["last_uid"], 3);

    // Nothing new.
    let run = imap(["fetch", "INBOX", "--out", &dir, "--stream", &cmd]).run();
    run.expect(0);
    assert!(run.out().contains("no new messages"), "{}", run.out());
    assert_eq!(files(&out.join("cur")).len(), 3);

    // Two new messages: only they are fetched.
    server.deliver("INBOX", &message("four", 300));
    server.deliver("INBOX", &message("five", 300));
    let run = imap(["fetch", "INBOX", "--out", &dir, "--stream", &cmd]).run();
    run.expect(0);
    assert!(
        run.out().starts_with("INBOX: 2 new messages"),
        "{}",
        run.out()
    );
    assert_eq!(files(&out.join("cur")).len(), 5);
    assert_eq!(state(&out)["mailboxes"]["INBOX"]["last_uid"], 5);

    // The same directory in another format is refused.
    let run = imap([
        "fetch", "INBOX", "--out", &dir, "--format", "mbox", "--stream", &cmd,
    ])
    .run();
    run.expect(2);
    run.one_error_line("holds a maildir download");
}

#[test]
fn fetch_to_mbox_and_eml_with_search() {
    let server = PreauthDovecot::new();
    let cmd = server.command();
    let msgs = [
        message("alpha", 200),
        message("beta", 200),
        message("gamma", 200),
    ];
    for m in &msgs {
        server.deliver("INBOX", m);
    }
    let out = TempDir::new("mbox");
    let dir = out.0.display().to_string();
    imap([
        "fetch", "INBOX", "--out", &dir, "--format", "mbox", "--stream", &cmd,
    ])
    .run()
    .expect(0);
    let mbox = fs::read_to_string(out.join("INBOX.mbox")).expect("INBOX.mbox");
    assert_eq!(
        mbox.matches("\nFrom MAILER-DAEMON ").count() + 1,
        3,
        "{mbox}"
    );
    assert!(mbox.starts_with("From MAILER-DAEMON "));
    // mboxrd: a body line starting with "From " is quoted.
    assert_eq!(mbox.matches("\n>From the end").count(), 3, "{mbox}");
    assert!(!mbox.contains('\r'));
    assert_eq!(state(&out)["mailboxes"]["INBOX"]["mbox_length"], mbox.len());
    // A second run adds nothing.
    imap([
        "fetch", "INBOX", "--out", &dir, "--format", "mbox", "--stream", &cmd,
    ])
    .run()
    .expect(0);
    assert_eq!(fs::read_to_string(out.join("INBOX.mbox")).unwrap(), mbox);

    let out = TempDir::new("eml");
    let dir = out.0.display().to_string();
    let run = imap([
        "fetch",
        "INBOX",
        "--out",
        &dir,
        "--format",
        "eml",
        "--search",
        "SUBJECT beta",
        "--stream",
        &cmd,
    ])
    .run();
    run.expect(0);
    assert_eq!(files(&out.0), [".imap-fetch.json", "2.eml"]);
    assert_eq!(fs::read(out.join("2.eml")).unwrap(), msgs[1], "exact bytes");
}

#[test]
fn fetch_refuses_to_mix_mailboxes_after_a_uidvalidity_change() {
    let server = PreauthDovecot::new();
    let cmd = server.command();
    let plain = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    imap(["shell", "--stream", &cmd])
        .dir(&plain)
        .stdin("create Box\nappend Box None None @plain.eml\nappend Box None None @latin1.eml\n")
        .run()
        .expect(0);
    let out = TempDir::new("uidvalidity");
    let dir = out.0.display().to_string();
    imap(["fetch", "Box", "--out", &dir, "--stream", &cmd])
        .run()
        .expect(0);
    let before_files = files(&out.join("cur"));
    let before_state = fs::read(out.join(".imap-fetch.json")).unwrap();
    assert_eq!(before_files.len(), 2);

    // Deleting and creating the mailbox again gives it a new UIDVALIDITY.
    imap(["shell", "--stream", &cmd])
        .dir(&plain)
        .stdin("delete Box\ncreate Box\nappend Box None None @multipart.eml\n")
        .run()
        .expect(0);
    let run = imap(["fetch", "Box", "--out", &dir, "--stream", &cmd]).run();
    run.expect(7);
    run.one_error_line("UIDVALIDITY of Box changed");
    assert_eq!(files(&out.join("cur")), before_files);
    assert_eq!(
        fs::read(out.join(".imap-fetch.json")).unwrap(),
        before_state
    );

    // A mailbox the server does not have: NO, one line, status 5.
    let run = imap(["fetch", "Nope", "--out", &dir, "--stream", &cmd]).run();
    run.expect(5);
    run.one_error_line("cannot open Nope");
}

#[test]
fn fetch_interrupted_keeps_complete_batches_and_resumes() {
    let server = PreauthDovecot::new();
    for i in 0..6 {
        server.deliver("INBOX", &message(&format!("big {i}"), 4000));
    }
    let out = TempDir::new("drop");
    let dir = out.0.display().to_string();
    // The server's output stops after 14,000 bytes, in the second batch:
    // `dd` passes that much on unbuffered, then the shell holding the pipe
    // is ended so that the client sees the end of the stream.
    let cut = format!(
        "{} | {{ dd bs=1 count=14000 2>/dev/null; kill $$; }}",
        server.command()
    );
    let run = imap([
        "fetch", "INBOX", "--out", &dir, "--batch", "2", "--stream", &cut,
    ])
    .run();
    run.expect(6);
    run.one_error_line("run again to resume");
    assert_eq!(files(&out.join("cur")).len(), 2, "the first batch is kept");
    assert!(files(&out.join("tmp")).is_empty(), "no half message");
    assert_eq!(state(&out)["mailboxes"]["INBOX"]["last_uid"], 2);

    let run = imap([
        "fetch",
        "INBOX",
        "--out",
        &dir,
        "--batch",
        "2",
        "--stream",
        &server.command(),
    ])
    .run();
    run.expect(0);
    assert!(
        run.out().starts_with("INBOX: 4 new messages"),
        "{}",
        run.out()
    );
    assert_eq!(files(&out.join("cur")).len(), 6);
    assert_eq!(state(&out)["mailboxes"]["INBOX"]["last_uid"], 6);
}

#[test]
fn fetch_over_starttls_and_implicit_tls() {
    let server = daemon();
    server.deliver("alice", "FetchTls", &message("secure one", 500));
    server.deliver("alice", "FetchTls", &message("secure two", 500));

    let out = TempDir::new("starttls");
    let mut args = vec!["fetch".to_string(), "FetchTls".into(), "--out".into()];
    args.push(out.0.display().to_string());
    args.extend(tcp_args(server, "--starttls"));
    let run = imap(&args).env("IMAP_PASSWORD", "alicepw").run();
    run.expect(0);
    assert_eq!(files(&out.join("cur")).len(), 2);

    let out = TempDir::new("imaps");
    let url = format!("imaps://alice@localhost:{}/FetchTls", server.imaps_port);
    let run = imap([
        "fetch",
        "--url",
        &url,
        "--ca-file",
        &server.ca_file.display().to_string(),
        "--password-env",
        "IMAP_PASSWORD",
        "--out",
        &out.0.display().to_string(),
        "--format",
        "eml",
    ])
    .env("IMAP_PASSWORD", "alicepw")
    .run();
    run.expect(0);
    assert_eq!(files(&out.0), [".imap-fetch.json", "1.eml", "2.eml"]);
}

/// The messages `tests/fetch_server.py` serves (see there).
fn scripted_body(subject: &str, size: usize) -> Vec<u8> {
    let mut out = format!("From: a@example.org\r\nSubject: {subject}\r\n\r\n").into_bytes();
    while out.len() < size {
        out.extend_from_slice(b"The quick brown fox jumps over the lazy dog. 0123456789\r\n");
    }
    out.truncate(size);
    out
}

/// `python3 tests/fetch_server.py ARGS...` as a `--stream` command.
fn scripted_server(args: &str) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fetch_server.py");
    format!("exec python3 '{}' {args}", script.display())
}

#[test]
fn fetch_streams_each_message_to_its_file_as_it_arrives() {
    let out = TempDir::new("streamed");
    let dir = out.0.display().to_string();
    // The server sends the second half of the big message only once the
    // first half is in a file in tmp/ (else it says BYE).
    std::fs::create_dir_all(out.join("tmp")).unwrap();
    let cmd = scripted_server(&format!("'{}'", out.join("tmp").display()));
    let run = imap(["fetch", "INBOX", "--out", &dir, "--stream", &cmd]).run();
    run.expect(0);
    assert!(
        run.out()
            .starts_with("INBOX: 3 new messages, 401.0 KiB saved in"),
        "{}",
        run.out()
    );
    assert!(
        run.out().contains("; 1 deleted meanwhile; last UID 4"),
        "{}",
        run.out()
    );
    assert!(files(&out.join("tmp")).is_empty());
    let cur = files(&out.join("cur"));
    assert_eq!(cur.len(), 3, "{cur:?}");
    let find = |uid: u32| {
        let marker = format!(".V42U{uid}.");
        let name = cur
            .iter()
            .find(|n| n.contains(&marker))
            .unwrap_or_else(|| panic!("no UID {uid} in {cur:?}"));
        (name.clone(), fs::read(out.join("cur").join(name)).unwrap())
    };
    // UID, FLAGS and INTERNALDATE came after the literal; a flag update
    // between the responses is not taken for the message's flags.
    let (name, data) = find(1);
    assert!(
        name.starts_with("837596665.") && name.ends_with(":2,S"),
        "{name}"
    );
    assert_eq!(data, lf(&scripted_body("big", 400 * 1024)));
    let (name, data) = find(2);
    assert!(name.ends_with(":2,"), "{name}");
    assert_eq!(data, b"Subject: tiny");
    // INTERNALDATE as a literal of its own.
    let (name, data) = find(4);
    assert!(
        name.starts_with("1704161045.") && name.ends_with(":2,R"),
        "{name}"
    );
    assert_eq!(data, lf(&scripted_body("fourth", 1000)));
    assert_eq!(state(&out)["mailboxes"]["INBOX"]["last_uid"], 4);

    // To stdout: streamed messages as they arrive, the others after them.
    let run = imap(["fetch", "INBOX", "--stream", &scripted_server("")]).run();
    run.expect(0);
    let mut expected = b"Message 1\n".to_vec();
    expected.extend(scripted_body("big", 400 * 1024));
    expected.extend(b"\nMessage 4\n");
    expected.extend(scripted_body("fourth", 1000));
    expected.extend(b"\nMessage 2\nSubject: tiny\n");
    assert!(run.stdout == expected, "{}", run.out());
    assert!(
        run.stderr.starts_with("INBOX: 3 messages"),
        "{}",
        run.stderr
    );
}

#[test]
fn search_words_in_any_language_need_no_charset() {
    let server = PreauthDovecot::new();
    let cmd = server.command();
    let utf8 = |subject: &str, body: &str| {
        format!(
            "From: a@example.org\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\
             \r\n{body}\r\n"
        )
        .into_bytes()
    };
    let msgs = [
        utf8("Grüße aus Köln", "Bis bald"),
        utf8("Καλημέρα", "Γειά σου"),
        utf8("plain", "ascii only"),
    ];
    for m in &msgs {
        server.deliver("INBOX", m);
    }
    let out = TempDir::new("utf8-search");
    let dir = out.0.display().to_string();
    let fetch = |search: &str| {
        imap([
            "fetch", "INBOX", "--out", &dir, "--format", "eml", "--search", search, "--stream",
            &cmd,
        ])
        .run()
    };
    fetch("OR SUBJECT Grüße BODY \"Γειά σου\"").expect(0);
    assert_eq!(files(&out.0), [".imap-fetch.json", "1.eml", "2.eml"]);
    // A new message: the next run asks only for UIDs above the last one,
    // with the same non-ASCII words.
    server.deliver("INBOX", &utf8("Noch mehr Grüße", "x"));
    let run = fetch("OR SUBJECT Grüße BODY \"Γειά σου\"");
    run.expect(0);
    assert_eq!(
        files(&out.0),
        [".imap-fetch.json", "1.eml", "2.eml", "4.eml"]
    );
    // A malformed search is a usage error before anything is sent.
    let run = fetch("SUBJECT \"unclosed");
    run.expect(2);
    run.one_error_line("--search");
}
