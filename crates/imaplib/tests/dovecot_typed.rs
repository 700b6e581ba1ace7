//! Typed methods against a real Dovecot.

mod support;

use std::time::Duration;

use imaplib::types::{BodyStructure, FetchItem, Typed, Untagged};
use imaplib::{Options, TlsConfig};
use support::both::Client;
use support::dovecot::Dovecot;

/// Over implicit TLS, as a real client would connect.
fn login<C: Client>(server: &Dovecot, user: &str, pass: &str) -> C {
    let options = Options {
        tls: TlsConfig::new().ca_file(&server.ca_file),
        ..Options::with_timeout(Duration::from_secs(20))
    };
    let mut m = C::ssl_with_options("localhost", server.imaps_port, options).unwrap();
    m.login(user, pass).unwrap();
    m
}

const MULTIPART: &str = "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.org>\r\n\
To: Alice <alice@example.org>, team: b@example.org, c@example.org;\r\n\
Subject: Report\r\n\
Date: Thu, 26 Nov 2026 09:00:00 +0100\r\n\
Message-ID: <report-1@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
--XX\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hello.\r\n\
--XX\r\n\
Content-Type: application/pdf; name=\"r.pdf\"\r\n\
Content-Disposition: attachment; filename=\"r.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--XX--\r\n";

both! {
fn typed_methods() {
    let server = Dovecot::start();
    server.deliver("alice", "INBOX", MULTIPART.as_bytes());
    let mut m: Imap4 = login(&server, "alice", "alicepw");

    let info = m.select_typed("INBOX", false).unwrap();
    assert_eq!(info.exists, 1);
    assert_eq!(info.recent, Some(1));
    assert!(info.flags.contains(&"\\Seen".to_string()));
    assert!(info
        .permanent_flags
        .as_ref()
        .unwrap()
        .contains(&"\\*".to_string()));
    let uid_validity = info.uid_validity.expect("UIDVALIDITY");
    assert_eq!(info.uid_next, Some(2));
    assert!(!info.read_only);

    let fetched = m
        .fetch_typed(
            "1",
            "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY.PEEK[1])",
        )
        .unwrap();
    assert_eq!(fetched.len(), 1);
    let f = &fetched[0];
    assert_eq!((f.seq(), f.uid()), (1, Some(1)));
    assert!(f
        .to_items()
        .contains(&FetchItem::Rfc822Size(MULTIPART.len() as u64)));
    assert_eq!(f.rfc822_size(), Some(MULTIPART.len() as u64));
    let env = f.to_envelope().unwrap();
    assert_eq!(env.subject.as_deref(), Some(&b"Report"[..]));
    assert_eq!(env.from[0].email().unwrap(), "juergen@example.org");
    assert_eq!(
        env.message_id.as_deref(),
        Some(&b"<report-1@example.org>"[..])
    );
    assert_eq!(
        env.to.len(),
        5,
        "Alice, group start, two members, group end"
    );
    assert!(env.to[1].is_group_start());
    assert!(env.to[4].is_group_end());
    let BodyStructure::Multipart(mp) = f.to_body_structure().unwrap() else {
        panic!()
    };
    assert_eq!(mp.parts.len(), 2);
    assert_eq!(mp.parts[1].mime_type(), "application/pdf");
    let BodyStructure::Single(pdf) = &mp.parts[1] else {
        panic!()
    };
    assert_eq!(
        pdf.ext.disposition.as_ref().unwrap().0.to_ascii_lowercase(),
        b"attachment"
    );
    assert_eq!(f.body().unwrap().as_ref(), b"Hello.");

    let uid = m
        .append_typed(
            Some("INBOX"),
            Some("(\\Seen)"),
            None,
            "Subject: two\r\n\r\nx\r\n",
        )
        .unwrap();
    let (validity, uids) = uid.expect("APPENDUID");
    assert_eq!(validity, uid_validity);
    assert_eq!(uids.to_string(), "2");

    let list = m.list_typed(None, None).unwrap();
    let sent = list.iter().find(|l| l.mailbox.name() == "Sent").unwrap();
    assert_eq!(sent.special_use(), Some("\\Sent"));
    assert_eq!(sent.delimiter, Some(b'.'));
    assert!(list.iter().any(|l| l.mailbox.name() == "INBOX"));

    let st = m
        .status_typed("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
        .unwrap();
    assert_eq!(
        (st.messages(), st.unseen(), st.uid_next(), st.uid_validity()),
        (Some(2), Some(1), Some(3), Some(uid_validity))
    );

    m.noop().unwrap();
    let found = m.search_typed(None, ["ALL"]).unwrap();
    assert_eq!(found.ids, [1, 2]);
    let found = m.uid_search_typed(["SEEN"]).unwrap();
    assert_eq!(found.ids, [2]);
    let e = m.esearch(false, "MIN MAX COUNT ALL", ["ALL"]).unwrap();
    assert_eq!((e.min, e.max, e.count), (Some(1), Some(2), Some(2)));
    assert_eq!(e.all.unwrap().to_string(), "1:2");
    let e = m.esearch(true, "COUNT", ["UNSEEN"]).unwrap();
    assert!(e.uid);
    assert_eq!(e.count, Some(1));
    assert_eq!(m.sort_typed("(SUBJECT)", "UTF-8", ["ALL"]).unwrap(), [1, 2]);
    // RFC 5957 DISPLAY keys: message 2 has no From, which sorts first.
    assert!(m.has_capability("SORT=DISPLAY"));
    assert_eq!(
        m.sort_typed("(DISPLAYFROM)", "UTF-8", ["ALL"]).unwrap(),
        [2, 1]
    );
    assert_eq!(
        m.sort_typed("(REVERSE DISPLAYFROM)", "UTF-8", ["ALL"])
            .unwrap(),
        [1, 2]
    );
    let threads = m.thread_typed("REFERENCES", "UTF-8", ["ALL"]).unwrap();
    assert_eq!(threads.len(), 2);

    let stored = m.store_typed("1", "+FLAGS", "(\\Flagged)").unwrap();
    assert!(stored[0]
        .flags()
        .unwrap()
        .contains("\\Flagged"));

    let ns = m.namespace_typed().unwrap();
    assert_eq!(ns.personal[0].delimiter, Some(b'.'));
    let (root, quotas) = m.getquotaroot_typed("INBOX").unwrap();
    assert_eq!(root.mailbox.name(), "INBOX");
    assert_eq!(quotas[0].resources[0].name, "STORAGE");
    assert!(quotas[0].resources[0].limit > 0);
    let q = m.getquota_typed(&root.roots[0]).unwrap();
    assert_eq!(q[0].root, root.roots[0]);
    let acl = m.getacl_typed("INBOX").unwrap();
    assert_eq!(acl.entries[0].0.as_ref(), b"alice");
    assert!(!m.myrights_typed("INBOX").unwrap().is_empty());

    // A NO is an error for typed methods.
    let err = m.status_typed("Nonexistent", "(MESSAGES)").unwrap_err();
    assert_eq!(err.kind(), imaplib::ErrorKind::Error);
    m.logout().unwrap();
}
}

both! {
fn unsolicited_events_in_arrival_order() {
    let server = Dovecot::start();
    server.deliver("alice", "INBOX", b"Subject: one\r\n\r\n1\r\n");
    let mut watcher: Imap4 = login(&server, "alice", "alicepw");
    watcher.select("INBOX", false).unwrap();
    watcher.set_events(true);

    let mut other: Imap4 = login(&server, "alice", "alicepw");
    other.select("INBOX", false).unwrap();
    other.store("1", "+FLAGS", "(\\Flagged)").unwrap();
    other
        .append(None, None, None, "Subject: two\r\n\r\n2\r\n")
        .unwrap();
    other.logout().unwrap();

    // The changes reach the watcher with its next command.
    watcher.noop().unwrap();
    let events = watcher.take_events();
    let exists = events
        .iter()
        .position(|e| matches!(e, Typed::Untagged(Untagged::Exists(2))))
        .unwrap_or_else(|| panic!("no EXISTS 2 in {events:?}"));
    let flags = events
        .iter()
        .position(|e| matches!(e, Typed::Untagged(Untagged::Fetch(f)) if f.flags().is_some_and(|fl| fl.contains("\\Flagged"))))
        .unwrap_or_else(|| panic!("no FETCH flag update in {events:?}"));
    assert!(
        flags < exists || exists < flags,
        "both kept, in arrival order"
    );
    assert!(watcher.take_events().is_empty(), "taken once");
    // A FETCH the client asked for is its result, not an event.
    watcher.fetch("1", "(FLAGS)").unwrap();
    assert!(watcher.take_events().is_empty());
    // imaplib's store still has them too.
    assert!(watcher.untagged_responses().contains_key("EXISTS"));
    watcher.logout().unwrap();
}
}

both! {
fn multiappend_is_atomic_and_reports_all_uids() {
    let server = Dovecot::start();
    let mut m: Imap4 = login(&server, "alice", "alicepw");
    assert!(m.has_capability("MULTIAPPEND"));
    let reply = m
        .append_many(
            Some("INBOX"),
            &[
                (None, None, &b"Subject: one\r\n\r\n1\r\n"[..]),
                (Some("(\\Seen)"), None, &b"Subject: two\r\n\r\n2\r\n"[..]),
                (
                    None,
                    Some(imaplib::DateInput::from(1_600_000_000i64)),
                    &b"Subject: three\r\n\r\n3\r\n"[..],
                ),
            ],
        )
        .unwrap();
    assert!(reply.is_ok());
    match imaplib::reply_code(&reply) {
        Some(imaplib::types::ResponseCode::AppendUid { uids, .. }) => {
            assert_eq!(uids.to_string(), "1:3")
        }
        other => panic!("no APPENDUID: {other:?}"),
    }
    let st = m.status_typed("INBOX", "(MESSAGES UNSEEN)").unwrap();
    assert_eq!((st.messages(), st.unseen()), (Some(3), Some(2)));
    m.logout().unwrap();
}
}

both! {
fn fetch_each_decodes_message_by_message_in_bounded_memory() {
    let server = Dovecot::start();
    for i in 1..=300 {
        let body = format!("line of message {i}\r\n").repeat(20);
        server.deliver(
            "alice",
            "INBOX",
            format!("Subject: each {i}\r\nMessage-ID: <each{i}@x>\r\n\r\n{body}").as_bytes(),
        );
    }
    let mut m: Imap4 = login(&server, "alice", "alicepw");
    m.select("INBOX", true).unwrap();
    // Less than the whole answer (300 x ~500 bytes) may be held at once.
    m.set_max_untagged_bytes(32 * 1024);
    let err = m
        .fetch_typed("1:*", "(UID ENVELOPE BODY.PEEK[])")
        .unwrap_err();
    assert!(
        err.is_abort(),
        "collecting everything exceeds the bound: {err}"
    );

    let mut m: Imap4 = login(&server, "alice", "alicepw");
    m.select("INBOX", true).unwrap();
    m.set_max_untagged_bytes(32 * 1024);
    let mut seen = Vec::new();
    let n = m
        .uid_fetch_each("1:*", "(UID ENVELOPE BODY.PEEK[])", |f| {
            let f = f.expect("decodes");
            let subject = f.to_envelope().unwrap().subject.clone().unwrap();
            assert_eq!(
                subject.as_ref(),
                format!("each {}", f.uid().unwrap()).as_bytes()
            );
            assert!(f.body().unwrap().ends_with(b"\r\n"));
            seen.push(f.uid().unwrap());
        })
        .unwrap();
    assert_eq!(n, 300);
    assert_eq!(seen, (1..=300).collect::<Vec<u32>>());

    // Borrowed views give the same messages, read in place.
    let mut owned = Vec::new();
    m.uid_fetch_each("1:*", "(UID FLAGS ENVELOPE BODYSTRUCTURE)", |f| {
        owned.push(f.unwrap())
    })
    .unwrap();
    let mut viewed = Vec::new();
    let n = m
        .uid_fetch_each_view("1:*", "(UID FLAGS ENVELOPE BODYSTRUCTURE)", |v| {
            let v = v.expect("decodes");
            let subject = v.envelope().unwrap().subject().unwrap();
            assert_eq!(
                subject.as_bytes().as_ref(),
                format!("each {}", v.uid().unwrap()).as_bytes()
            );
            viewed.push(v.to_fetch().expect("checks again"));
        })
        .unwrap();
    assert_eq!(n, 300);
    assert_eq!(viewed, owned);
    // The client is usable afterwards, and FETCH results go back to normal.
    assert_eq!(m.fetch_typed("2", "(UID)").unwrap()[0].uid(), Some(2));
    m.logout().unwrap();
}
}
