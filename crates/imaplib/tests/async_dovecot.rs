//! The async client against a real Dovecot: the same calls give the same
//! results as the blocking client; TLS, STARTTLS and the stdin/stdout
//! process; IDLE; and a command future dropped mid-flight.
#![cfg(feature = "tokio")]

mod support;

use std::time::Duration;

use imaplib::{AsyncImap4, Data, ErrorKind, Imap4, Options, State, Status, TlsConfig};
use support::dovecot::{Dovecot, PreauthDovecot};

fn options() -> Options {
    Options::with_timeout(Duration::from_secs(20))
}

fn message(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@x>\r\n\r\nbody of {subject}\r\n").into_bytes()
}

/// Dovecot's completion texts carry timings; compare without them.
fn normalise(reply: &imaplib::Reply) -> (Status, Vec<String>) {
    let items = reply
        .data
        .iter()
        .map(|d| {
            let s = format!("{d:?}");
            match s.find(" (0.") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        })
        .collect();
    (reply.typ, items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_results_as_the_blocking_client() {
    let server = Dovecot::start();
    for i in 0..3 {
        server.deliver("alice", "INBOX", &message(&format!("m{i}")));
    }
    let mut a = AsyncImap4::with_options("127.0.0.1", server.imap_port, options())
        .await
        .unwrap();
    assert_eq!(a.protocol_version(), "IMAP4REV1");
    a.login("alice", "alicepw").await.unwrap();
    assert_eq!(a.state(), State::Auth);
    let port = server.imap_port;
    let mut b = tokio::task::spawn_blocking(move || {
        let mut b = Imap4::with_options("127.0.0.1", port, options()).unwrap();
        b.login("alice", "alicepw").unwrap();
        b
    })
    .await
    .unwrap();

    // Read-only calls, in the same order on both connections.
    let ra = vec![
        a.examine("INBOX").await.unwrap(),
        a.search(None, ["ALL"]).await.unwrap(),
        a.fetch("1:3", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            .await
            .unwrap(),
        a.status("INBOX", "(MESSAGES UIDNEXT)").await.unwrap(),
        a.list(None, None).await.unwrap(),
        a.namespace().await.unwrap(),
        a.uid("SEARCH", ["ALL"]).await.unwrap(),
        a.sort("(SUBJECT)", "UTF-8", ["ALL"]).await.unwrap(),
        a.noop().await.unwrap(),
    ];
    let (rb, b) = tokio::task::spawn_blocking(move || {
        let r = vec![
            b.examine("INBOX").unwrap(),
            b.search(None, ["ALL"]).unwrap(),
            b.fetch("1:3", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                .unwrap(),
            b.status("INBOX", "(MESSAGES UIDNEXT)").unwrap(),
            b.list(None, None).unwrap(),
            b.namespace().unwrap(),
            b.uid("SEARCH", ["ALL"]).unwrap(),
            b.sort("(SUBJECT)", "UTF-8", ["ALL"]).unwrap(),
            b.noop().unwrap(),
        ];
        (r, b)
    })
    .await
    .unwrap();
    for (x, y) in ra.iter().zip(&rb) {
        assert_eq!(normalise(x), normalise(y));
    }
    assert_eq!(ra[1].data, vec![Data::from("1 2 3")]);

    // Writes and typed results.
    a.select("INBOX", false).await.unwrap();
    assert!(a
        .append(None, Some("(\\Seen)"), None, message("m3"))
        .await
        .unwrap()
        .is_ok());
    let info = a.select_typed("INBOX", false).await.unwrap();
    assert_eq!(info.exists, 4);
    let f = a.fetch_typed("4", "(UID FLAGS ENVELOPE)").await.unwrap();
    assert_eq!(
        f[0].to_envelope().unwrap().subject.as_deref(),
        Some(&b"m3"[..])
    );
    assert!(f[0].flags().unwrap().contains("\\Seen"));
    let st = a.status_typed("INBOX", "(MESSAGES)").await.unwrap();
    assert_eq!(st.messages(), Some(4));
    assert_eq!(
        a.search_typed(None, ["UNSEEN"]).await.unwrap().ids,
        [1, 2, 3]
    );
    assert!(a
        .list_typed(None, None)
        .await
        .unwrap()
        .iter()
        .any(|l| l.special_use() == Some("\\Trash")));
    assert_eq!(
        a.store("1", "+FLAGS", "(\\Deleted)").await.unwrap().typ,
        Status::Ok
    );
    assert_eq!(a.expunge().await.unwrap().data, vec![Data::from("1")]);
    assert_eq!(a.logout().await.unwrap().typ, Status::Bye);
    tokio::task::spawn_blocking(move || drop(b)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_starttls_and_stream() {
    let server = Dovecot::start();
    let tls = Options {
        tls: TlsConfig::new().ca_file(&server.ca_file),
        ..options()
    };
    let mut m = AsyncImap4::ssl_with_options("localhost", server.imaps_port, tls.clone())
        .await
        .unwrap();
    assert!(m.is_tls());
    m.login("alice", "alicepw").await.unwrap();
    m.logout().await.unwrap();

    let wrong = Options {
        tls: TlsConfig::new()
            .ca_file(&server.ca_file)
            .server_name("wrong.example.org"),
        ..options()
    };
    let err = AsyncImap4::ssl_with_options("127.0.0.1", server.imaps_port, wrong)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("not valid for this host name"),
        "{err}"
    );

    let mut m = AsyncImap4::with_options("127.0.0.1", server.imap_port, tls)
        .await
        .unwrap();
    m.starttls(None).await.unwrap();
    assert!(m.is_tls());
    assert!(!m.has_capability("STARTTLS"));
    m.login("alice", "alicepw").await.unwrap();
    m.logout().await.unwrap();

    let pre = PreauthDovecot::new();
    pre.deliver("INBOX", &message("piped"));
    let mut m = AsyncImap4::stream_with_options(&pre.command(), options())
        .await
        .unwrap();
    assert_eq!(m.state(), State::Auth);
    assert_eq!(
        m.select("INBOX", false).await.unwrap().data,
        vec![Data::from("1")]
    );
    let reply = m.fetch("1", "(BODY.PEEK[TEXT])").await.unwrap();
    assert_eq!(
        reply.data[0].literal().unwrap().as_ref(),
        b"body of piped\r\n"
    );
    m.logout().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sees_exists_and_a_dropped_future_breaks_the_connection() {
    let server = Dovecot::start();
    let mut m = AsyncImap4::with_options("127.0.0.1", server.imap_port, options())
        .await
        .unwrap();
    m.login("alice", "alicepw").await.unwrap();
    m.select("INBOX", false).await.unwrap();
    let port = server.imap_port;
    let writer = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut w = Imap4::with_options("127.0.0.1", port, options()).unwrap();
        w.login("alice", "alicepw").unwrap();
        w.append(None, None, None, message("pushed")).unwrap();
        w.logout().unwrap();
    });
    // imaplib's idle: responses by name, as the blocking client has it.
    let idled = m
        .idle(Some(Duration::from_secs(10)), |name, data| {
            name == "EXISTS" && data.iter().any(|d| d.as_bytes().is_some_and(|b| b == "1"))
        })
        .await
        .unwrap();
    writer.await.unwrap();
    assert!(
        idled.responses.iter().any(|(name, _)| name == "EXISTS"),
        "{idled:?}"
    );
    assert!(m.noop().await.unwrap().is_ok(), "usable after IDLE");

    // An IDLE future dropped while waiting: the connection is out of step,
    // and the next call says so instead of misreading the stream.
    let dropped =
        tokio::time::timeout(Duration::from_millis(300), m.idle(None, |_, _| false)).await;
    assert!(dropped.is_err(), "the IDLE was still running");
    let err = m.noop().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("cancelled"), "{err}");
    assert_eq!(m.noop().await.unwrap_err().kind(), ErrorKind::Abort);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_pipelining_and_idle_with_a_stop_signal() {
    use imaplib::{IdleEnd, IdleOptions, IdleStop};
    let server = Dovecot::start();
    let mut m = AsyncImap4::with_options("127.0.0.1", server.imap_port, options())
        .await
        .unwrap();
    m.login("alice", "alicepw").await.unwrap();

    // 5 MB appended from an async reader and fetched into an async writer.
    let body: Vec<u8> = (0..5 * 1024 * 1024)
        .map(|i| b"abcdefghij\r\n"[i % 12])
        .collect();
    let mut message = b"Subject: big\r\n\r\n".to_vec();
    message.extend_from_slice(&body);
    let mut sent = 0;
    let reply = m
        .append_from(
            None,
            None,
            None,
            &mut &message[..],
            message.len() as u64,
            |n| sent = n,
        )
        .await
        .unwrap();
    assert!(reply.is_ok());
    assert_eq!(sent, message.len() as u64);
    m.select("INBOX", false).await.unwrap();
    let mut out: Vec<u8> = Vec::new();
    let n = m.uid_fetch_to(1, "BODY.PEEK[]", &mut out).await.unwrap();
    assert_eq!(n, message.len() as u64);
    assert!(out == message);

    // Pipelined downloads.
    for i in 0..20 {
        m.append(None, None, None, message_of(i)).await.unwrap();
    }
    let uids: Vec<u32> = (2..=21).collect();
    let mut got = Vec::new();
    m.uid_fetch_pipelined(&uids, "(UID RFC822.SIZE)", 3, 4, |f| {
        got.push(f.uid().unwrap());
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(got, uids);

    // IDLE ended by a signal from another task.
    let stop = IdleStop::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stopper.stop();
    });
    let outcome = m
        .idle_with(
            &IdleOptions {
                duration: Some(Duration::from_secs(10)),
                ..Default::default()
            },
            Some(&stop),
            |_| false,
        )
        .await
        .unwrap();
    assert_eq!(outcome.end, IdleEnd::Stopped);
    assert!(m.noop().await.unwrap().is_ok());
    m.logout().await.unwrap();
}

fn message_of(i: usize) -> Vec<u8> {
    message(&format!("p{i}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compress_deflate_async() {
    let server = Dovecot::start();
    let mut m = AsyncImap4::with_options("127.0.0.1", server.imap_port, options())
        .await
        .unwrap();
    m.login("alice", "alicepw").await.unwrap();
    assert!(m.compress_deflate().await.unwrap().is_ok());
    assert!(m.is_compressed());
    let text: String = (0..3000).map(|i| format!("line {i}\r\n")).collect();
    let msg = format!("Subject: z\r\n\r\n{text}");
    assert!(m.append(None, None, None, &msg).await.unwrap().is_ok());
    m.select("INBOX", false).await.unwrap();
    let reply = m.fetch("1", "(BODY.PEEK[])").await.unwrap();
    assert_eq!(reply.data[0].literal().unwrap().as_ref(), msg.as_bytes());
    assert!(m.list_typed(None, None).await.unwrap().len() >= 5);
    assert_eq!(m.logout().await.unwrap().typ, Status::Bye);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_async() {
    let server = Dovecot::start();
    for i in 0..3 {
        server.deliver("alice", "INBOX", &message(&format!("e{i}")));
    }
    let mut m = AsyncImap4::with_options("127.0.0.1", server.imap_port, options())
        .await
        .unwrap();
    m.login("alice", "alicepw").await.unwrap();
    let id = m.id(None).await.unwrap().unwrap();
    assert!(id.iter().any(|(k, _)| k.as_ref() == b"name"));
    assert!(!m.enable_imap4rev2().await.unwrap());
    let uses = m.special_use_mailboxes().await.unwrap();
    assert_eq!(
        uses.get("\\Trash").map(|e| e.mailbox.name()),
        Some("Trash".to_string())
    );
    let listed = m
        .list_extended(&[], "", &["INBOX"], &["STATUS (MESSAGES)"])
        .await
        .unwrap();
    assert_eq!(
        listed[0].status.as_ref().and_then(|s| s.messages()),
        Some(3)
    );
    m.setmetadata("INBOX", &[("/private/comment", Some(&b"hi"[..]))])
        .await
        .unwrap();
    let md = m
        .getmetadata("INBOX", &["/private/comment"], None)
        .await
        .unwrap();
    assert_eq!(md.entries[0].1.as_deref(), Some(&b"hi"[..]));
    assert_eq!(
        m.listrights("INBOX", "bob")
            .await
            .unwrap()
            .identifier
            .as_ref(),
        b"bob"
    );

    let info = m.select_condstore("INBOX", false).await.unwrap();
    let (validity, modseq) = (info.uid_validity.unwrap(), info.highest_modseq.unwrap());
    let moved = m.uid_move_typed("1", "Trash").await.unwrap();
    assert_eq!(moved.copy_uid.unwrap().1.to_string(), "1");
    m.uid("STORE", ["2", "+FLAGS", "(\\Seen)"]).await.unwrap();
    let r = m.resync("INBOX", validity, modseq).await.unwrap();
    assert!(!r.uid_validity_changed);
    assert!(r.changed.iter().any(|f| f.uid() == Some(2)));
    assert_eq!(r.vanished.map(|s| s.to_string()), Some("1".to_string()));

    // CATENATE and NOTIFY (Dovecot has both); PARTIAL and SETQUOTA are
    // refused up front (Dovecot 2.3 lacks PARTIAL; QUOTA=RES-* unannounced
    // means any resource may be tried, and Dovecot refuses it).
    let url = format!("/INBOX;UIDVALIDITY={validity}/;UID=2/;SECTION=TEXT");
    let (_, uids) = m
        .append_catenate(
            None,
            None,
            None,
            &[
                imaplib::CatenatePart::Text(b"Subject: again\r\n\r\n"),
                imaplib::CatenatePart::Url(&url),
            ],
        )
        .await
        .unwrap()
        .expect("APPENDUID");
    let f = m
        .uid_fetch_typed(uids.to_string(), "(BODY.PEEK[])")
        .await
        .unwrap();
    let body = f
        .iter()
        .find_map(|f| f.body())
        .unwrap_or_else(|| panic!("{f:?}"));
    assert!(body.starts_with(b"Subject: again\r\n\r\n"), "{body:?}");
    assert!(body.len() > 20, "the server's part follows: {body:?}");
    m.notify_set(
        false,
        &[imaplib::NotifyGroup {
            filter: imaplib::NotifyFilter::Personal,
            events: vec![imaplib::NotifyEvent::MailboxName],
        }],
    )
    .await
    .unwrap();
    m.notify_none().await.unwrap();
    // Message by message, owned and as borrowed views.
    let mut uids = Vec::new();
    m.uid_fetch_each("1:*", "(UID ENVELOPE)", |f| uids.push(f.unwrap().uid()))
        .await
        .unwrap();
    let mut viewed = Vec::new();
    let n = m
        .uid_fetch_each_view("1:*", "(UID ENVELOPE)", |v| {
            let v = v.unwrap();
            assert!(v.envelope().is_some());
            viewed.push(v.uid())
        })
        .await
        .unwrap();
    assert_eq!(n, uids.len());
    assert_eq!(viewed, uids);
    assert!(uids.len() >= 3, "{uids:?}");
    let range = imaplib::types::PartialRange::first(1, 10).unwrap();
    assert!(m.search_partial(false, range, ["ALL"]).await.is_err());
    assert!(m.uid_fetch_partial("1:*", "(FLAGS)", range).await.is_err());
    assert!(m.setquota_typed("", &[("STORAGE", 100)]).await.is_err());
    m.logout().await.unwrap();
}
