//! The modern extensions' typed methods against a real Dovecot, and their
//! fallbacks and refusals against scripted servers.

mod support;

use std::time::Duration;

use imaplib::types::{PartialRange, Typed, Untagged};
use imaplib::{CatenatePart, NotifyEvent, NotifyFilter, NotifyGroup};
use imaplib::{IdleOptions, Options, Status, TlsConfig};
use support::both::Client;
use support::dovecot::Dovecot;
use support::scripted::Scripted;

/// Every extension here is exercised over implicit TLS, as a real client
/// would use it.
fn login<C: Client>(server: &Dovecot) -> C {
    let options = Options {
        tls: TlsConfig::new().ca_file(&server.ca_file),
        ..Options::with_timeout(Duration::from_secs(20))
    };
    let mut m = C::ssl_with_options("localhost", server.imaps_port, options).unwrap();
    m.login("alice", "alicepw").unwrap();
    m
}

/// A plain-TCP client of a scripted server.
fn scripted_client<C: Client>(server: &Scripted) -> C {
    C::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

fn msg(i: u32) -> Vec<u8> {
    format!("Subject: m{i}\r\nMessage-ID: <m{i}@x>\r\n\r\nbody {i}\r\n").into_bytes()
}

both! {
fn id_uidplus_move_and_copy() {
    let server = Dovecot::start();
    for i in 1..=5 {
        server.deliver("alice", "INBOX", &msg(i));
    }
    let mut m: Imap4 = login(&server);
    let id = m
        .id(Some(&[("name", "imaplib-rs"), ("version", "0.1")]))
        .unwrap()
        .unwrap();
    assert!(
        id.iter()
            .any(|(k, v)| k.as_ref() == b"name" && v.as_deref() == Some(&b"Dovecot"[..])),
        "{id:?}"
    );
    assert!(
        !m.enable_imap4rev2().unwrap(),
        "Dovecot 2.3 does not offer IMAP4rev2"
    );

    m.create("Archive").unwrap();
    m.select("INBOX", false).unwrap();
    let (validity, src, dst) = m
        .uid_copy_typed("1:2", "Archive")
        .unwrap()
        .expect("COPYUID");
    assert_eq!(
        (src.to_string(), dst.to_string()),
        ("1:2".to_string(), "1:2".to_string())
    );
    assert!(validity > 0);
    let moved = m.uid_move_typed("3", "Archive").unwrap();
    assert!(!moved.fallback);
    let (_, src, dst) = moved.copy_uid.expect("COPYUID from MOVE");
    assert_eq!(
        (src.to_string(), dst.to_string()),
        ("3".to_string(), "3".to_string())
    );
    // SEARCHRES: the result saved as `$` and used by the next command.
    let saved = m.esearch(true, "SAVE", ["UID", "4:5"]).unwrap();
    assert!(
        saved.all.is_none() && saved.count.is_none(),
        "SAVE alone returns nothing"
    );
    let reply = m.uid("FETCH", ["$", "(UID)"]).unwrap();
    assert_eq!(reply.data.len(), 2, "{reply:?}");
    // UID EXPUNGE removes exactly the UIDs given, even with others \Deleted.
    m.store("1:2", "+FLAGS.SILENT", "(\\Deleted)").unwrap();
    let reply = m.uid_expunge("1").unwrap();
    assert_eq!(reply.typ, Status::Ok);
    assert_eq!(m.uid_search_typed(["ALL"]).unwrap().ids, [2, 4, 5]);
    assert_eq!(
        m.status_typed("Archive", "(MESSAGES)").unwrap().messages(),
        Some(3)
    );
    m.logout().unwrap();
}
}

both! {
fn condstore_and_qresync() {
    let server = Dovecot::start();
    for i in 1..=4 {
        server.deliver("alice", "INBOX", &msg(i));
    }
    let mut m: Imap4 = login(&server);
    let info = m.select_condstore("INBOX", false).unwrap();
    let modseq = info.highest_modseq.expect("HIGHESTMODSEQ");
    let validity = info.uid_validity.unwrap();
    // Only the changed message comes back.
    m.uid("STORE", ["2", "+FLAGS", "(\\Flagged)"]).unwrap();
    let (changed, gone) = m
        .uid_fetch_changed_since("1:*", "(UID FLAGS)", modseq, false)
        .unwrap();
    assert_eq!(
        changed.iter().map(|f| f.uid().unwrap()).collect::<Vec<_>>(),
        [2]
    );
    assert!(gone.is_none());
    // STORE UNCHANGEDSINCE an old modseq: refused for the changed message.
    let (_, modified) = m
        .uid_store_unchanged_since("2:3", modseq, "+FLAGS", "(\\Seen)")
        .unwrap();
    assert_eq!(modified.map(|s| s.to_string()), Some("2".to_string()));
    m.logout().unwrap();

    // Resync from the saved state after changes made by someone else.
    let mut other: Imap4 = login(&server);
    other.select("INBOX", false).unwrap();
    other.uid("STORE", ["4", "+FLAGS", "(\\Answered)"]).unwrap();
    other
        .uid("STORE", ["1", "+FLAGS.SILENT", "(\\Deleted)"])
        .unwrap();
    other.uid_expunge("1").unwrap();
    other.append(None, None, None, msg(5)).unwrap();
    other.logout().unwrap();
    let mut m: Imap4 = login(&server);
    let r = m.resync("INBOX", validity, modseq).unwrap();
    assert!(!r.uid_validity_changed);
    let uids: Vec<u32> = r.changed.iter().filter_map(|f| f.uid()).collect();
    for uid in [2, 3, 4, 5] {
        assert!(uids.contains(&uid), "UID {uid} missing from {uids:?}");
    }
    assert_eq!(r.vanished.map(|s| s.to_string()), Some("1".to_string()));
    assert!(r.info.highest_modseq.unwrap() > modseq);
    // A wrong UIDVALIDITY is reported, and nothing is trusted.
    let mut m2: Imap4 = login(&server);
    let r = m2
        .resync("INBOX", validity.wrapping_add(1), modseq)
        .unwrap();
    assert!(r.uid_validity_changed);
    assert!(r.changed.is_empty());
    // With the UIDs the caller knows, VANISHED names only those gone
    // among them (UID 1 was expunged; 7 never existed).
    let r = m
        .select_qresync("INBOX", true, validity, modseq, Some("1:3,7"))
        .unwrap();
    assert!(r.info.read_only);
    let vanished = r.vanished.map(|s| s.to_string()).unwrap_or_default();
    assert!(vanished.starts_with('1'), "{vanished}");
    assert!(m
        .select_qresync("INBOX", false, validity, modseq, Some("1\r\nX"))
        .is_err());
    m.logout().unwrap();
    m2.logout().unwrap();
}
}

both! {
fn list_status_special_use_metadata_and_rights() {
    let server = Dovecot::start();
    server.deliver("alice", "INBOX", &msg(1));
    let mut m: Imap4 = login(&server);
    let listed = m
        .list_extended(
            &[],
            "",
            &["*"],
            &["SPECIAL-USE", "STATUS (MESSAGES UNSEEN)"],
        )
        .unwrap();
    let inbox = listed
        .iter()
        .find(|l| l.entry.mailbox.name() == "INBOX")
        .unwrap();
    let st = inbox
        .status
        .as_ref()
        .expect("STATUS in the LIST round trip");
    assert_eq!((st.messages(), st.unseen()), (Some(1), Some(1)));
    let uses = m.special_use_mailboxes().unwrap();
    for (attr, name) in [
        ("\\Sent", "Sent"),
        ("\\Trash", "Trash"),
        ("\\Drafts", "Drafts"),
        ("\\Junk", "Junk"),
    ] {
        assert_eq!(
            uses.get(attr).map(|e| e.mailbox.name()),
            Some(name.to_string()),
            "{attr}"
        );
    }
    let only_special = m.list_extended(&["SPECIAL-USE"], "", &["*"], &[]).unwrap();
    assert!(only_special.iter().all(|l| l.entry.special_use().is_some()));

    let reply = m
        .setmetadata(
            "INBOX",
            &[("/private/comment", Some(&b"first line\r\nsecond"[..]))],
        )
        .unwrap();
    assert_eq!(reply.typ, Status::Ok, "{reply:?}");
    let md = m.getmetadata("INBOX", &["/private/comment"], None).unwrap();
    assert_eq!(
        md.entries[0].1.as_deref(),
        Some(&b"first line\r\nsecond"[..])
    );
    m.setmetadata("INBOX", &[("/private/comment", None)])
        .unwrap();
    let md = m.getmetadata("INBOX", &["/private/comment"], None).unwrap();
    assert_eq!(md.entries[0].1, None);

    let rights = m.listrights("INBOX", "bob").unwrap();
    assert_eq!(rights.identifier.as_ref(), b"bob");
    m.logout().unwrap();
}
}

both! {
fn move_falls_back_only_when_safe() {
    // No MOVE, UIDPLUS: COPY + STORE \Deleted + UID EXPUNGE of those UIDs.
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] hi");
        let cmd = p.expect("SELECT");
        p.tagged(&cmd, "OK [READ-WRITE] done");
        let cmd = p.expect_line("UID COPY 4:5 Archive");
        p.tagged(&cmd, "OK [COPYUID 7 4:5 10:11] copied");
        let cmd = p.expect_line("UID STORE 4:5 +FLAGS.SILENT (\\Deleted)");
        p.tagged(&cmd, "OK stored");
        let cmd = p.expect_line("UID EXPUNGE 4:5");
        p.line_out("* 3 EXPUNGE");
        p.line_out("* 3 EXPUNGE");
        p.tagged(&cmd, "OK expunged");
        p.logout();
    });
    let mut m: Imap4 = scripted_client(&server);
    m.select("INBOX", false).unwrap();
    let r = m.uid_move_typed("4:5", "Archive").unwrap();
    assert!(r.fallback);
    assert_eq!(r.copy_uid.unwrap().2.to_string(), "10:11");
    m.logout().unwrap();
    server.finish();

    // Neither MOVE nor UIDPLUS: refused, nothing sent.
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] hi");
        let cmd = p.expect("SELECT");
        p.tagged(&cmd, "OK [READ-WRITE] done");
        p.logout();
    });
    let mut m: Imap4 = scripted_client(&server);
    m.select("INBOX", false).unwrap();
    let err = m.uid_move_typed("4", "Archive").unwrap_err();
    assert!(err.message().contains("neither MOVE nor UIDPLUS"), "{err}");
    assert!(m.uid_expunge("4").is_err());
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn imap4rev2_is_enabled_when_offered() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev2 ENABLE] hi");
        let cmd = p.expect_line("ENABLE IMAP4rev2");
        p.line_out("* ENABLED IMAP4rev2");
        p.tagged(&cmd, "OK enabled");
        p.logout();
    });
    let mut m: Imap4 = scripted_client(&server);
    assert_eq!(
        m.protocol_version(),
        "IMAP4REV2",
        "IMAP4rev1 is not required"
    );
    assert!(m.enable_imap4rev2().unwrap());
    assert_eq!(m.protocol_version(), "IMAP4REV2");
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn esort_and_binary_append() {
    let server = Dovecot::start();
    for (i, subject) in ["b", "c", "a"].iter().enumerate() {
        server.deliver(
            "alice",
            "INBOX",
            format!("Subject: {subject}\r\nMessage-ID: <s{i}@x>\r\n\r\nx\r\n").as_bytes(),
        );
    }
    let mut m: Imap4 = login(&server);
    m.select("INBOX", false).unwrap();
    let e = m
        .esort(false, "MIN MAX COUNT ALL", "SUBJECT", "UTF-8", ["ALL"])
        .unwrap();
    assert_eq!(e.count, Some(3));
    assert_eq!(
        e.all.map(|s| s.to_string()),
        Some("3,1:2".to_string()),
        "sorted by subject: a, b, c"
    );
    let e = m
        .esort(true, "COUNT", "(REVERSE SUBJECT)", "UTF-8", ["ALL"])
        .unwrap();
    assert!(e.uid);
    assert_eq!(e.count, Some(3));

    // Binary content (NUL and a bare CR) goes as a literal8, unchanged.
    let mut message = b"Subject: bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n".to_vec();
    message.extend_from_slice(b"\x00\x01\x02 raw\r bytes\xff\r\n");
    let reply = m.append_binary(None, None, &message).unwrap();
    assert_eq!(reply.typ, Status::Ok, "{reply:?}");
    let f = m
        .fetch_typed("4", "(BINARY.PEEK[1] BINARY.SIZE[1])")
        .unwrap();
    assert_eq!(
        f[0].body().map(|b| b.to_vec()),
        Some(b"\x00\x01\x02 raw\r bytes\xff\r\n".to_vec())
    );
    assert!(
        f[0].to_items()
            .iter()
            .any(|i| matches!(i, imaplib::types::FetchItem::BinarySize { size: 17, .. })),
        "{:?}",
        f[0]
    );
    m.logout().unwrap();
}
}

both! {
fn catenate_builds_a_message_from_server_parts() {
    let server = Dovecot::start();
    server.deliver(
        "alice",
        "INBOX",
        b"Subject: original\r\nMessage-ID: <o@x>\r\n\r\nthe original body\r\n",
    );
    let mut m: Imap4 = login(&server);
    let info = m.select_typed("INBOX", false).unwrap();
    let validity = info.uid_validity.unwrap();
    let url = format!("/INBOX;UIDVALIDITY={validity}/;UID=1/;SECTION=TEXT");
    let (dest_validity, uids) = m
        .append_catenate(
            Some("INBOX"),
            Some("\\Seen"),
            None,
            &[
                CatenatePart::Text(b"Subject: forwarded\r\n\r\n"),
                CatenatePart::Url(&url),
                CatenatePart::Text(b"-- \r\nsent from the server's copy\r\n"),
            ],
        )
        .unwrap()
        .expect("APPENDUID");
    assert_eq!(dest_validity, validity);
    let uid = uids.to_string();
    let f = m.uid_fetch_typed(&uid, "(FLAGS BODY.PEEK[])").unwrap();
    assert_eq!(
        f[0].body().map(|b| b.to_vec()),
        Some(
            b"Subject: forwarded\r\n\r\nthe original body\r\n-- \r\nsent from the server's copy\r\n"
                .to_vec()
        )
    );
    assert!(f[0].flags().unwrap().iter().any(|f| f == "\\Seen"));

    // A URL naming nothing: refused with the server's BADURL, nothing added.
    let bad = format!("/INBOX;UIDVALIDITY={validity}/;UID=999/;SECTION=TEXT");
    let err = m
        .append_catenate(None, None, None, &[CatenatePart::Url(&bad)])
        .unwrap_err();
    assert!(err.message().contains("BADURL"), "{err}");
    assert_eq!(
        err.detail(),
        Some(imaplib::imaplib_proto::ProtoErrorKind::CommandFailed),
        "a refusal, told apart from a decoding failure"
    );
    assert_eq!(m.select_typed("INBOX", false).unwrap().exists, 2);
    assert!(m.append_catenate(None, None, None, &[]).is_err());
    m.logout().unwrap();
}
}

both! {
fn notify_reports_other_mailboxes_as_typed_events() {
    let server = Dovecot::start();
    let mut other: Imap4 = login(&server);
    other.create("Lists").unwrap();

    let mut m: Imap4 = login(&server);
    m.select("INBOX", false).unwrap();
    m.notify_set(
        false,
        &[
            NotifyGroup {
                filter: NotifyFilter::Selected,
                events: vec![
                    NotifyEvent::MessageNew(Some("UID FLAGS".into())),
                    NotifyEvent::MessageExpunge,
                    NotifyEvent::FlagChange,
                ],
            },
            NotifyGroup {
                filter: NotifyFilter::Personal,
                events: vec![
                    NotifyEvent::MessageNew(None),
                    NotifyEvent::MessageExpunge,
                    NotifyEvent::MailboxName,
                ],
            },
        ],
    )
    .unwrap();

    let actor = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        other.create("Fresh").unwrap();
        other.append(Some("Lists"), None, None, msg(1)).unwrap();
        other.append(Some("INBOX"), None, None, msg(2)).unwrap();
        other.logout().unwrap();
    });
    let mut created = false;
    let mut lists_status = None;
    let mut inbox_new = None;
    let options = IdleOptions {
        duration: Some(Duration::from_secs(15)),
        ..IdleOptions::default()
    };
    m.idle_with(&options, None, |ev| {
        if let Typed::Untagged(u) = ev {
            match u {
                Untagged::List(l) if l.mailbox.name() == "Fresh" => created = true,
                Untagged::Status(s) if s.mailbox.name() == "Lists" => {
                    lists_status = s.messages().or(lists_status)
                }
                Untagged::Fetch(f) if f.uid().is_some() => inbox_new = f.uid(),
                _ => {}
            }
        }
        created && lists_status.is_some() && inbox_new.is_some()
    })
    .unwrap();
    actor.join().unwrap();
    assert!(created, "LIST for the new mailbox");
    assert_eq!(lists_status, Some(1), "STATUS of the other mailbox");
    assert_eq!(
        inbox_new,
        Some(1),
        "FETCH (UID FLAGS) of the new INBOX message"
    );
    m.notify_none().unwrap();
    m.logout().unwrap();
}
}

// An IMAP4rev2 server answers SEARCH with ESEARCH; PARTIAL pages; SETQUOTA
// with RFC 9208 resources; NOTIFY events outside IDLE.
both! {
fn imap4rev2_search_partial_setquota_and_notify_events() {
    let server = Scripted::start(|p| {
        p.line_out(
            "* PREAUTH [CAPABILITY IMAP4rev2 ENABLE PARTIAL QUOTA QUOTA=RES-STORAGE \
             QUOTA=RES-MESSAGE NOTIFY] hi",
        );
        let cmd = p.expect_line("ENABLE IMAP4rev2");
        p.line_out("* ENABLED IMAP4rev2");
        p.tagged(&cmd, "OK enabled");
        // IMAP4rev2 has no LSUB.
        let cmd = p.expect_line("LIST (SUBSCRIBED) \"\" *");
        p.line_out("* LIST (\\Subscribed \\NonExistent) \"/\" Gone");
        p.line_out("* LIST (\\Subscribed) \"/\" Lists (\"CHILDINFO\" (\"SUBSCRIBED\"))");
        p.tagged(&cmd, "OK listed");
        let cmd = p.expect("SELECT");
        p.line_out("* 9 EXISTS");
        p.tagged(&cmd, "OK [READ-WRITE] done");
        let cmd = p.expect_line("SEARCH UNSEEN");
        p.send(format!("* ESEARCH (TAG \"{}\") ALL 2:3,7\r\n", cmd.tag));
        p.tagged(&cmd, "OK searched");
        let cmd = p.expect_line("UID SEARCH DELETED");
        p.send(format!("* ESEARCH (TAG \"{}\") UID\r\n", cmd.tag));
        p.tagged(&cmd, "OK searched");
        let cmd = p.expect_line("UID SEARCH RETURN (PARTIAL -1:-2 COUNT) ALL");
        p.send(format!(
            "* ESEARCH (TAG \"{}\") UID COUNT 9 PARTIAL (-1:-2 20,23)\r\n",
            cmd.tag
        ));
        p.tagged(&cmd, "OK searched");
        let cmd = p.expect_line("UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)");
        p.line_out("* 8 FETCH (UID 20 FLAGS ())");
        p.line_out("* 9 FETCH (UID 23 FLAGS (\\Seen))");
        p.tagged(&cmd, "OK fetched");
        let cmd = p.expect_line("SETQUOTA \"\" (STORAGE 1024 MESSAGE 500)");
        p.line_out("* QUOTA \"\" (STORAGE 10 1024 MESSAGE 9 500)");
        p.tagged(&cmd, "OK set");
        let cmd = p.expect_line("NOTIFY SET (personal (MessageNew MailboxName))");
        p.tagged(&cmd, "OK notifying");
        let cmd = p.expect("NOOP");
        p.line_out("* STATUS Lists (MESSAGES 4 UIDNEXT 5)");
        p.line_out("* LIST () \"/\" Fresh");
        p.tagged(&cmd, "OK");
        let cmd = p.expect_line("STATUS INBOX (MESSAGES)");
        p.line_out("* STATUS INBOX (MESSAGES 9)");
        p.tagged(&cmd, "OK");
        let cmd = p.expect_line("NOTIFY NONE");
        p.tagged(&cmd, "OK");
        p.logout();
    });
    let mut m: Imap4 = scripted_client(&server);
    assert!(m.enable_imap4rev2().unwrap());
    let subscribed = m.lsub_typed(None, None).unwrap();
    assert_eq!(
        subscribed
            .iter()
            .map(|l| l.mailbox.name())
            .collect::<Vec<_>>(),
        vec!["Gone", "Lists"]
    );
    assert!(subscribed[0]
        .attributes
        .iter()
        .any(|a| a == "\\NonExistent"));
    assert!(matches!(
        &subscribed[1].extended[..],
        [imaplib::types::ListExtended::ChildInfo(c)] if c == &["SUBSCRIBED".to_string()]
    ));
    m.select("INBOX", false).unwrap();
    // imaplib's shape and the typed one, from the ESEARCH answer.
    let reply = m.search(None, ["UNSEEN"]).unwrap();
    assert_eq!(reply.data, vec![imaplib::Data::from("2 3 7")]);
    assert_eq!(
        m.uid_search_typed(["DELETED"]).unwrap().ids,
        Vec::<u32>::new()
    );

    let page = m
        .search_partial(true, PartialRange::last(1, 2).unwrap(), ["ALL"])
        .unwrap();
    assert_eq!(page.count, Some(9));
    let (range, set) = page.partial_result().unwrap();
    assert_eq!(range, PartialRange::last(1, 2).unwrap());
    assert_eq!(set.unwrap().to_string(), "20,23");
    let f = m
        .uid_fetch_partial("1:*", "(FLAGS)", PartialRange::last(1, 2).unwrap())
        .unwrap();
    assert_eq!(
        f.iter().map(|f| f.uid()).collect::<Vec<_>>(),
        vec![Some(20), Some(23)]
    );

    assert_eq!(m.quota_resources(), vec!["STORAGE", "MESSAGE"]);
    let err = m.setquota_typed("", &[("MAILBOX", 10)]).unwrap_err();
    assert!(err.message().contains("MAILBOX"), "{err}");
    let q = m
        .setquota_typed("", &[("storage", 1024), ("MESSAGE", 500)])
        .unwrap();
    assert_eq!(q[0].resources[1].name, "MESSAGE");
    assert_eq!((q[0].resources[1].usage, q[0].resources[1].limit), (9, 500));

    m.set_events(true);
    m.notify_set(
        false,
        &[NotifyGroup {
            filter: NotifyFilter::Personal,
            events: vec![NotifyEvent::MessageNew(None), NotifyEvent::MailboxName],
        }],
    )
    .unwrap();
    m.noop().unwrap();
    let events: Vec<Untagged> = m
        .take_events()
        .into_iter()
        .filter_map(|t| match t {
            Typed::Untagged(u) => Some(u),
            _ => None,
        })
        .collect();
    assert!(
        matches!(&events[..], [Untagged::Status(s), Untagged::List(l)]
            if s.mailbox.name() == "Lists" && s.messages() == Some(4) && l.mailbox.name() == "Fresh"),
        "{events:?}"
    );
    // A STATUS the client asked for is its result, not an event.
    assert_eq!(
        m.status_typed("INBOX", "(MESSAGES)").unwrap().messages(),
        Some(9)
    );
    assert!(m.take_events().is_empty());
    m.notify_none().unwrap();
    m.logout().unwrap();
    server.finish();

    // Without the capabilities: refused before anything is sent.
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 ESEARCH] hi");
        let cmd = p.expect("SELECT");
        p.tagged(&cmd, "OK [READ-WRITE] done");
        p.logout();
    });
    let mut m: Imap4 = scripted_client(&server);
    m.select("INBOX", false).unwrap();
    let range = PartialRange::first(1, 10).unwrap();
    for err in [
        m.search_partial(false, range, ["ALL"]).unwrap_err(),
        m.esearch(false, "PARTIAL 1:10", ["ALL"]).unwrap_err(),
        m.uid_fetch_partial("1:*", "(FLAGS)", range).unwrap_err(),
        m.setquota_typed("", &[("STORAGE", 1)]).unwrap_err(),
        m.notify_none().unwrap_err(),
        m.append_catenate(None, None, None, &[CatenatePart::Text(b"x")])
            .unwrap_err(),
    ] {
        assert!(err.message().contains("does not support"), "{err}");
        assert_eq!(
            err.detail(),
            Some(imaplib::imaplib_proto::ProtoErrorKind::MissingCapability)
        );
    }
    m.logout().unwrap();
    server.finish();
}
}
