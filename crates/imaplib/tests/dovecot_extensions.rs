//! The modern extensions' typed methods against a real Dovecot, and their
//! fallbacks and refusals against scripted servers.

mod support;

use std::time::Duration;

use imaplib::{Imap4, Options, Status};
use support::dovecot::Dovecot;
use support::scripted::Scripted;

fn login(server: &Dovecot) -> Imap4 {
    let mut m = Imap4::with_options(
        "127.0.0.1",
        server.imap_port,
        Options::with_timeout(Duration::from_secs(20)),
    )
    .unwrap();
    m.login("alice", "alicepw").unwrap();
    m
}

fn msg(i: u32) -> Vec<u8> {
    format!("Subject: m{i}\r\nMessage-ID: <m{i}@x>\r\n\r\nbody {i}\r\n").into_bytes()
}

#[test]
fn id_uidplus_move_and_copy() {
    let server = Dovecot::start();
    for i in 1..=5 {
        server.deliver("alice", "INBOX", &msg(i));
    }
    let mut m = login(&server);
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

#[test]
fn condstore_and_qresync() {
    let server = Dovecot::start();
    for i in 1..=4 {
        server.deliver("alice", "INBOX", &msg(i));
    }
    let mut m = login(&server);
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
    let mut other = login(&server);
    other.select("INBOX", false).unwrap();
    other.uid("STORE", ["4", "+FLAGS", "(\\Answered)"]).unwrap();
    other
        .uid("STORE", ["1", "+FLAGS.SILENT", "(\\Deleted)"])
        .unwrap();
    other.uid_expunge("1").unwrap();
    other.append(None, None, None, msg(5)).unwrap();
    other.logout().unwrap();
    let mut m = login(&server);
    let r = m.resync("INBOX", validity, modseq).unwrap();
    assert!(!r.uid_validity_changed);
    let uids: Vec<u32> = r.changed.iter().filter_map(|f| f.uid()).collect();
    for uid in [2, 3, 4, 5] {
        assert!(uids.contains(&uid), "UID {uid} missing from {uids:?}");
    }
    assert_eq!(r.vanished.map(|s| s.to_string()), Some("1".to_string()));
    assert!(r.info.highest_modseq.unwrap() > modseq);
    // A wrong UIDVALIDITY is reported, and nothing is trusted.
    let mut m2 = login(&server);
    let r = m2
        .resync("INBOX", validity.wrapping_add(1), modseq)
        .unwrap();
    assert!(r.uid_validity_changed);
    assert!(r.changed.is_empty());
    m.logout().unwrap();
    m2.logout().unwrap();
}

#[test]
fn list_status_special_use_metadata_and_rights() {
    let server = Dovecot::start();
    server.deliver("alice", "INBOX", &msg(1));
    let mut m = login(&server);
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

#[test]
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
    let mut m = Imap4::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_secs(5)),
    )
    .unwrap();
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
    let mut m = Imap4::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_secs(5)),
    )
    .unwrap();
    m.select("INBOX", false).unwrap();
    let err = m.uid_move_typed("4", "Archive").unwrap_err();
    assert!(err.message().contains("neither MOVE nor UIDPLUS"), "{err}");
    assert!(m.uid_expunge("4").is_err());
    m.logout().unwrap();
    server.finish();
}

#[test]
fn imap4rev2_is_enabled_when_offered() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev2 ENABLE] hi");
        let cmd = p.expect_line("ENABLE IMAP4rev2");
        p.line_out("* ENABLED IMAP4rev2");
        p.tagged(&cmd, "OK enabled");
        p.logout();
    });
    let mut m = Imap4::with_options(
        "127.0.0.1",
        server.port(),
        Options::with_timeout(Duration::from_secs(5)),
    )
    .unwrap();
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

#[test]
fn esort_and_binary_append() {
    let server = Dovecot::start();
    for (i, subject) in ["b", "c", "a"].iter().enumerate() {
        server.deliver(
            "alice",
            "INBOX",
            format!("Subject: {subject}\r\nMessage-ID: <s{i}@x>\r\n\r\nx\r\n").as_bytes(),
        );
    }
    let mut m = login(&server);
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
        f[0].items
            .iter()
            .any(|i| matches!(i, imaplib::types::FetchItem::BinarySize { size: 17, .. })),
        "{:?}",
        f[0]
    );
    m.logout().unwrap();
}
