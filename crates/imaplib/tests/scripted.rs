//! The client against scripted servers: the behaviours CPython's test suite
//! checks for imaplib, the commands Dovecot lacks, and the safety rules.

mod support;

use std::time::{Duration, Instant};

use imaplib::{Data, ErrorKind, IdleStep, Imap4, Limits, Options, State, Status};
use support::both::Client;
use support::scripted::{Peer, Scripted, GREETING};

fn connect<C: Client>(server: &Scripted) -> C {
    C::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_secs(5)),
    )
    .expect("connect")
}

fn line(s: &str) -> Data {
    Data::from(s)
}

/// Greets, then accepts `LOGIN user pass`.
fn greet_and_login(p: &mut Peer) {
    p.line_out(GREETING);
    let cmd = p.expect_line("LOGIN user \"pass\"");
    p.tagged(
        &cmd,
        "OK [CAPABILITY IMAP4rev1 ENABLE IDLE UIDPLUS] logged in",
    );
}

both! {
fn greeting_cut_off_is_an_abort() {
    let server = Scripted::start(|p| {
        p.send("* OK [CAPABILITY IMAP4rev1] rea");
    });
    let err = Imap4::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_secs(5)),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("EOF"), "{err}");
    server.finish();
}
}

both! {
fn greeting_bye_and_garbage_are_refused() {
    let server = Scripted::start(|p| p.line_out("* BYE too many connections"));
    let err = Imap4::new("127.0.0.1", server.port()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("too many connections"), "{err}");
    server.finish();

    let server = Scripted::start(|p| p.line_out("A1 OK hello"));
    let err = Imap4::new("127.0.0.1", server.port()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    server.finish();
}
}

/// Capabilities as Dovecot and Cyrus send them: in the greeting's code,
/// in LOGIN's tagged OK, and in answer to CAPABILITY. Answers every
/// command until LOGOUT, whoever the client.
fn capability_server(p: &mut Peer) {
    p.line_out("* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready");
    loop {
        let cmd = p.command();
        match cmd.name.as_str() {
            "CAPABILITY" => {
                p.line_out("* CAPABILITY IMAP4rev1 LITERAL+ MOVE IDLE");
                p.tagged(&cmd, "OK done");
            }
            "LOGIN" => p.tagged(
                &cmd,
                "OK [CAPABILITY IMAP4rev1 LITERAL+ MOVE IDLE] Logged in",
            ),
            "LOGOUT" => {
                p.line_out("* BYE bye");
                p.tagged(&cmd, "OK done");
                return;
            }
            other => panic!("unexpected {other}"),
        }
    }
}

/// What Python's imaplib returns for `capability()` before and after
/// LOGIN against [`capability_server`], as Python shows the lists.
fn imaplib_capability_results() -> (String, String) {
    let server = Scripted::start(capability_server);
    let script = format!(
        "import imaplib\n\
         m = imaplib.IMAP4('127.0.0.1', {})\n\
         print(m.capability()[1])\n\
         m.login('user', 'pass')\n\
         print(m.capability()[1])\n\
         m.logout()\n",
        server.port()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.finish();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().map(str::to_string);
    (lines.next().unwrap(), lines.next().unwrap())
}

/// A Python list of bytes as Python prints it (ASCII items).
fn python_list(data: &[Data]) -> String {
    let items: Vec<String> = data
        .iter()
        .map(|d| format!("b'{}'", String::from_utf8_lossy(d.as_bytes().unwrap())))
        .collect();
    format!("[{}]", items.join(", "))
}

both! {
fn capability_returns_what_imaplib_returns() {
    let server = Scripted::start(capability_server);
    let mut m: Imap4 = connect(&server);
    // The greeting's code answered the question while connecting: it is
    // not handed out again.
    let before = m.capability().unwrap().data;
    assert_eq!(before, vec![line("IMAP4rev1 LITERAL+ MOVE IDLE")]);
    m.login("user", "pass").unwrap();
    let after = m.capability().unwrap().data;
    m.logout().unwrap();
    server.finish();

    let (py_before, py_after) = imaplib_capability_results();
    assert_eq!(python_list(&before), py_before);
    assert_eq!(python_list(&after), py_after);
}
}

both! {
fn capabilities_asked_when_the_greeting_has_none_and_bare_lf_tolerated() {
    let server = Scripted::start(|p| {
        p.line_out("* OK ready");
        let cmd = p.expect("CAPABILITY");
        // Bare LF line endings, as a broken server sends them.
        p.send("* CAPABILITY IMAP4rev1 AUTH\n");
        p.send(format!("{} OK CAPABILITY completed\n", cmd.tag));
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    assert_eq!(m.protocol_version(), "IMAP4REV1");
    assert_eq!(m.capabilities(), ["IMAP4REV1", "AUTH"]);
    assert_eq!(m.state(), State::NonAuth);
    let reply = m.logout().unwrap();
    assert_eq!(reply.typ, Status::Bye);
    assert_eq!(reply.data, vec![line("logging out")]);
    server.finish();
}
}

both! {
fn server_without_imap4_is_refused() {
    let server = Scripted::start(|p| p.line_out("* OK [CAPABILITY POP3] ready"));
    let err = Imap4::new("127.0.0.1", server.port()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("not IMAP4 compliant"));
    server.finish();
}
}

both! {
fn line_over_the_limit_is_an_abort() {
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let _cmd = p.expect("NOOP");
        p.send(format!("* OK {}\r\n", "x".repeat(2000)));
        let _ = p.read_to_end();
    });
    let mut m: Imap4 = connect(&server);
    m.set_limits(Limits {
        max_line: 1000,
        ..Limits::default()
    });
    let err = m.noop().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("line longer"), "{err}");
    assert!(!err.bytes().is_empty());
    // The connection is unusable afterwards.
    assert_eq!(m.noop().unwrap_err().kind(), ErrorKind::Abort);
    drop(m);
    server.finish();
}
}

both! {
fn huge_literal_announcement_fails_at_once() {
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let cmd = p.expect_line("LOGIN user \"pass\"");
        p.tagged(&cmd, "OK logged in");
        let cmd = p.expect("CAPABILITY");
        p.line_out("* CAPABILITY IMAP4rev1");
        p.tagged(&cmd, "OK done");
        let cmd = p.expect("SELECT");
        p.line_out("* 1 EXISTS");
        p.tagged(&cmd, "OK [READ-WRITE] selected");
        let _cmd = p.expect("FETCH");
        // Announce 10 GB, send three bytes, then keep the connection open.
        p.send("* 1 FETCH (BODY[] {10000000000}\r\nabc");
        let _ = p.read_to_end();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    m.select("INBOX", false).unwrap();
    let start = Instant::now();
    let err = m.fetch("1", "(BODY[])").unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "must not wait for the literal"
    );
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("literal"), "{err}");
    drop(m);
    server.finish();
}
}

both! {
fn slow_server_times_out() {
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let _cmd = p.expect("NOOP");
        // Never answer; wait for the client to give up.
        let _ = p.read_to_end();
    });
    let mut m = Imap4::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let start = Instant::now();
    let err = m.noop().unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("timed out"), "{err}");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(m);
    server.finish();
}
}

both! {
fn enable_needs_auth_state_and_the_capability() {
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        // Nothing is sent for the refused ENABLE; next comes LOGOUT.
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m.enable("UTF8=ACCEPT").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("illegal in state NONAUTH"), "{err}");
    m.logout().unwrap();
    server.finish();

    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] ready");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    assert_eq!(m.state(), State::Auth);
    let err = m.enable("UTF8=ACCEPT").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("does not support ENABLE"), "{err}");
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn enable_utf8_then_append_sends_utf8_append_data() {
    let message = "Subject: üñí©öðé\r\n\r\nhi";
    let server = Scripted::start(move |p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] ready");
        let cmd = p.expect_line("ENABLE UTF8=ACCEPT");
        p.line_out("* ENABLED UTF8=ACCEPT");
        p.tagged(&cmd, "OK enabled");
        let n = message.len();
        let cmd = p.expect_line(&format!("APPEND \"Entwürfe\" UTF8 (~{{{n}}}"));
        p.line_out("+ go ahead");
        let body = p.read_exact(n);
        assert_eq!(body, message.as_bytes());
        assert_eq!(p.read_line(), b")\r\n");
        p.tagged(&cmd, "OK [APPENDUID 1 7] appended");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    assert!(!m.utf8_enabled());
    let reply = m.enable("UTF8=ACCEPT").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert!(m.utf8_enabled());
    let reply = m.append(Some("Entwürfe"), None, None, message).unwrap();
    assert_eq!(reply.data, vec![line("[APPENDUID 1 7] appended")]);
    assert_eq!(m.response("APPENDUID").1, vec![line("1 7")]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn append_waits_for_continuation_and_normalises_line_ends() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect_line("APPEND \"My Drafts\" (\\Seen) \"01-Jan-2020 10:00:00 +0000\" {9}");
        // Nothing may follow before the '+'.
        assert!(p.silent_for(Duration::from_millis(200)));
        p.line_out("+ Ready for literal data");
        assert_eq!(p.read_exact(9), b"a\r\nb\r\nc\r\n");
        assert_eq!(p.read_line(), b"\r\n");
        p.tagged(&cmd, "OK APPEND completed");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let date = chrono::DateTime::parse_from_rfc3339("2020-01-01T10:00:00+00:00").unwrap();
    let reply = m
        .append(
            Some("My Drafts"),
            Some("\\Seen"),
            Some(date.into()),
            "a\nb\rc\r\n",
        )
        .unwrap();
    assert_eq!(reply.typ, Status::Ok);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn literal_plus_sends_without_waiting() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] ready");
        let cmd = p.expect_line("APPEND INBOX {5+}");
        assert_eq!(p.read_exact(5), b"hello");
        assert_eq!(p.read_line(), b"\r\n");
        p.tagged(&cmd, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.append(None, None, None, "hello").unwrap();
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn refused_literal_completes_the_command() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] ready");
        let cmd = p.expect_line("APPEND INBOX {5}");
        p.tagged(&cmd, "NO [TOOBIG] message too big");
        let cmd = p.expect("NOOP");
        p.tagged(&cmd, "OK still here");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let reply = m.append(None, None, None, "hello").unwrap();
    assert_eq!(reply.typ, Status::No);
    assert_eq!(reply.data, vec![line("[TOOBIG] message too big")]);
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    m.logout().unwrap();
    server.finish();
}
}

fn auth_server(answer: &'static [u8], outcome: &'static str) -> Scripted {
    Scripted::start(move |p| {
        p.line_out(GREETING);
        let cmd = p.expect_line("AUTHENTICATE MYAUTH");
        p.line_out("+ Y2hhbGxlbmdl"); // "challenge"
        assert_eq!(p.read_line(), answer);
        p.tagged(&cmd, outcome);
        if outcome.starts_with("OK") {
            let cmd = p.expect("CAPABILITY");
            p.line_out("* CAPABILITY IMAP4rev1 IDLE");
            p.tagged(&cmd, "OK done");
        }
        p.logout();
    })
}

both! {
fn authenticate_success_failure_and_cancel() {
    // Success: the callback sees the decoded challenge; its answer is base64.
    let server = auth_server(b"ZmFrZQ==\r\n", "OK FAKEAUTH successful");
    let mut m: Imap4 = connect(&server);
    let mut seen = Vec::new();
    let reply = m
        .authenticate("MYAUTH", |challenge| {
            seen.push(challenge.to_vec());
            Some(b"fake".to_vec())
        })
        .unwrap();
    assert_eq!(seen, vec![b"challenge".to_vec()]);
    assert_eq!(reply.data, vec![line("FAKEAUTH successful")]);
    assert_eq!(m.state(), State::Auth);
    assert!(
        m.has_capability("IDLE"),
        "capabilities refreshed after AUTHENTICATE"
    );
    m.logout().unwrap();
    server.finish();

    // Failure: NO raises error.
    let server = auth_server(b"ZmFrZQ==\r\n", "NO [AUTHENTICATIONFAILED] invalid");
    let mut m: Imap4 = connect(&server);
    let err = m
        .authenticate("MYAUTH", |_| Some(b"fake".to_vec()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("invalid"), "{err}");
    assert_eq!(m.state(), State::NonAuth);
    m.logout().unwrap();
    server.finish();

    // Cancelled: the callback returns None, '*' is sent, the server's BAD
    // raises error.
    let server = auth_server(b"*\r\n", "BAD AUTHENTICATE cancelled");
    let mut m: Imap4 = connect(&server);
    let err = m.authenticate("MYAUTH", |_| None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("cancelled"), "{err}");
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn login_cram_md5() {
    // RFC 2195's example: the server's challenge and the expected answer.
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let cmd = p.expect_line("AUTHENTICATE CRAM-MD5");
        p.line_out("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
        assert_eq!(
            p.read_line(),
            b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n"
        );
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1] CRAM-MD5 successful");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let reply = m.login_cram_md5("tim", "tanstaaftanstaaf").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(m.state(), State::Auth);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn login_failure_raises_error_and_password_is_quoted() {
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let cmd = p.expect_line("LOGIN \"user name\" \"p\\\"w\\\\d\"");
        p.tagged(&cmd, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        let cmd = p.expect_line("LOGIN user {4}");
        p.line_out("+ ok");
        assert_eq!(p.read_exact(4), b"a\r\nb");
        assert_eq!(p.read_line(), b"\r\n");
        p.tagged(&cmd, "NO no");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m.login("user name", "p\"w\\d").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("Authentication failed"), "{err}");
    let err = m.login("user", "a\r\nb").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    // NUL can never be sent: refused before anything goes out.
    let err = m.login("user", "a\0b").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn bracket_inside_flags() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect_line("SELECT test");
        p.line_out("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
        p.line_out("* 2 EXISTS");
        p.line_out("* 0 RECENT");
        p.line_out("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\[test] \\*)] Flags permitted.");
        p.tagged(&cmd, "OK [READ-WRITE] SELECT completed.");
        let cmd = p.expect_line("STORE 1 +FLAGS ([test])");
        p.line_out("* 1 FETCH (FLAGS (\\Seen [test]))");
        p.tagged(&cmd, "OK STORE completed.");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let reply = m.select("test", false).unwrap();
    assert_eq!(reply.data, vec![line("2")]);
    assert_eq!(m.state(), State::Selected);
    let reply = m.store("1", "+FLAGS", "[test]").unwrap();
    let data = reply.data[0].as_bytes().unwrap().clone();
    assert!(data.windows(6).any(|w| w == b"[test]"));
    assert_eq!(
        imaplib::parse_flags(&data),
        vec![b"\\Seen".to_vec(), b"[test]".to_vec()]
    );
    let (code, data) = m.response("PERMANENTFLAGS");
    assert_eq!(code, "PERMANENTFLAGS");
    assert_eq!(
        data,
        vec![line(
            "(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\[test] \\*)"
        )]
    );
    assert_eq!(m.response("PERMANENTFLAGS").1, vec![Data::None]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn fetch_returns_imaplib_shaped_literals() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect("SELECT");
        p.line_out("* 2 EXISTS");
        p.tagged(&cmd, "OK [READ-WRITE] done");
        let cmd = p.expect_line("FETCH 1:2 (UID BODY[])");
        // The literal holds something that looks like a completion.
        p.send("* 1 FETCH (UID 10 BODY[] {13}\r\nhi\r\nA1 OK x\r\n)\r\n");
        p.send("* 2 FETCH (UID 11 BODY[] {0}\r\n)\r\n");
        p.line_out("* 3 EXISTS");
        p.tagged(&cmd, "OK FETCH completed");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    m.select("INBOX", false).unwrap();
    let reply = m.fetch("1:2", "(UID BODY[])").unwrap();
    assert_eq!(
        reply.data,
        vec![
            Data::from((b"1 (UID 10 BODY[] {13}", b"hi\r\nA1 OK x\r\n")),
            line(")"),
            Data::from((b"2 (UID 11 BODY[] {0}", b"")),
            line(")"),
        ]
    );
    // The unsolicited EXISTS stays available.
    assert_eq!(m.response("EXISTS").1, vec![line("2"), line("3")]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn commands_dovecot_lacks() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect_line("GETANNOTATION INBOX /comment value.shared");
        p.line_out("* ANNOTATION INBOX /comment (value.shared \"hello\")");
        p.tagged(&cmd, "OK GETANNOTATION complete");
        let cmd = p.expect_line("SETANNOTATION INBOX /comment (value.shared \"bye\")");
        p.line_out("* ANNOTATION INBOX /comment (value.shared \"bye\")");
        p.tagged(&cmd, "OK SETANNOTATION complete");
        let cmd = p.expect_line("GETANNOTATION \"My Box\" \"/my entry\" (value.priv value.shared)");
        p.tagged(&cmd, "NO no such entry");
        let cmd = p.expect_line("PROXYAUTH bob");
        p.tagged(&cmd, "OK proxied");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let reply = m
        .getannotation("INBOX", "/comment", "value.shared")
        .unwrap();
    assert_eq!(
        reply.data,
        vec![line("INBOX /comment (value.shared \"hello\")")]
    );
    let reply = m
        .setannotation(["INBOX", "/comment", "(value.shared \"bye\")"])
        .unwrap();
    assert_eq!(
        reply.data,
        vec![line("INBOX /comment (value.shared \"bye\")")]
    );
    let reply = m
        .getannotation("My Box", "/my entry", "(value.priv value.shared)")
        .unwrap();
    assert_eq!(reply.typ, Status::No);
    assert_eq!(reply.data, vec![line("no such entry")]);
    let reply = m.proxyauth("bob").unwrap();
    assert_eq!(reply.data, vec![line("proxied")]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn illegal_state_and_injection_send_nothing() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        // A mailbox name with CR LF has them encoded in modified UTF-7
        // (RFC 3501 §5.1.3), never sent as a line break.
        let cmd = p.expect_line("CREATE \"INBOX&AA0ACg-A999 DELETE INBOX\"");
        p.tagged(&cmd, "NO [CANNOT] bad name");
        // A string argument with CR LF is a literal.
        let cmd = p.expect_line("SETACL INBOX {5}");
        p.line_out("+ go");
        assert_eq!(p.read_exact(5), b"a\r\nb1");
        let rest = p.read_line();
        assert_eq!(rest, b" lr\r\n");
        p.tagged(&cmd, "NO [CANNOT] bad name");
        // Nothing else arrives before LOGOUT.
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m.fetch("1", "(FLAGS)").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("illegal in state NONAUTH"), "{err}");
    m.login("user", "pass").unwrap();
    assert_eq!(
        m.create("INBOX\r\nA999 DELETE INBOX").unwrap().typ,
        Status::No
    );
    assert_eq!(m.setacl("INBOX", "a\r\nb1", "lr").unwrap().typ, Status::No);
    for err in [
        m.status("INBOX", "(MESSAGES)\r\nX LOGOUT").unwrap_err(),
        m.list(Some("\"\r\n\""), None).unwrap_err(),
        m.uid("SEARCH", ["ALL\nX"]).unwrap_err(),
        m.xatom("XFOO", ["a\0b"]).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Error, "{err}");
    }
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn mailbox_names_are_quoted_or_encoded() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect_line("CREATE \"My Folder\"");
        p.tagged(&cmd, "OK");
        let cmd = p.expect_line("CREATE Entw&APw-rfe");
        p.tagged(&cmd, "OK");
        let cmd = p.expect_line("RENAME \"a\\\"b\" \"\"");
        p.tagged(&cmd, "NO bad name");
        let cmd = p.expect_line("LIST \"\" *");
        p.line_out("* LIST (\\HasNoChildren) \"/\" INBOX");
        p.line_out("* LIST (\\HasNoChildren) \"/\" {8}\r\nMy \"Box\"");
        p.tagged(&cmd, "OK LIST done");
        let cmd = p.expect_line("STATUS \"[Gmail]/All Mail\" (MESSAGES UNSEEN)");
        p.line_out("* STATUS \"[Gmail]/All Mail\" (MESSAGES 3 UNSEEN 1)");
        p.tagged(&cmd, "OK");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    m.create("My Folder").unwrap();
    m.create("Entwürfe").unwrap();
    assert_eq!(m.rename("a\"b", "").unwrap().typ, Status::No);
    let reply = m.list(None, None).unwrap();
    assert_eq!(
        reply.data,
        vec![
            line("(\\HasNoChildren) \"/\" INBOX"),
            Data::from((b"(\\HasNoChildren) \"/\" {8}", b"My \"Box\"")),
            line(""),
        ]
    );
    let reply = m.status("[Gmail]/All Mail", "(MESSAGES UNSEEN)").unwrap();
    assert_eq!(
        reply.data,
        vec![line("\"[Gmail]/All Mail\" (MESSAGES 3 UNSEEN 1)")]
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn readonly_select_raises_readonly() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect("SELECT");
        p.line_out("* 1 EXISTS");
        p.tagged(&cmd, "OK [READ-ONLY] selected read-only");
        let cmd = p.expect("EXAMINE");
        p.line_out("* 1 EXISTS");
        p.tagged(&cmd, "OK [READ-ONLY] examined");
        let cmd = p.expect("SEARCH");
        p.line_out("* SEARCH 1");
        p.tagged(&cmd, "OK");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let err = m.select("shared", false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Readonly);
    assert!(err.is_abort());
    // Read-only was asked for: fine.
    m.select("shared", true).unwrap();
    assert!(m.is_readonly());
    assert_eq!(m.search(None, ["ALL"]).unwrap().data, vec![line("1")]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn bye_during_a_command_is_an_abort() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let _cmd = p.expect("NOOP");
        p.line_out("* BYE server shutting down");
        p.close();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let err = m.noop().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("shutting down"), "{err}");
    assert_eq!(m.noop().unwrap_err().kind(), ErrorKind::Abort);
    drop(m);
    server.finish();
}
}

both! {
fn unknown_tag_is_an_abort() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let _cmd = p.expect("NOOP");
        p.line_out("ZZZZ1 OK forged");
        let _ = p.read_to_end();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let err = m.noop().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(
        err.message().contains("unexpected tagged response"),
        "{err}"
    );
    assert_eq!(err.bytes(), b"ZZZZ1 OK forged");
    drop(m);
    server.finish();
}
}

both! {
fn bad_raises_error_and_no_is_returned() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect("CREATE");
        p.tagged(&cmd, "BAD [CLIENTBUG] syntax");
        let cmd = p.expect("CREATE");
        p.tagged(&cmd, "NO [ALREADYEXISTS] exists");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let err = m.create("x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(
        err.message()
            .contains("CREATE command error: BAD [CLIENTBUG] syntax"),
        "{err}"
    );
    let reply = m.create("x").unwrap();
    assert_eq!(
        (reply.typ, reply.data),
        (Status::No, vec![line("[ALREADYEXISTS] exists")])
    );
    m.logout().unwrap();
    server.finish();
}
}

// Blocking only: an async client cannot log out in `drop`.
#[test]
fn drop_logs_out() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        p.logout();
        // The client closes after the BYE.
        assert!(p.read_to_end().is_empty());
    });
    {
        let mut m: Imap4 = connect(&server);
        m.login("user", "pass").unwrap();
    }
    server.finish();
}

both! {
fn idle_collects_until_condition_then_sends_done() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect("SELECT");
        p.line_out("* 1 EXISTS");
        p.tagged(&cmd, "OK [READ-WRITE] done");
        let cmd = p.expect_line("IDLE");
        p.line_out("+ idling");
        p.line_out("* 1 FETCH (FLAGS (\\Seen))");
        p.line_out("* 2 EXISTS");
        assert_eq!(p.read_line(), b"DONE\r\n");
        p.line_out("* 1 RECENT");
        p.tagged(&cmd, "OK IDLE terminated");
        // Then a deadline-bounded IDLE with nothing happening.
        let cmd = p.expect_line("IDLE");
        p.line_out("+ idling");
        assert_eq!(p.read_line(), b"DONE\r\n");
        p.tagged(&cmd, "OK IDLE terminated");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    m.select("INBOX", false).unwrap();
    let result = m
        .idle(Some(Duration::from_secs(5)), |name, _| name == "EXISTS")
        .unwrap();
    assert_eq!(result.reply.typ, Status::Ok);
    assert_eq!(
        result.responses,
        vec![
            ("FETCH".to_string(), vec![line("1 (FLAGS (\\Seen))")]),
            ("EXISTS".to_string(), vec![line("2")]),
            ("RECENT".to_string(), vec![line("1")]),
        ]
    );
    let start = Instant::now();
    let result = m
        .idle(Some(Duration::from_millis(300)), |_, _| false)
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert!(result.responses.is_empty());
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn idle_step_by_step_as_imaplib_3_14_iterates_it() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect_line("IDLE");
        p.tagged(&cmd, "NO IDLE is not allowed at this time");
        let cmd = p.expect_line("IDLE");
        p.line_out("* 0 EXISTS");
        p.line_out("+ idling");
        p.line_out("* 2 EXISTS");
        p.send("* 1 FETCH (BODY[HEADER.FIELDS (DATE)] {41}\r\n");
        p.send("Date: Fri, 06 Dec 2024 06:00:00 +0000\r\n\r\n)\r\n");
        // A response cut by the client's wait.
        p.send("* 1 EX");
        std::thread::sleep(Duration::from_millis(1200));
        p.send("ISTS\r\n* 3 RECENT\r\n");
        assert_eq!(p.read_line(), b"DONE\r\n");
        p.line_out("* 9 RECENT");
        p.tagged(&cmd, "OK Idle completed");
        // The server ends an IDLE by itself.
        let cmd = p.expect_line("IDLE");
        p.line_out("+ idling");
        p.tagged(&cmd, "OK IDLE ended by the server");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    match m.idle_begin().unwrap() {
        Err(reply) => {
            assert_eq!(reply.typ, Status::No);
            assert_eq!(reply.data, vec![line("IDLE is not allowed at this time")]);
        }
        Ok(tag) => panic!("IDLE {tag} accepted"),
    }
    assert_eq!(m.state(), State::Auth);

    let tag = m.idle_begin().unwrap().expect("IDLE accepted");
    assert_eq!(m.state(), State::Idling);
    let err = m.noop().unwrap_err();
    assert_eq!(
        err.message(),
        "command NOOP illegal in state IDLING, only allowed in states NONAUTH, AUTH, SELECTED, LOGOUT"
    );
    let response = |name: &str, data: Vec<Data>| IdleStep::Response(name.to_string(), data);
    assert_eq!(m.idle_next(&tag, None).unwrap(), response("EXISTS", vec![line("0")]));
    assert_eq!(m.idle_next(&tag, None).unwrap(), response("EXISTS", vec![line("2")]));
    let fetch = vec![
        Data::Literal {
            header: "1 (BODY[HEADER.FIELDS (DATE)] {41}".into(),
            literal: "Date: Fri, 06 Dec 2024 06:00:00 +0000\r\n\r\n".into(),
        },
        line(")"),
    ];
    assert_eq!(m.idle_next(&tag, None).unwrap(), response("FETCH", fetch));
    let start = Instant::now();
    let step = m.idle_next(&tag, Some(Duration::from_millis(150))).unwrap();
    assert_eq!(step, IdleStep::Timeout);
    assert!(start.elapsed() >= Duration::from_millis(140));
    let step = m.idle_next(&tag, Some(Duration::from_secs(5))).unwrap();
    assert_eq!(step, response("EXISTS", vec![line("1")]));
    // Wait for the RECENT to be received, then leave it for idle_end.
    std::thread::sleep(Duration::from_millis(100));
    let reply = m.idle_end(&tag).unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(m.state(), State::Auth);
    assert_eq!(
        m.response("RECENT"),
        ("RECENT".to_string(), vec![line("3"), line("9")])
    );

    let tag = m.idle_begin().unwrap().expect("IDLE accepted");
    match m.idle_next(&tag, Some(Duration::from_secs(5))).unwrap() {
        IdleStep::Ended(reply) => assert_eq!(reply.typ, Status::Ok),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.state(), State::Auth);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn idle_step_by_step_yields_codes_and_a_bye_then_fails() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        p.expect_line("IDLE");
        p.line_out("+ idling");
        p.line_out("* OK [ALERT] going down soon");
        p.line_out("* BYE shutting down");
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let tag = m.idle_begin().unwrap().expect("IDLE accepted");
    let response = |name: &str, data: &str| IdleStep::Response(name.to_string(), vec![line(data)]);
    let wait = Some(Duration::from_secs(5));
    assert_eq!(m.idle_next(&tag, wait).unwrap(), response("OK", "[ALERT] going down soon"));
    // The code as an entry of its own, as imaplib queues it.
    assert_eq!(m.idle_next(&tag, wait).unwrap(), response("ALERT", ""));
    assert_eq!(m.idle_next(&tag, wait).unwrap(), response("BYE", "shutting down"));
    // Ending it now sends no DONE: the BYE ended it, and says so.
    let err = m.idle_end(&tag).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort, "{err}");
    assert!(err.message().contains("shutting down"), "{err}");
    assert_eq!(m.state(), State::Logout);
    // No IDLE runs any more: asking again fails at once.
    let start = Instant::now();
    assert!(m.idle_next(&tag, None).is_err());
    assert!(start.elapsed() < Duration::from_secs(1));
    server.finish();
}
}

both! {
fn idle_refused_without_capability() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] hi");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .idle(Some(Duration::from_millis(10)), |_, _| false)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn starttls_not_offered_or_refused() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1] no tls here");
        // Nothing at all is sent after the refusal: no credentials, and
        // not even a LOGOUT on a connection that failed closed.
        assert!(p.read_to_end().is_empty());
    });
    let mut m: Imap4 = connect(&server);
    let err = m.starttls(None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("TLS not supported"), "{err}");
    assert_eq!(
        m.login("user", "pass").unwrap_err().kind(),
        ErrorKind::Abort
    );
    drop(m);
    server.finish();

    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let cmd = p.expect("STARTTLS");
        p.tagged(&cmd, "NO not today");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m.starttls(None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(!m.is_tls());
    // Credentials stay home; only LOGOUT may still go out.
    assert!(m.login("user", "pass").is_err());
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn starttls_refuses_data_injected_after_ok() {
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let cmd = p.expect("STARTTLS");
        // The tagged OK and a forged response in one segment.
        p.send(format!(
            "{} OK Begin TLS negotiation now\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n",
            cmd.tag
        ));
        let rest = p.read_to_end();
        // No credentials, and no TLS handshake either, were sent.
        assert!(!rest.windows(5).any(|w| w == b"LOGIN"));
        assert!(rest.is_empty(), "client sent {} bytes", rest.len());
    });
    let mut m: Imap4 = connect(&server);
    let err = m.starttls(None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(
        err.message().contains("cleartext after accepting STARTTLS"),
        "{err}"
    );
    assert_eq!(
        m.login("user", "pass").unwrap_err().kind(),
        ErrorKind::Abort
    );
    drop(m);
    server.finish();
}
}

both! {
fn recent_and_response() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect("SELECT");
        p.line_out("* 3 EXISTS");
        p.line_out("* 1 RECENT");
        p.line_out("* OK [UIDVALIDITY 42] UIDs valid");
        p.tagged(&cmd, "OK [READ-WRITE] done");
        let cmd = p.expect("NOOP");
        p.line_out("* 2 RECENT");
        p.tagged(&cmd, "OK NOOP done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    m.select("INBOX", false).unwrap();
    assert_eq!(m.response("UIDVALIDITY").1, vec![line("42")]);
    assert_eq!(m.recent().unwrap().data, vec![line("1")]);
    assert_eq!(m.recent().unwrap().data, vec![line("2")]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn getquotaroot_returns_two_lists() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect_line("GETQUOTAROOT INBOX");
        p.line_out("* QUOTAROOT INBOX \"\"");
        p.line_out("* QUOTA \"\" (STORAGE 10 512)");
        p.tagged(&cmd, "OK Getquota completed");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let reply = m.getquotaroot("INBOX").unwrap();
    assert_eq!(
        reply.data,
        vec![
            Data::List(vec![line("INBOX \"\"")]),
            Data::List(vec![line("\"\" (STORAGE 10 512)")]),
        ]
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn read_readline_send_and_socket() {
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        assert_eq!(p.read_line(), b"RAW HELLO\r\n");
        p.send("line one\r\nabcdef");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    assert_ne!(support::both::socket_of(&m), Some(false));
    m.send(b"RAW HELLO\r\n").unwrap();
    assert_eq!(&m.readline().unwrap()[..], b"line one\r\n");
    assert_eq!(&m.read(6).unwrap()[..], b"abcdef");
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn uid_commands_and_xatom() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect("SELECT");
        p.tagged(&cmd, "OK [READ-WRITE] done");
        let cmd = p.expect_line("UID SEARCH UNSEEN");
        p.line_out("* SEARCH 5 7");
        p.tagged(&cmd, "OK");
        let cmd = p.expect_line("UID COPY 5:7 \"Old Mail\"");
        p.tagged(&cmd, "OK [COPYUID 9 5:7 1:3] copied");
        let cmd = p.expect_line("XSPECIAL a b");
        p.tagged(&cmd, "OK special");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    m.select("INBOX", false).unwrap();
    assert_eq!(m.uid("search", ["UNSEEN"]).unwrap().data, vec![line("5 7")]);
    let reply = m.uid("COPY", ["5:7", "Old Mail"]).unwrap();
    assert_eq!(reply.data, vec![Data::None]);
    assert_eq!(m.response("COPYUID").1, vec![line("9 5:7 1:3")]);
    let err = m.uid("BOGUS", ["1"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert_eq!(
        m.xatom("XSPECIAL", ["a", "b"]).unwrap().data,
        vec![line("special")]
    );
    m.logout().unwrap();
    server.finish();
}
}

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

both! {
fn protocol_trace_redacts_secrets() {
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let cmd = p.expect_line("LOGIN user \"s3cret-pass\"");
        p.tagged(&cmd, "NO nope");
        let cmd = p.expect_line("LOGIN user {13}");
        p.line_out("+ go");
        assert_eq!(p.read_exact(13), b"s3cret\r\npass2");
        p.read_line();
        p.tagged(&cmd, "NO nope");
        let cmd = p.expect_line("AUTHENTICATE PLAIN");
        p.line_out("+ ");
        let answer = p.read_line();
        assert_eq!(answer, b"AHVzZXIAczNjcmV0LXRva2Vu\r\n");
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1] in");
        p.logout();
    });
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut m: Imap4 = connect(&server);
        m.set_debug(4);
        assert!(m.login("user", "s3cret-pass").is_err());
        assert!(m.login("user", "s3cret\r\npass2").is_err());
        m.authenticate("PLAIN", |_| Some(b"\0user\0s3cret-token".to_vec()))
            .unwrap();
        m.logout().unwrap();
    });
    server.finish();
    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("LOGIN user \"***\""), "{log}");
    assert!(log.contains("AUTHENTICATE PLAIN"), "{log}");
    for secret in ["s3cret", "AHVzZXIAczNjcmV0LXRva2Vu", "pass2"] {
        assert!(
            !log.contains(secret),
            "{secret} leaked into the trace:\n{log}"
        );
    }
}
}

both! {
fn one_broken_list_entry_does_not_hide_the_others() {
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let cmd = p.expect("LIST");
        p.line_out("* LIST (\\HasNoChildren) \"/\" INBOX");
        p.line_out("* LIST (\\HasNoChildren) \"/\"");
        p.line_out("* LIST (\\HasNoChildren \\Sent) \"/\" Sent");
        p.tagged(&cmd, "OK done");
        let cmd = p.expect("LIST");
        p.line_out("* LIST (\\HasNoChildren) \"/\"");
        p.tagged(&cmd, "NO no such thing");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    let entries = m.list_typed(None, None).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.mailbox.name()).collect::<Vec<_>>(),
        ["INBOX", "Sent"]
    );
    // A refusal is still an error.
    assert!(m.list_typed(None, Some("x")).is_err());
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn a_draining_command_hands_each_large_response_on_at_once() {
    use imaplib::imaplib_proto::command::build;
    // What a driver that turns FETCH data into objects of its own (the
    // Python module) relies on: a response of 4 KiB or more is handed on
    // as soon as it has arrived, small ones when `batch_bytes` is passed
    // or with the reply.
    let body = "y".repeat(5000);
    let script_body = body.clone();
    let server = Scripted::start(move |p| {
        greet_and_login(p);
        let cmd = p.expect_line("SELECT INBOX");
        p.line_out("* 5 EXISTS");
        p.tagged(&cmd, "OK [READ-WRITE] SELECT completed.");
        let cmd = p.expect_line("FETCH 1:5 (RFC822)");
        for i in 1..=3 {
            p.send(format!("* {i} FETCH (RFC822 {{5000}}\r\n{script_body})\r\n"));
        }
        p.line_out("* 4 FETCH (FLAGS ())");
        p.line_out("* 5 FETCH (FLAGS ())");
        p.tagged(&cmd, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.login("user", "pass").unwrap();
    m.select("INBOX", false).unwrap();
    let mut batches = Vec::new();
    let reply = m
        .run_command_draining(build::fetch(b"1:5", b"(RFC822)"), "FETCH", 1 << 20, |items| {
            batches.push(items)
        })
        .unwrap();
    assert_eq!(reply.typ, Status::Ok);
    let expected: Vec<Vec<Data>> = (1..=3)
        .map(|i| {
            vec![
                Data::Literal {
                    header: format!("{i} (RFC822 {{5000}}").into(),
                    literal: body.clone().into(),
                },
                line(")"),
            ]
        })
        .collect();
    assert_eq!(batches, expected);
    assert_eq!(reply.data, vec![line("4 (FLAGS ())"), line("5 (FLAGS ())")]);
    m.logout().unwrap();
    server.finish();
}
}

/// A transport whose next read fails with [`imaplib::transport::Interrupted`]
/// when `interrupt` is set (as the Python module's does on Ctrl-C).
struct Interruptible {
    tcp: std::net::TcpStream,
    interrupt: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl std::io::Read for Interruptible {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self
            .interrupt
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(std::io::Error::other(imaplib::transport::Interrupted));
        }
        self.tcp.read(buf)
    }
}

impl std::io::Write for Interruptible {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

impl imaplib::transport::Connection for Interruptible {}

/// A client over [`Interruptible`] and the switch that interrupts it.
fn interruptible(server: &Scripted) -> (Imap4, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let interrupt = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let conn = Interruptible {
        tcp: std::net::TcpStream::connect(server.addr).unwrap(),
        interrupt: interrupt.clone(),
    };
    let m = Imap4::from_transport(Box::new(conn), Options::default()).unwrap();
    (m, interrupt)
}

#[test]
fn an_interrupted_wait_leaves_the_connection_usable() {
    use std::sync::atomic::Ordering;
    let server = Scripted::start(|p| {
        greet_and_login(p);
        let noop = p.expect_line("NOOP");
        // The client was interrupted before this reply; it reads it with
        // its next command.
        let noop2 = p.expect_line("NOOP");
        p.tagged(&noop, "OK first");
        p.tagged(&noop2, "OK second");
        let append = p.expect_line("APPEND INBOX {4}");
        // The NOOP the client is asked for meanwhile waits behind the
        // literal, which goes out on the go-ahead.
        std::thread::sleep(Duration::from_millis(200));
        p.line_out("+ go ahead");
        assert_eq!(p.read_line(), b"abcd\r\n");
        let noop3 = p.expect_line("NOOP");
        p.tagged(&append, "OK appended");
        p.tagged(&noop3, "OK third");
        p.logout();
    });
    let (mut m, interrupt) = interruptible(&server);
    m.login("user", "pass").unwrap();

    interrupt.store(true, Ordering::SeqCst);
    let err = m.noop().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert_eq!(err.message(), "interrupted while waiting for the server");
    let reply = m.noop().unwrap();
    assert_eq!(reply.data, vec![line("second")]);

    // Interrupted while APPEND waits for the go-ahead: still in step.
    interrupt.store(true, Ordering::SeqCst);
    let err = m.append(Some("INBOX"), None, None, b"abcd").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert_eq!(m.noop().unwrap().data, vec![line("third")]);
    m.logout().unwrap();
    server.finish();
}

#[test]
fn an_interrupted_authenticate_gives_the_connection_up() {
    // Only the interrupted call could answer the server's challenge.
    use std::sync::atomic::Ordering;
    let server = Scripted::start(|p| {
        p.line_out(GREETING);
        let _ = p.expect_line("AUTHENTICATE PLAIN");
    });
    let (mut m, interrupt) = interruptible(&server);
    interrupt.store(true, Ordering::SeqCst);
    let err = m
        .authenticate("PLAIN", |_| Some(b"\0user\0pass".to_vec()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(
        err.message()
            .contains("interrupted in the middle of an exchange"),
        "{err}"
    );
    assert!(m.noop().unwrap_err().is_abort());
    drop(m);
    server.finish();
}
