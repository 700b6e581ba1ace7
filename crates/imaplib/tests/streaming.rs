//! Literals streamed to and from the caller, against scripted servers.

mod support;

use std::time::Duration;

use imaplib::{Options, Status, Streamed};
use support::both::Client;
use support::scripted::Scripted;

fn connect<C: Client>(server: &Scripted) -> C {
    C::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

fn selected(p: &mut support::scripted::Peer, caps: &str) {
    p.line_out(&format!("* PREAUTH [CAPABILITY IMAP4rev1 {caps}] hi"));
    let cmd = p.expect("SELECT");
    p.line_out("* 2 EXISTS");
    p.tagged(&cmd, "OK [READ-WRITE] done");
}

both! {
fn fetch_streams_literals_in_order() {
    let big = "0123456789".repeat(50_000);
    let body = big.clone();
    let server = Scripted::start(move |p| {
        selected(p, "");
        let cmd = p.expect_line("UID FETCH 1:2 (BODY.PEEK[])");
        p.send(format!("* 1 FETCH (UID 1 BODY[] {{{}}}\r\n", body.len()));
        for piece in body.as_bytes().chunks(7_000) {
            p.send(piece);
        }
        p.send(" FLAGS (\\Seen))\r\n* 2 FETCH (UID 2 BODY[] {5}\r\nhello)\r\n");
        p.tagged(&cmd, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    let mut starts = Vec::new();
    let mut data: Vec<Vec<u8>> = Vec::new();
    let reply = m
        .fetch_streamed(true, "1:2", "(BODY.PEEK[])", |piece| {
            match piece {
                Streamed::Start { line, size } => {
                    starts.push((String::from_utf8_lossy(line).into_owned(), size));
                    data.push(Vec::new());
                }
                Streamed::Data(d) => data.last_mut().unwrap().extend_from_slice(d),
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(
        starts,
        vec![
            ("* 1 FETCH (UID 1 BODY[] {500000}".to_string(), 500_000),
            ("* 2 FETCH (UID 2 BODY[] {5}".to_string(), 5)
        ]
    );
    assert_eq!(data[0], big.as_bytes());
    assert_eq!(data[1], b"hello");
    // The imaplib-shaped reply keeps the structure, with empty literals.
    assert_eq!(reply.data.len(), 4);
    assert_eq!(reply.data[0].literal().unwrap().len(), 0);
    assert_eq!(
        reply.data[1].as_bytes().unwrap().as_ref(),
        b" FLAGS (\\Seen))"
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn failing_sink_keeps_the_connection_in_step() {
    let server = Scripted::start(|p| {
        selected(p, "");
        let cmd = p.expect("UID");
        p.send("* 1 FETCH (UID 7 BODY[] {10}\r\n0123456789)\r\n");
        p.tagged(&cmd, "OK done");
        let cmd = p.expect("NOOP");
        p.tagged(&cmd, "OK still in step");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err = m.uid_fetch_to(7, "BODY.PEEK[]", &mut Full).unwrap_err();
    assert_eq!(err.kind(), imaplib::ErrorKind::Error);
    assert!(err.message().contains("disk full"), "{err}");
    assert_eq!(
        m.noop().unwrap().data,
        vec![imaplib::Data::from("still in step")]
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn uid_fetch_to_writes_the_message() {
    let server = Scripted::start(|p| {
        selected(p, "");
        let cmd = p.expect_line("UID FETCH 42 (BODY.PEEK[])");
        p.send("* 9 FETCH (UID 42 BODY[] {11}\r\nhello world)\r\n");
        p.tagged(&cmd, "OK done");
        let cmd = p.expect_line("UID FETCH 43 (BODY.PEEK[])");
        p.tagged(&cmd, "OK nothing");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    let mut out = Vec::new();
    assert_eq!(m.uid_fetch_to(42, "BODY.PEEK[]", &mut out).unwrap(), 11);
    assert_eq!(out, b"hello world");
    let err = m.uid_fetch_to(43, "BODY.PEEK[]", &mut out).unwrap_err();
    assert!(err.message().contains("no message with UID 43"), "{err}");
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn append_from_a_reader_sync_and_literal_plus() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] hi");
        let cmd = p.expect_line("APPEND Drafts (\\Draft) {100000}");
        assert!(p.silent_for(Duration::from_millis(100)), "waits for '+'");
        p.line_out("+ go");
        let data = p.read_exact(100_000);
        assert!(data.iter().all(|&b| b == b'z'));
        assert_eq!(p.read_line(), b"\r\n");
        p.tagged(&cmd, "OK [APPENDUID 1 5] done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let mut source = std::io::repeat(b'z');
    let mut seen = 0;
    let reply = m
        .append_from(
            Some("Drafts"),
            Some("\\Draft"),
            None,
            &mut std::io::Read::take(&mut source, 100_000),
            100_000,
            |n| seen = n,
        )
        .unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(seen, 100_000);
    m.logout().unwrap();
    server.finish();

    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] hi");
        let cmd = p.expect_line("APPEND INBOX {5+}");
        assert_eq!(p.read_exact(5), b"abcde");
        assert_eq!(p.read_line(), b"\r\n");
        p.tagged(&cmd, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.append_from(None, None, None, &mut &b"abcde"[..], 5, |_| {})
        .unwrap();
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn append_from_a_short_reader_aborts() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] hi");
        let _ = p.read_to_end();
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .append_from(None, None, None, &mut &b"abc"[..], 10, |_| {})
        .unwrap_err();
    assert_eq!(err.kind(), imaplib::ErrorKind::Abort);
    assert!(
        err.message().contains("before the announced length"),
        "{err}"
    );
    drop(m);
    server.finish();
}
}

both! {
fn pipelined_commands_are_in_flight_together() {
    let server = Scripted::start(|p| {
        selected(p, "");
        // Three commands arrive before any answer is sent.
        let a = p.expect_line("UID FETCH 1:2 (FLAGS)");
        let b = p.expect_line("UID FETCH 3,5 (FLAGS)");
        let c = p.expect_line("UID FETCH 7 (FLAGS)");
        p.line_out("* 1 FETCH (UID 1 FLAGS ())");
        p.line_out("* 2 FETCH (UID 2 FLAGS (\\Seen))");
        p.tagged(&a, "OK a");
        p.line_out("* 3 FETCH (UID 3 FLAGS ())");
        p.line_out("* 4 FETCH (UID 5 FLAGS ())");
        p.tagged(&b, "OK b");
        p.line_out("* 5 FETCH (UID 7 FLAGS ())");
        p.tagged(&c, "OK c");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    let mut uids = Vec::new();
    m.uid_fetch_pipelined(&[1, 2, 3, 5, 7], "(FLAGS)", 2, 3, |f| {
        uids.push(f.uid().unwrap());
        Ok(())
    })
    .unwrap();
    assert_eq!(uids, [1, 2, 3, 5, 7]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn pipeline_reports_each_reply_in_order() {
    let server = Scripted::start(|p| {
        selected(p, "");
        let a = p.expect("NOOP");
        let b = p.expect("CREATE");
        let c = p.expect("NOOP");
        p.tagged(&a, "OK one");
        p.tagged(&b, "NO [ALREADYEXISTS] two");
        p.tagged(&c, "OK three");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    let cmds = vec![
        imaplib::imaplib_proto::command::build::noop(),
        imaplib::imaplib_proto::command::build::create(b"x"),
        imaplib::imaplib_proto::command::build::noop(),
    ];
    let mut got = Vec::new();
    m.pipeline(cmds, 8, |i, r| {
        got.push((i, r.unwrap().typ));
        Ok(())
    })
    .unwrap();
    assert_eq!(got, [(0, Status::Ok), (1, Status::No), (2, Status::Ok)]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn append_many_without_multiappend_sends_one_append_each() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] hi");
        for body in ["a", "bb"] {
            let cmd = p.expect("APPEND");
            assert!(
                cmd.args().ends_with(&format!("{{{}+}}", body.len())),
                "{}",
                cmd.args()
            );
            assert_eq!(p.read_exact(body.len()), body.as_bytes());
            p.read_line();
            p.tagged(&cmd, "OK done");
        }
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let reply = m
        .append_many(
            Some("INBOX"),
            &[(None, None, &b"a"[..]), (Some("\\Seen"), None, &b"bb"[..])],
        )
        .unwrap();
    assert!(reply.is_ok());
    m.logout().unwrap();
    server.finish();
}
}

/// What `fetch_each` hands over: every response in order, an undecodable
/// one as its error, a flag change that arrives meanwhile; a NO after.
fn fetch_each_script(p: &mut support::scripted::Peer) {
    selected(p, "");
    let cmd = p.expect_line("FETCH 1:3 (UID FLAGS)");
    p.line_out("* 1 FETCH (UID 10 FLAGS (\\Seen))");
    p.line_out("* 2 FETCH garbage");
    p.line_out("* 3 FETCH (UID 12 FLAGS ())");
    p.line_out("* 1 FETCH (FLAGS (\\Seen \\Flagged))");
    p.tagged(&cmd, "NO Some messages could not be fetched");
    let cmd = p.expect_line("NOOP");
    p.tagged(&cmd, "OK");
    p.logout();
}

fn check_fetch_each(
    got: Vec<Result<imaplib::types::Fetch, imaplib::types::DecodeError>>,
    result: imaplib::Result<usize>,
) {
    let err = result.unwrap_err();
    assert!(err.message().contains("could not be fetched"), "{err}");
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0].as_ref().unwrap().uid(), Some(10));
    assert!(got[1].is_err(), "{:?}", got[1]);
    assert_eq!(got[2].as_ref().unwrap().uid(), Some(12));
    let change = got[3].as_ref().unwrap();
    assert_eq!((change.seq(), change.uid()), (1, None));
    assert_eq!(change.flags().unwrap().to_vec().len(), 2);
}

both! {
fn fetch_each_hands_over_every_response() {
    let server = Scripted::start(fetch_each_script);
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    let mut got = Vec::new();
    let result = m.fetch_each("1:3", "(UID FLAGS)", |f| got.push(f));
    check_fetch_each(got, result);
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    assert!(!m.untagged_responses().contains_key("FETCH"));
    m.logout().unwrap();
    server.finish();
}
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn fetch_each_hands_over_every_response_async() {
    let server = Scripted::start(fetch_each_script);
    let mut m = imaplib::AsyncImap4::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    m.select("INBOX", false).await.unwrap();
    let mut got = Vec::new();
    let result = m.fetch_each("1:3", "(UID FLAGS)", |f| got.push(f)).await;
    check_fetch_each(got, result);
    assert_eq!(m.noop().await.unwrap().typ, Status::Ok);
    m.logout().await.unwrap();
    server.finish();
}

both! {
fn streamed_literals_say_which_item_and_message_they_belong_to() {
    let server = Scripted::start(|p| {
        selected(p, "BINARY");
        let cmd = p.expect("UID");
        p.send("* 7 FETCH (UID 9 BODY[HEADER.FIELDS (SUBJECT FROM)] {4}\r\nhead BINARY[1] ~{3}\r\nbin BODY[] {2}\r\nhi)\r\n");
        p.tagged(&cmd, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    let mut starts = Vec::new();
    m.fetch_streamed(
        true,
        "9",
        "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BINARY.PEEK[1] BODY.PEEK[])",
        |piece| {
            if let Streamed::Start { .. } = piece {
                starts.push((
                    piece.message_number(),
                    String::from_utf8_lossy(piece.item().unwrap()).into_owned(),
                ));
            } else {
                assert_eq!((piece.item(), piece.message_number()), (None, None));
            }
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(
        starts,
        vec![
            (Some(7), "BODY[HEADER.FIELDS (SUBJECT FROM)]".to_string()),
            (None, "BINARY[1]".to_string()),
            (None, "BODY[]".to_string()),
        ]
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn a_refused_batch_ends_the_pipelined_fetch_and_leaves_the_connection_clean() {
    let server = Scripted::start(|p| {
        selected(p, "");
        let a = p.expect_line("UID FETCH 1:2 (FLAGS)");
        let b = p.expect_line("UID FETCH 3 (FLAGS)");
        p.line_out("* 1 FETCH (UID 1 FLAGS ())");
        p.line_out("* 2 FETCH (UID 2 FLAGS (\\Seen))");
        p.tagged(&a, "OK a");
        // A FETCH of the refused batch, then the refusal.
        p.line_out("* 3 FETCH (UID 3 FLAGS ())");
        p.tagged(&b, "NO [SERVERBUG] b");
        // The next typed FETCH gets its own responses only.
        let c = p.expect_line("UID FETCH 9 (UID)");
        p.line_out("* 9 FETCH (UID 9)");
        p.tagged(&c, "OK c");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    let mut uids = Vec::new();
    let err = m
        .uid_fetch_pipelined(&[1, 2, 3], "(FLAGS)", 2, 2, |f| {
            uids.push(f.uid().unwrap());
            Ok(())
        })
        .unwrap_err();
    assert!(!err.is_abort(), "{err}");
    assert!(err.to_string().contains("refused"), "{err}");
    assert_eq!(uids, [1, 2], "nothing of the refused batch is handed over");
    let next = m.uid_fetch_typed("9", "(UID)").unwrap();
    assert_eq!(next.iter().map(|f| f.uid()).collect::<Vec<_>>(), [Some(9)]);
    m.logout().unwrap();
    server.finish();
}
}
