//! The client against a real Dovecot, started by each test on free loopback
//! ports: over TCP, STARTTLS, implicit TLS and a preauthenticated
//! stdin/stdout process. Every method Dovecot supports is called and its
//! `(type, data)` checked.

mod support;

use std::time::{Duration, Instant};

use imaplib::{Data, ErrorKind, Options, State, Status, TlsConfig};
use support::both::Client;
use support::dovecot::{Dovecot, PreauthDovecot};

fn options() -> Options {
    Options::with_timeout(Duration::from_secs(20))
}

fn tls_options(server: &Dovecot) -> Options {
    Options {
        tls: TlsConfig::new().ca_file(&server.ca_file),
        ..options()
    }
}

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: {subject}\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn text(d: &Data) -> String {
    String::from_utf8_lossy(d.as_bytes().expect("a line")).into_owned()
}

fn lines(reply: &imaplib::Reply) -> Vec<String> {
    reply
        .data
        .iter()
        .filter(|d| d.as_bytes().is_some())
        .map(text)
        .collect()
}

fn login<C: Client>(server: &Dovecot) -> C {
    let mut m = C::with_options("127.0.0.1", server.imap_port, options()).expect("connect");
    m.login("alice", "alicepw").expect("login");
    m
}

both! {
fn tcp_every_method() {
    let server = Dovecot::start();
    server.deliver("alice", "INBOX", &message("first", "one"));
    server.deliver("alice", "INBOX", &message("second", "two"));

    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, options()).unwrap();
    assert_eq!(m.state(), State::NonAuth);
    assert!(m.welcome().starts_with(b"* OK"));
    assert_eq!(m.protocol_version(), "IMAP4REV1");
    assert!(m.has_capability("STARTTLS"));

    // capability
    let reply = m.capability().unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert!(text(&reply.data[0]).starts_with("IMAP4rev1"), "{reply:?}");

    // noop, login (wrong password, then right)
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    let err = m.login("alice", "wrong").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("Authentication failed"), "{err}");
    let reply = m.login("alice", "alicepw").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert!(text(&reply.data[0]).contains("Logged in"), "{reply:?}");
    assert_eq!(m.state(), State::Auth);
    // Capabilities were refreshed from the LOGIN OK: post-login ones.
    for cap in ["IDLE", "MOVE", "QUOTA", "ACL", "ENABLE", "UIDPLUS"] {
        assert!(
            m.has_capability(cap),
            "{cap} missing from {:?}",
            m.capabilities()
        );
    }

    // namespace
    let reply = m.namespace().unwrap();
    assert_eq!(lines(&reply), ["((\"\" \".\")) NIL NIL"]);

    // list / lsub / create / subscribe / unsubscribe / rename / delete
    let reply = m.create("Test Box").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    let reply = m.create("Test Box").unwrap();
    assert_eq!(reply.typ, Status::No, "already exists");
    let reply = m.list(None, None).unwrap();
    let all = lines(&reply);
    assert!(all.iter().any(|l| l.ends_with(" INBOX")), "{all:?}");
    assert!(all.iter().any(|l| l.ends_with(" \"Test Box\"")), "{all:?}");
    assert!(
        all.iter().any(|l| l.contains("\\Sent")),
        "special-use shown: {all:?}"
    );
    let reply = m.list(Some("\"\""), Some("Test%")).unwrap();
    assert_eq!(lines(&reply), ["(\\HasNoChildren) \".\" \"Test Box\""]);
    assert_eq!(m.subscribe("Test Box").unwrap().typ, Status::Ok);
    let reply = m.lsub(None, Some("Test*")).unwrap();
    assert_eq!(lines(&reply), ["() \".\" \"Test Box\""]);
    assert_eq!(m.unsubscribe("Test Box").unwrap().typ, Status::Ok);
    assert_eq!(m.lsub(None, Some("Test*")).unwrap().data, vec![Data::None]);
    assert_eq!(m.create("Entwürfe").unwrap().typ, Status::Ok);
    let reply = m.list(None, Some("Entw*")).unwrap();
    assert_eq!(lines(&reply), ["(\\HasNoChildren) \".\" Entw&APw-rfe"]);
    assert_eq!(m.rename("Entwürfe", "Drafts Old").unwrap().typ, Status::Ok);
    assert_eq!(m.delete("Drafts Old").unwrap().typ, Status::Ok);
    assert_eq!(m.delete("Drafts Old").unwrap().typ, Status::No);

    // status
    let reply = m.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)").unwrap();
    let status = text(&reply.data[0]);
    assert!(status.starts_with("INBOX ("), "{status}");
    assert!(
        status.contains("MESSAGES 2") && status.contains("UNSEEN 2"),
        "{status}"
    );
    assert!(status.contains("UIDNEXT 3"), "{status}");

    // append (flags, date, message with bare LF line ends)
    let date = chrono::DateTime::parse_from_rfc3339("2020-02-03T04:05:06+01:00").unwrap();
    let reply = m
        .append(
            Some("INBOX"),
            Some("(\\Flagged)"),
            Some(date.into()),
            "Subject: third\n\nthree\n",
        )
        .unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert!(text(&reply.data[0]).starts_with("[APPENDUID "), "{reply:?}");

    // select / examine / recent / response
    let reply = m.select("INBOX", false).unwrap();
    assert_eq!(reply.data, vec![Data::from("3")]);
    assert_eq!(m.state(), State::Selected);
    let (code, data) = m.response("UIDVALIDITY");
    assert_eq!(code, "UIDVALIDITY");
    assert!(text(&data[0]).parse::<u32>().is_ok(), "{data:?}");
    let reply = m.recent().unwrap();
    assert_eq!(reply.data, vec![Data::from("3")]);
    let reply = m.examine("INBOX").unwrap();
    assert_eq!(reply.data, vec![Data::from("3")]);
    assert!(m.is_readonly());
    let reply = m.select("INBOX", false).unwrap();
    assert_eq!(reply.data, vec![Data::from("3")]);
    assert!(!m.is_readonly());

    // search, fetch, uid, store, copy, move, expunge
    let reply = m.search(None, ["ALL"]).unwrap();
    assert_eq!(reply.data, vec![Data::from("1 2 3")]);
    let reply = m.search(Some("UTF-8"), ["SUBJECT", "second"]).unwrap();
    assert_eq!(reply.data, vec![Data::from("2")]);
    let reply = m.search(None, ["(FLAGGED)"]).unwrap();
    assert_eq!(reply.data, vec![Data::from("3")]);
    let reply = m.fetch("1", "(RFC822)").unwrap();
    assert_eq!(reply.data.len(), 2, "{reply:?}");
    assert_eq!(
        reply.data[0].literal().unwrap().as_ref(),
        &message("first", "one")[..]
    );
    assert!(
        text(&reply.data[0]).starts_with("1 (FLAGS (\\Seen) RFC822 {"),
        "{reply:?}"
    );
    assert_eq!(reply.data[1], Data::from(")"));
    let reply = m.fetch("3", "(BODY.PEEK[TEXT] INTERNALDATE)").unwrap();
    let header = text(&reply.data[0]);
    let when = imaplib::internaldate_to_tuple(reply.data.last().unwrap().as_bytes().unwrap())
        .or_else(|| imaplib::internaldate_to_tuple(header.as_bytes()))
        .expect("INTERNALDATE in the response");
    assert_eq!(when.timestamp(), date.timestamp());
    assert_eq!(reply.data[0].literal().unwrap().as_ref(), b"three\r\n");
    let reply = m.fetch("1:3", "(FLAGS)").unwrap();
    assert_eq!(reply.data.len(), 3);
    assert_eq!(
        imaplib::parse_flags(reply.data[2].as_bytes().unwrap()),
        vec![b"\\Flagged".to_vec()]
    );
    let reply = m.store("1", "+FLAGS", "\\Answered").unwrap();
    assert_eq!(lines(&reply), ["1 (FLAGS (\\Answered \\Seen))"]);
    let reply = m.uid("SEARCH", ["SEEN"]).unwrap();
    assert_eq!(reply.data, vec![Data::from("1")]);
    let reply = m.uid("FETCH", ["1:*", "(FLAGS)"]).unwrap();
    assert_eq!(reply.data.len(), 3);
    assert!(
        text(&reply.data[0]).starts_with("1 (UID 1 FLAGS ("),
        "{reply:?}"
    );
    let reply = m.copy("1:2", "Test Box").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert!(text(&reply.data[0]).starts_with("[COPYUID "), "{reply:?}");
    let reply = m.r#move("2", "Test Box").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(m.response("EXPUNGE").1, vec![Data::from("2")]);
    let reply = m.sort("(REVERSE SUBJECT)", "UTF-8", ["ALL"]).unwrap();
    assert_eq!(reply.data, vec![Data::from("2 1")]);
    let reply = m.thread("REFERENCES", "UTF-8", ["ALL"]).unwrap();
    assert_eq!(reply.data, vec![Data::from("(2)(1)")], "ordered by date");
    let reply = m.uid("SORT", ["(SUBJECT)", "UTF-8", "ALL"]).unwrap();
    assert_eq!(reply.data, vec![Data::from("1 3")]);
    let reply = m.store("1", "+FLAGS.SILENT", "(\\Deleted)").unwrap();
    assert_eq!(reply.data, vec![Data::None]);
    let reply = m.expunge().unwrap();
    assert_eq!(reply.data, vec![Data::from("1")]);
    assert_eq!(m.check().unwrap().typ, Status::Ok);

    // partial is not implemented by Dovecot (obsolete): BAD raises error.
    let err = m.partial("1", "RFC822", "0", "10").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);

    // ACL
    let reply = m.getacl("INBOX").unwrap();
    assert!(text(&reply.data[0]).starts_with("INBOX "), "{reply:?}");
    assert_eq!(m.setacl("Test Box", "bob", "lr").unwrap().typ, Status::Ok);
    let reply = m.getacl("Test Box").unwrap();
    assert!(text(&reply.data[0]).contains("bob lr"), "{reply:?}");
    assert_eq!(m.deleteacl("Test Box", "bob").unwrap().typ, Status::Ok);
    let reply = m.myrights("INBOX").unwrap();
    assert!(text(&reply.data[0]).starts_with("INBOX "), "{reply:?}");

    // QUOTA
    let reply = m.getquotaroot("INBOX").unwrap();
    let Data::List(roots) = &reply.data[0] else {
        panic!("{reply:?}")
    };
    let Data::List(quotas) = &reply.data[1] else {
        panic!("{reply:?}")
    };
    assert!(text(&roots[0]).starts_with("INBOX "), "{reply:?}");
    assert!(text(&quotas[0]).contains("STORAGE"), "{reply:?}");
    let root = text(&roots[0])["INBOX ".len()..].to_string();
    let reply = m.getquota(&root).unwrap();
    assert!(text(&reply.data[0]).contains("(STORAGE "), "{reply:?}");
    // Users may not set quotas: a NO or a BAD (error), never silence.
    match m.setquota(&root, "(STORAGE 1000)") {
        Ok(reply) => assert_eq!(reply.typ, Status::No),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Error),
    }

    // xatom: ID is not in imaplib's table.
    let reply = m.xatom("ID", ["NIL"]).unwrap();
    assert_eq!(reply.typ, Status::Ok);
    let (_, id) = m.response("ID");
    assert!(text(&id[0]).contains("\"name\" \"Dovecot\""), "{id:?}");

    // unselect, select, close
    assert_eq!(m.unselect().unwrap().typ, Status::Ok);
    assert_eq!(m.state(), State::Auth);

    // enable (legal in AUTH only)
    let reply = m.enable("CONDSTORE").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(m.response("ENABLED").1, vec![Data::from("CONDSTORE")]);

    m.select("Test Box", false).unwrap();
    assert_eq!(m.close().unwrap().typ, Status::Ok);
    assert_eq!(m.state(), State::Auth);

    // Raw access: send, readline, read, socket.
    assert_ne!(support::both::socket_of(&m), Some(false));
    m.send(b"RAW1 NOOP\r\n").unwrap();
    let line = m.readline().unwrap();
    assert!(line.starts_with(b"RAW1 OK"), "{line:?}");

    // logout
    let reply = m.logout().unwrap();
    assert_eq!(reply.typ, Status::Bye);
    assert!(text(&reply.data[0]).contains("Logging out"), "{reply:?}");
    assert_eq!(m.state(), State::Logout);
    assert_eq!(m.noop().unwrap_err().kind(), ErrorKind::Abort);
}
}

both! {
fn authenticate_plain_and_cram_md5() {
    let server = Dovecot::start();
    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, options()).unwrap();
    let reply = m
        .authenticate("PLAIN", |_| Some(b"\0bob\0bobpw".to_vec()))
        .unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(m.state(), State::Auth);
    assert!(m.has_capability("IDLE"));
    m.logout().unwrap();

    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, options()).unwrap();
    let err = m
        .authenticate("PLAIN", |_| Some(b"\0bob\0nope".to_vec()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    let err = m.authenticate("PLAIN", |_| None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error, "cancelled");
    let reply = m.login_cram_md5("alice", "alicepw").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(m.state(), State::Auth);
    m.logout().unwrap();
}
}

both! {
fn starttls_then_login() {
    let server = Dovecot::start();
    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, tls_options(&server)).unwrap();
    assert!(!m.is_tls());
    let reply = m.starttls(None).unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert!(m.is_tls());
    // Capabilities were asked again over TLS; STARTTLS is no longer offered.
    assert!(!m.capabilities().is_empty());
    assert!(!m.has_capability("STARTTLS"), "{:?}", m.capabilities());
    let err = m.starttls(None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    m.login("alice", "alicepw").unwrap();
    assert_eq!(
        m.select("INBOX", false).unwrap().data,
        vec![Data::from("0")]
    );
    m.logout().unwrap();
}
}

both! {
fn starttls_with_untrusted_certificate_fails_closed() {
    let server = Dovecot::start();
    // Only the platform's roots: the private CA is unknown.
    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, options()).unwrap();
    let err = m.starttls(None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("unknown authority"), "{err}");
    assert!(!m.is_tls());
    // Nothing goes out in plaintext afterwards.
    assert_eq!(
        m.login("alice", "alicepw").unwrap_err().kind(),
        ErrorKind::Abort
    );
}
}

both! {
fn implicit_tls_verified() {
    let server = Dovecot::start();
    let mut m =
        Imap4::ssl_with_options("127.0.0.1", server.imaps_port, tls_options(&server)).unwrap();
    assert!(m.is_tls());
    m.login("alice", "alicepw").unwrap();
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    m.logout().unwrap();

    // By name too.
    let mut m =
        Imap4::ssl_with_options("localhost", server.imaps_port, tls_options(&server)).unwrap();
    m.logout().unwrap();

    // A wrong host name fails.
    let wrong = Options {
        tls: TlsConfig::new()
            .ca_file(&server.ca_file)
            .server_name("wrong.example.org"),
        ..options()
    };
    let err = Imap4::ssl_with_options("127.0.0.1", server.imaps_port, wrong).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(
        err.message().contains("not valid for this host name"),
        "{err}"
    );

    // An unknown CA fails.
    let err = Imap4::ssl_with_options("127.0.0.1", server.imaps_port, options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("unknown authority"), "{err}");

    // A client certificate and key (imaplib's certfile / keyfile) are
    // loaded and offered; this server does not ask for one, so it connects.
    let certs = server.dir.join("certs");
    let with_cert = Options {
        tls: TlsConfig::new()
            .ca_file(&server.ca_file)
            .client_cert(certs.join("server.pem"), certs.join("server.key")),
        ..options()
    };
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.imaps_port, with_cert).unwrap();
    m.logout().unwrap();
    let missing = Options {
        tls: TlsConfig::new().client_cert(certs.join("nope.pem"), certs.join("server.key")),
        ..options()
    };
    let err = Imap4::ssl_with_options("127.0.0.1", server.imaps_port, missing).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("nope.pem"), "{err}");

    // Turning verification off is possible, explicitly.
    let insecure = Options {
        tls: TlsConfig::new().dangerous_accept_invalid_certificates(),
        ..options()
    };
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.imaps_port, insecure).unwrap();
    m.logout().unwrap();
}
}

both! {
fn stream_preauthenticated_process() {
    let server = PreauthDovecot::new();
    server.deliver("INBOX", &message("streamed", "over a pipe"));
    let mut m = Imap4::stream_with_options(&server.command(), options()).unwrap();
    assert_eq!(m.state(), State::Auth);
    assert!(m.welcome().starts_with(b"* PREAUTH"));
    assert_ne!(support::both::socket_of(&m), Some(true));
    assert_eq!(
        m.select("INBOX", false).unwrap().data,
        vec![Data::from("1")]
    );
    let reply = m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)])").unwrap();
    assert_eq!(
        reply.data[0].literal().unwrap().as_ref(),
        b"Subject: streamed\r\n\r\n"
    );
    let reply = m
        .append(None, None, None, message("appended", "x"))
        .unwrap();
    assert_eq!(reply.typ, Status::Ok);
    let reply = m.search(None, ["ALL"]).unwrap();
    assert_eq!(reply.data, vec![Data::from("1 2")]);
    // open() starts the same command again: a new session.
    m.open("", 0).unwrap();
    assert_eq!(m.state(), State::Auth);
    assert_eq!(
        m.status("INBOX", "(MESSAGES)").unwrap().data,
        vec![Data::from("INBOX (MESSAGES 2)")]
    );
    let reply = m.logout().unwrap();
    assert_eq!(reply.typ, Status::Bye);
}
}

both! {
fn idle_sees_a_message_appended_by_another_connection() {
    let server = Dovecot::start();
    let mut watcher: Imap4 = login(&server);
    watcher.select("INBOX", false).unwrap();
    let writer = std::thread::spawn({
        let port = server.imap_port;
        move || {
            std::thread::sleep(Duration::from_millis(300));
            let mut m = Imap4::with_options("127.0.0.1", port, options()).unwrap();
            m.login("alice", "alicepw").unwrap();
            m.append(None, None, None, message("pushed", "hello"))
                .unwrap();
            m.logout().unwrap();
            Instant::now()
        }
    });
    let result = watcher
        .idle(Some(Duration::from_secs(10)), |name, _| name == "EXISTS")
        .unwrap();
    let appended_at = writer.join().unwrap();
    let seen_after = appended_at.elapsed();
    assert_eq!(result.reply.typ, Status::Ok);
    assert!(
        result
            .responses
            .iter()
            .any(|(n, d)| n == "EXISTS" && d == &vec![Data::from("1")]),
        "{:?}",
        result.responses
    );
    assert!(seen_after < Duration::from_secs(5), "EXISTS arrived late");
    assert_eq!(watcher.noop().unwrap().typ, Status::Ok);
    watcher.logout().unwrap();
}
}
