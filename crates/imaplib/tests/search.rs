//! The typed SEARCH builder on both clients: German, Greek, Japanese and
//! emoji text found in subjects and bodies on Dovecot (which has no
//! UTF8=ACCEPT, so the builder says `CHARSET UTF-8`), the UTF8=ACCEPT and
//! `[BADCHARSET]` paths on scripted servers, and SEARCH, UID SEARCH,
//! ESEARCH, SORT and THREAD from the same query.

mod support;

use std::time::Duration;

use chrono::NaiveDate;
use imaplib::types::SequenceSet;
use imaplib::{Options, Query};
use support::dovecot::Dovecot;
use support::scripted::Scripted;

/// Subjects (as real mail writes them: encoded words, or raw UTF-8) and
/// UTF-8 bodies.
const MESSAGES: &[(&str, &str)] = &[
    // 1: German, subject in a Q encoded word.
    (
        "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=",
        "Liebe Grüße und schöne Feiertage",
    ),
    // 2: Greek, raw UTF-8 subject.
    ("Καλημέρα κόσμε", "Γειά σου, φίλε"),
    // 3: Japanese, subject in a B encoded word ("こんにちは世界").
    (
        "=?UTF-8?B?44GT44KT44Gr44Gh44Gv5LiW55WM?=",
        "日本語のテキストです",
    ),
    // 4: emoji, subject in a B encoded word ("Party 🎉 tonight").
    ("=?UTF-8?B?UGFydHkg8J+OiSB0b25pZ2h0?=", "Bring 🍕 please"),
    // 5: plain ASCII.
    ("Plain hello", "nothing special here"),
];

fn message(i: usize, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n\
         Subject: {subject}\r\nDate: Thu, {day} Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <m{i}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\
         \r\n{body}\r\n",
        day = 10 + i
    )
    .into_bytes()
}

fn mailbox_with_messages() -> Dovecot {
    let server = Dovecot::start();
    for (i, (subject, body)) in MESSAGES.iter().enumerate() {
        server.deliver("alice", "INBOX", &message(i + 1, subject, body));
    }
    server
}

both! {
    fn non_ascii_text_is_found_without_naming_a_charset() {
        let server = mailbox_with_messages();
        let mut m = Imap4::with_options(
            "127.0.0.1",
            server.imap_port,
            Options::with_timeout(Duration::from_secs(20)),
        )
        .unwrap();
        m.login("alice", "alicepw").unwrap();
        m.select("INBOX", false).unwrap();
        assert!(!m.utf8_enabled());

        let ids = |m: &mut Imap4, q: Query| m.search_query(&q).unwrap_or_else(|e| panic!("{q}: {e}")).ids;
        for (query, want) in [
            (Query::subject("Grüße"), vec![1]),
            (Query::subject("München"), vec![1]),
            (Query::body("schöne"), vec![1]),
            (Query::subject("κόσμε"), vec![2]),
            (Query::body("φίλε"), vec![2]),
            (Query::subject("世界"), vec![3]),
            (Query::body("テキスト"), vec![3]),
            (Query::subject("🎉"), vec![4]),
            (Query::body("🍕"), vec![4]),
            (Query::text("Grüße"), vec![1]),
            (Query::subject("hello"), vec![5]),
            (Query::subject("世界").or(Query::body("🍕")), vec![3, 4]),
            (Query::subject("世界").not().and(Query::from("alice")), vec![1, 2, 4, 5]),
            (Query::since(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()).and(Query::body("Γειά")), vec![2]),
            (Query::parse("OR SUBJECT κόσμε BODY 🍕").unwrap(), vec![2, 4]),
            (Query::parse("(FROM alice SUBJECT \"Grüße aus\")").unwrap(), vec![1]),
        ] {
            assert_eq!(ids(&mut m, query.clone()), want, "{query}");
        }

        let uids = m.uid_search_query(&Query::subject("κόσμε")).unwrap().ids;
        assert_eq!(uids.len(), 1);
        let by_uid = m.search_query(&Query::uid(SequenceSet::from_numbers(uids.clone()))).unwrap().ids;
        assert_eq!(by_uid, vec![2]);

        let e = m.esearch_query(false, "COUNT MIN MAX", &Query::text("🎉").or(Query::text("テキスト"))).unwrap();
        assert_eq!((e.count, e.min, e.max), (Some(2), Some(3), Some(4)));
        let e = m.esearch_query(true, "ALL", &Query::subject("κόσμε")).unwrap();
        assert!(e.uid);
        assert_eq!(e.all, Some(SequenceSet::from_numbers(uids)));

        let sorted = m.sort_query("REVERSE DATE", &Query::body("Grüße").or(Query::body("🍕")), false).unwrap();
        assert_eq!(sorted, vec![4, 1]);
        let threads = m.thread_query("REFERENCES", &Query::subject("世界"), false).unwrap();
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0].messages, vec![3]);
        m.logout().unwrap();
    }
}

both! {
    fn under_utf8_accept_the_text_goes_as_is() {
        let server = Scripted::start(|p| {
            p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT SORT] ready");
            let cmd = p.expect_line("ENABLE UTF8=ACCEPT");
            p.line_out("* ENABLED UTF8=ACCEPT");
            p.tagged(&cmd, "OK enabled");
            let cmd = p.expect_line("SELECT INBOX");
            p.tagged(&cmd, "OK [READ-WRITE] selected");
            // No CHARSET, no literal: UTF-8 in quoted strings (atoms stay ASCII).
            let cmd = p.expect_line("SEARCH SUBJECT \"Grüße aus\" BODY \"🍕\"");
            p.line_out("* SEARCH 1 4");
            p.tagged(&cmd, "OK done");
            let cmd = p.expect_line("SORT (DATE) UTF-8 SUBJECT \"Καλημέρα κόσμε\"");
            p.line_out("* SORT 2");
            p.tagged(&cmd, "OK done");
            p.logout();
        });
        let mut m = Imap4::with_options("127.0.0.1", server.port(), Options::with_timeout(Duration::from_secs(5))).unwrap();
        m.enable("UTF8=ACCEPT").unwrap();
        m.select("INBOX", false).unwrap();
        let q = Query::subject("Grüße aus").and(Query::body("🍕"));
        assert_eq!(m.search_query(&q).unwrap().ids, vec![1, 4]);
        assert_eq!(m.sort_query("DATE", &Query::subject("Καλημέρα κόσμε"), false).unwrap(), vec![2]);
        m.logout().unwrap();
        server.finish();
    }
}

both! {
    fn without_utf8_accept_the_text_is_a_literal_under_charset_utf8() {
        let server = Scripted::start(|p| {
            p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] ready");
            let cmd = p.expect_line("SELECT INBOX");
            p.tagged(&cmd, "OK [READ-WRITE] selected");
            let cmd = p.full_command();
            assert_eq!(cmd.name, "SEARCH");
            let words: Vec<String> = cmd.args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            assert_eq!(words, ["CHARSET", "UTF-8", "SUBJECT", "日本語", "FROM", "bob"]);
            assert_eq!(cmd.literals, 1, "{:?}", String::from_utf8_lossy(&cmd.wire));
            p.line_out("* SEARCH 3");
            p.send(format!("{} OK done\r\n", cmd.tag));
            // An ASCII query names no charset.
            let cmd = p.expect_line("UID SEARCH FROM bob UNSEEN");
            p.line_out("* SEARCH 30");
            p.tagged(&cmd, "OK done");
            p.logout();
        });
        let mut m = Imap4::with_options("127.0.0.1", server.port(), Options::with_timeout(Duration::from_secs(5))).unwrap();
        m.select("INBOX", false).unwrap();
        let q = Query::subject("日本語").and(Query::from("bob"));
        assert_eq!(m.search_query(&q).unwrap().ids, vec![3]);
        assert_eq!(m.uid_search_query(&Query::from("bob").and(Query::unseen())).unwrap().ids, vec![30]);
        m.logout().unwrap();
        server.finish();
    }
}

both! {
    fn badcharset_names_what_the_server_offers() {
        let server = Scripted::start(|p| {
            p.line_out("* PREAUTH [CAPABILITY IMAP4rev1] ready");
            let cmd = p.expect_line("SELECT INBOX");
            p.tagged(&cmd, "OK [READ-WRITE] selected");
            let cmd = p.full_command();
            assert_eq!(cmd.name, "SEARCH");
            p.send(format!("{} NO [BADCHARSET (US-ASCII ISO-8859-1)] cannot search in UTF-8\r\n", cmd.tag));
            // The connection goes on.
            let cmd = p.expect_line("NOOP");
            p.tagged(&cmd, "OK noop");
            p.logout();
        });
        let mut m = Imap4::with_options("127.0.0.1", server.port(), Options::with_timeout(Duration::from_secs(5))).unwrap();
        m.select("INBOX", false).unwrap();
        let e = m.search_query(&Query::subject("Ελληνικά")).unwrap_err();
        assert_eq!(e.kind(), imaplib::ErrorKind::Error);
        assert!(e.message().contains("searches only in: US-ASCII, ISO-8859-1"), "{e}");
        m.noop().unwrap();
        m.logout().unwrap();
        server.finish();
    }
}
