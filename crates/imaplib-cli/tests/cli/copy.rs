//! `imap sync --to-url/--to-stream`: an account copied from one Dovecot to
//! another, exactly (bytes, flags, keywords, INTERNALDATE), resumably and
//! without duplicates, over stdin/stdout, STARTTLS and TLS.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use imaplib::imaplib_proto::utf7;
use imaplib::{DateInput, Imap4};

use crate::support::{
    imap, kept_flags, message, Dovecot, KillWindow, PreauthDovecot, Run, TempDir,
};

/// One message as compared: content, flags (sorted, without `\Recent`),
/// INTERNALDATE (seconds).
type Seen = (Vec<u8>, Vec<String>, i64);

/// Every mailbox of the account behind `m` (names with `/` as the
/// delimiter), each with its messages sorted.
fn snapshot_of(m: &mut Imap4) -> BTreeMap<String, Vec<Seen>> {
    let mut out = BTreeMap::new();
    for entry in m.list_typed(Some(""), Some("*")).unwrap() {
        if entry
            .attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case("\\Noselect"))
        {
            continue;
        }
        let wire = String::from_utf8(entry.mailbox.raw.to_vec()).unwrap();
        let mut name = utf7::decode(wire.as_bytes()).unwrap();
        if let Some(d) = entry.delimiter.map(char::from) {
            name = name.replace(d, "/");
        }
        let info = m.select_typed(&wire, true).unwrap();
        let mut messages = Vec::new();
        if info.exists > 0 {
            for f in m
                .uid_fetch_typed("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
                .unwrap()
            {
                let flags = kept_flags(&f);
                messages.push((
                    f.body().unwrap().to_vec(),
                    flags,
                    f.internal_date().unwrap().timestamp(),
                ));
            }
        }
        messages.sort();
        out.insert(name, messages);
    }
    out
}

fn snapshot(server: &PreauthDovecot) -> BTreeMap<String, Vec<Seen>> {
    snapshot_of(&mut Imap4::stream(&server.command()).unwrap())
}

/// The subscribed mailboxes (names with `/` as the delimiter).
fn subscribed(server: &PreauthDovecot) -> BTreeSet<String> {
    let mut m = Imap4::stream(&server.command()).unwrap();
    m.lsub_typed(Some(""), Some("*"))
        .unwrap()
        .into_iter()
        .map(|e| {
            let name = utf7::decode(&e.mailbox.raw).unwrap();
            match e.delimiter.map(char::from) {
                Some(d) => name.replace(d, "/"),
                None => name,
            }
        })
        .collect()
}

/// UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ of every mailbox.
fn counters(server: &PreauthDovecot) -> BTreeMap<String, (u32, u32, u64)> {
    let mut m = Imap4::stream(&server.command()).unwrap();
    let mut out = BTreeMap::new();
    for entry in m.list_typed(Some(""), Some("*")).unwrap() {
        let wire = String::from_utf8(entry.mailbox.raw.to_vec()).unwrap();
        if entry
            .attributes
            .iter()
            .any(|a| a.eq_ignore_ascii_case("\\Noselect"))
        {
            continue;
        }
        let st = m
            .status_typed(&wire, "(UIDVALIDITY UIDNEXT HIGHESTMODSEQ)")
            .unwrap();
        out.insert(
            wire,
            (
                st.uid_validity().unwrap(),
                st.uid_next().unwrap(),
                st.items
                    .iter()
                    .find_map(|i| match i {
                        imaplib::types::StatusItem::HighestModSeq(n) => Some(*n),
                        _ => None,
                    })
                    .unwrap(),
            ),
        );
    }
    out
}

/// APPENDs `body` to `mailbox` with `flags` and an INTERNALDATE of
/// `date` (seconds, shown at +0200).
fn put(m: &mut Imap4, mailbox: &str, flags: &str, date: i64, body: &[u8]) {
    let when = chrono::DateTime::from_timestamp(date, 0)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap());
    let reply = m
        .append(
            Some(&utf7::encode(mailbox)),
            Some(flags),
            Some(DateInput::DateTime(when)),
            body,
        )
        .unwrap();
    assert_eq!(reply.typ, imaplib::Status::Ok, "{reply:?}");
}

/// A source account: INBOX with flags, keywords and a `\Deleted`
/// message; a hierarchy; non-ASCII names; an empty mailbox; some
/// subscriptions. `sep` is the source's delimiter.
fn fill(server: &PreauthDovecot, sep: char) {
    let mut m = Imap4::stream(&server.command()).unwrap();
    let work = format!("Work{sep}Projects");
    let drafts = "Entwürfe".to_string();
    let deep = format!("Ünïcödé{sep}日本語");
    for name in [&work, &drafts, &deep, &"Empty".to_string()] {
        m.create(utf7::encode(name)).unwrap();
    }
    m.subscribe(utf7::encode(&work)).unwrap();
    m.subscribe(utf7::encode(&deep)).unwrap();
    m.subscribe("INBOX").unwrap();
    let day = 1_767_225_600; // 2026-01-01
    put(&mut m, "INBOX", "(\\Seen)", day, &message("one", 3000));
    put(
        &mut m,
        "INBOX",
        "(\\Seen $Work Urgent)",
        day + 60,
        &message("two", 800),
    );
    put(
        &mut m,
        "INBOX",
        "(\\Deleted \\Seen)",
        day + 120,
        &message("three", 1200),
    );
    put(
        &mut m,
        "INBOX",
        "()",
        day + 180,
        b"Subject: no id\r\n\r\nNo Message-ID.\r\n",
    );
    put(
        &mut m,
        &work,
        "(\\Flagged \\Answered)",
        day + 240,
        &message("plan", 25_000),
    );
    put(
        &mut m,
        &drafts,
        "(\\Draft)",
        day + 300,
        &message("entwurf", 500),
    );
    put(&mut m, &deep, "($Label1)", day + 360, &message("deep", 700));
    let _ = m.logout();
}

fn copy_run(src: &PreauthDovecot, dst: &PreauthDovecot, state: &Path, extra: &[&str]) -> Run {
    let (s, d) = (src.command(), dst.command());
    let mut args = vec![
        "sync",
        "--stream",
        &s,
        "--to-stream",
        &d,
        "--state",
        state.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    imap(args).run()
}

fn copy(src: &PreauthDovecot, dst: &PreauthDovecot, state: &Path, extra: &[&str]) -> String {
    let run = copy_run(src, dst, state, extra);
    run.expect(0);
    run.out()
}

#[test]
fn copy_is_exact_and_a_rerun_changes_nothing() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.contains("INBOX: subscribed, 4 copied"), "{said}");
    assert!(
        said.contains("Work.Projects: created, subscribed, 1 copied"),
        "{said}"
    );
    assert!(said.contains("Empty: created"), "{said}");
    assert_eq!(snapshot(&src), snapshot(&dst));
    let want: BTreeSet<String> = ["INBOX", "Work/Projects", "Ünïcödé/日本語"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(want.is_subset(&subscribed(&dst)), "{:?}", subscribed(&dst));
    assert!(!subscribed(&dst).contains("Empty"));

    // Nothing new: nothing changes on the destination.
    let before = counters(&dst);
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
    assert_eq!(counters(&dst), before);
    assert_eq!(snapshot(&src), snapshot(&dst));
}

#[test]
fn a_rerun_copies_new_messages_and_flag_changes_and_delete_expunges() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    copy(&src, &dst, &state.0, &[]);

    let mut m = Imap4::stream(&src.command()).unwrap();
    put(
        &mut m,
        "INBOX",
        "(\\Flagged)",
        1_767_300_000,
        &message("four", 900),
    );
    m.select("INBOX", false).unwrap();
    m.uid("STORE", ["1", "+FLAGS", "(\\Answered $Later)"])
        .unwrap();
    m.uid("STORE", ["2", "-FLAGS", "($Work \\Seen)"]).unwrap();
    m.select("Work.Projects", false).unwrap();
    m.uid("STORE", ["1", "+FLAGS", "(\\Deleted)"]).unwrap();
    m.expunge().unwrap();
    let _ = m.logout();

    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.contains("INBOX: 1 copied"), "{said}");
    assert!(said.contains("2 flag changes"), "{said}");
    let (s, d) = (snapshot(&src), snapshot(&dst));
    assert_eq!(s["INBOX"], d["INBOX"]);
    // Expunged on the source, kept on the destination without --delete.
    assert!(s["Work/Projects"].is_empty());
    assert_eq!(d["Work/Projects"].len(), 1);

    let said = copy(&src, &dst, &state.0, &["--delete"]);
    assert!(said.contains("Work.Projects: 1 expunged"), "{said}");
    assert_eq!(snapshot(&src), snapshot(&dst));

    // Mailboxes the source deleted: deleted there with --delete, unless
    // the destination holds other messages in them.
    let mut m = Imap4::stream(&dst.command()).unwrap();
    put(
        &mut m,
        "Empty",
        "()",
        1_767_300_000,
        &message("only here", 700),
    );
    let _ = m.logout();
    let mut m = Imap4::stream(&src.command()).unwrap();
    m.delete("Entw&APw-rfe").unwrap();
    m.delete("Empty").unwrap();
    let _ = m.logout();
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(!said.contains("Entwürfe"), "{said}");
    assert!(snapshot(&dst).contains_key("Entwürfe"));
    let said = copy(&src, &dst, &state.0, &["--delete", "--dry-run"]);
    assert!(
        said.contains("Entwürfe: gone from the source, deleted, 1 expunged (dry run)"),
        "{said}"
    );
    assert!(snapshot(&dst).contains_key("Entwürfe"));
    let said = copy(&src, &dst, &state.0, &["--delete"]);
    assert!(
        said.contains("Entwürfe: gone from the source, deleted, 1 expunged"),
        "{said}"
    );
    assert!(
        said.contains("Empty: gone from the source; kept on the destination"),
        "{said}"
    );
    let d = snapshot(&dst);
    assert!(!d.contains_key("Entwürfe"));
    assert_eq!(d["Empty"].len(), 1);
    let said = copy(&src, &dst, &state.0, &["--delete"]);
    assert!(!said.contains("Entwürfe"), "{said}");
}

/// The copy state of `mailbox` in `dir` as JSON, and its file.
fn copy_state(dir: &Path, mailbox: &str) -> (PathBuf, serde_json::Value) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let value: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            if value["name"] == mailbox {
                return (path, value);
            }
        }
    }
    panic!("no state for {mailbox} in {}", dir.display());
}

#[test]
fn flag_stores_a_killed_run_journalled_are_done_again() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    copy(&src, &dst, &state.0, &[]);

    // The source gains a keyword; a run records it, journals the STORE
    // and is killed before the destination carries it out: the state a
    // kill at that instant leaves.
    let mut m = Imap4::stream(&src.command()).unwrap();
    m.select("INBOX", false).unwrap();
    m.uid("STORE", ["1", "+FLAGS", "($Label1)"]).unwrap();
    let _ = m.logout();
    let (path, mut st) = copy_state(&state.0, "INBOX");
    let flags = st["copied"]["1"]["flags"].as_array_mut().unwrap();
    flags.push("$Label1".into());
    st["flags_pending"] = serde_json::json!([1]);
    std::fs::write(&path, serde_json::to_vec(&st).unwrap()).unwrap();
    assert_ne!(snapshot(&src)["INBOX"], snapshot(&dst)["INBOX"]);

    // The source's flags equal the recorded ones, yet the next run stores
    // them, since the journal says the destination may not have them.
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.contains("INBOX: 1 flag changes"), "{said}");
    assert_eq!(snapshot(&src), snapshot(&dst));
    let (_, st) = copy_state(&state.0, "INBOX");
    assert!(st.get("flags_pending").is_none(), "{st}");
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
}

#[test]
fn messages_keep_their_order_around_streamed_ones() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    let mut m = Imap4::stream(&src.command()).unwrap();
    let day = 1_767_225_600;
    let order = ["a", "big-b", "c", "d", "big-e", "big-f", "g"];
    for (i, subject) in order.iter().enumerate() {
        // Over 1 MiB: streamed FETCH to APPEND, not batched.
        let size = if subject.starts_with("big") {
            1_300_000
        } else {
            2_000
        };
        put(
            &mut m,
            "INBOX",
            "()",
            day + i as i64,
            &message(subject, size),
        );
    }
    let _ = m.logout();
    let state = TempDir::new("copy-state");
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.contains("INBOX: 7 copied"), "{said}");
    // The destination's UIDs follow the source's.
    let mut d = Imap4::stream(&dst.command()).unwrap();
    d.select("INBOX", true).unwrap();
    let subjects: Vec<String> = d
        .uid_fetch_typed("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .unwrap()
        .iter()
        .map(|f| {
            let header = String::from_utf8_lossy(&f.body().unwrap()).into_owned();
            header.trim().trim_start_matches("Subject: ").to_string()
        })
        .collect();
    assert_eq!(subjects, order);
    let _ = d.logout();
}

#[test]
fn a_mailbox_the_destination_refuses_does_not_stop_the_others() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    // Dovecot refuses a mailbox name that begins with `~`.
    let run = copy_run(&src, &dst, &state.0, &["--map", "Entwürfe=~Bad"]);
    run.expect(12);
    let said = run.out();
    assert!(
        said.contains("Entwürfe -> ~Bad: FAILED (cannot create ~Bad"),
        "{said}"
    );
    assert!(
        run.stderr.contains("1 mailboxes could not be copied"),
        "{}",
        run.stderr
    );
    let (s, d) = (snapshot(&src), snapshot(&dst));
    assert!(
        !d.contains_key("~Bad") && !d.contains_key("Entwürfe"),
        "{d:?}"
    );
    for (name, messages) in &s {
        if name != "Entwürfe" {
            assert_eq!(Some(messages), d.get(name), "{name}");
        }
    }
    // Without the refused name, the next run copies the rest and ends well.
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.contains("Entwürfe: created, 1 copied"), "{said}");
}

#[test]
fn separators_are_converted_and_map_renames() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    src.use_separator('/');
    fill(&src, '/');
    let mut m = Imap4::stream(&src.command()).unwrap();
    m.create("Old/v1").unwrap();
    put(
        &mut m,
        "Old/v1",
        "(\\Seen)",
        1_767_300_000,
        &message("old", 600),
    );
    let _ = m.logout();
    let state = TempDir::new("copy-state");
    let said = copy(&src, &dst, &state.0, &["--map", "Old=Archive.2020"]);
    assert!(
        said.contains("Old/v1 -> Archive.2020.v1: created, 1 copied"),
        "{said}"
    );
    assert!(said.contains("Work/Projects -> Work.Projects"), "{said}");
    let (s, mut d) = (snapshot(&src), snapshot(&dst));
    let archived = d.remove("Archive/2020/v1").unwrap();
    assert_eq!(archived, s["Old/v1"]);
    let mut s = s;
    s.remove("Old/v1");
    assert_eq!(s, d);
    assert!(subscribed(&dst).contains("Ünïcödé/日本語"));
}

#[test]
fn a_lost_state_finds_the_copies_instead_of_duplicating_them() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    copy(&src, &dst, &state.0, &[]);
    std::fs::remove_dir_all(&state.0).unwrap();
    let mut m = Imap4::stream(&src.command()).unwrap();
    put(
        &mut m,
        "INBOX",
        "(\\Seen)",
        1_767_300_000,
        &message("after", 900),
    );
    let _ = m.logout();
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.contains("INBOX: 1 copied"), "{said}");
    assert!(said.contains("4 found there already"), "{said}");
    assert_eq!(snapshot(&src), snapshot(&dst));
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
}

#[test]
fn a_destination_without_uidplus_or_multiappend_gets_no_duplicates() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    dst.announce_only(
        "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE NAMESPACE CHILDREN \
         LIST-EXTENDED UNSELECT CONDSTORE QRESYNC",
    );
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    copy(&src, &dst, &state.0, &[]);
    assert_eq!(snapshot(&src), snapshot(&dst));
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
    // Without UIDPLUS, --delete only marks the copy \Deleted.
    let mut m = Imap4::stream(&src.command()).unwrap();
    m.select("Entw&APw-rfe", false).unwrap();
    m.uid("STORE", ["1", "+FLAGS", "(\\Deleted)"]).unwrap();
    m.expunge().unwrap();
    let _ = m.logout();
    let said = copy(&src, &dst, &state.0, &["--delete"]);
    assert!(said.contains("marked \\Deleted, not expunged"), "{said}");
    let d = snapshot(&dst);
    assert_eq!(d["Entwürfe"].len(), 1);
    assert!(d["Entwürfe"][0].1.contains(&"\\Deleted".to_string()));
}

#[test]
fn a_message_over_appendlimit_is_reported_and_skipped() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    dst.limit_appends(20_000);
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    for _ in 0..2 {
        let run = copy_run(&src, &dst, &state.0, &[]);
        run.expect(12);
        let out = run.out();
        assert!(
            out.contains("not copied: UID 1: ")
                && out.contains("over the destination's APPENDLIMIT of 20000"),
            "{out}"
        );
        assert!(
            run.stderr.contains("1 messages were not copied"),
            "{}",
            run.stderr
        );
        let (mut s, mut d) = (snapshot(&src), snapshot(&dst));
        assert_eq!(d.remove("Work/Projects").unwrap(), vec![]);
        s.remove("Work/Projects");
        assert_eq!(s, d);
    }
}

#[test]
fn a_destination_that_fills_up_mid_way_loses_and_duplicates_nothing() {
    // A move to a server with a smaller quota: the destination refuses
    // every append once it is full (NO [OVERQUOTA]), in the middle of a
    // mailbox. The run stops sending there, says so and fails; once the
    // quota is raised, the next run copies exactly what is missing.
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    let mut m = Imap4::stream(&src.command()).unwrap();
    for mailbox in ["INBOX", "Archive", "Lists"] {
        if mailbox != "INBOX" {
            m.create(mailbox).unwrap();
        }
        for i in 0..20 {
            let body = message(&format!("{mailbox}-{i}"), 5_000 + i * 37);
            put(
                &mut m,
                mailbox,
                "(\\Seen)",
                1_767_225_600 + i as i64 * 60,
                &body,
            );
        }
    }
    let _ = m.logout();
    dst.limit_storage(120);
    let state = TempDir::new("copy-state");
    let run = copy_run(&src, &dst, &state.0, &[]);
    run.expect(12);
    let out = run.out();
    // Each mailbox tries once: the first refusal is listed, the messages
    // after it are counted, not sent.
    assert!(
        out.contains("refused by the destination: [OVERQUOTA]"),
        "{out}"
    );
    assert!(out.matches("[OVERQUOTA]").count() <= 3, "{out}");
    assert!(
        out.contains("more, not sent: the destination is over its quota; tried again next run"),
        "{out}"
    );
    let (s, d) = (snapshot(&src), snapshot(&dst));
    let copied: usize = d.values().map(Vec::len).sum();
    assert!(copied > 0 && copied < 60, "{copied} copied: {out}");
    // What did arrive is whole, once each, with its flags and date.
    for (name, messages) in &d {
        for message in messages {
            assert_eq!(
                s[name].iter().filter(|m| *m == message).count(),
                1,
                "{name}: {message:?}"
            );
            assert_eq!(messages.iter().filter(|m| *m == message).count(), 1);
        }
    }
    dst.limit_storage(1024 * 1024);
    let said = copy(&src, &dst, &state.0, &[]);
    assert_eq!(snapshot(&dst), s, "{said}");
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(!said.contains("copied"), "{said}");
}

#[test]
fn a_dry_run_changes_nothing() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    let before = snapshot(&dst);
    let said = copy(&src, &dst, &state.0, &["--dry-run"]);
    assert!(
        said.contains("Work.Projects: created, subscribed, 1 copied"),
        "{said}"
    );
    assert!(said.contains("(dry run)"), "{said}");
    assert!(said.contains("  copy UID 1"), "{said}");
    assert_eq!(snapshot(&dst), before);
    assert!(!state.0.exists() || std::fs::read_dir(&state.0).unwrap().next().is_none());
}

#[test]
fn refusals_without_an_announced_limit_are_reported_and_the_rest_copied() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    // Over it: the 25 KB message (in a MULTIAPPEND batch) and a 2 MB one
    // (streamed); no APPENDLIMIT is announced.
    dst.refuse_appends_over(20_000);
    fill(&src, '.');
    src.deliver("INBOX", &message("big", 2_000_000));
    let mut m = Imap4::stream(&src.command()).unwrap();
    put(
        &mut m,
        "Work.Projects",
        "(\\Seen)",
        1_767_300_000,
        &message("small", 900),
    );
    let _ = m.logout();
    let state = TempDir::new("copy-state");
    for _ in 0..2 {
        let run = copy_run(&src, &dst, &state.0, &[]);
        run.expect(12);
        let out = run.out();
        assert_eq!(
            out.matches("refused by the destination: [LIMIT]").count(),
            2,
            "{out}"
        );
        let (s, d) = (snapshot(&src), snapshot(&dst));
        assert_eq!(d["INBOX"].len() + 1, s["INBOX"].len());
        assert_eq!(d["Work/Projects"].len(), 1);
        assert!(d["Work/Projects"][0].0.len() < 20_000);
        assert_eq!(d["Entwürfe"], s["Entwürfe"]);
    }
}

#[test]
fn a_dry_run_against_a_destination_with_messages_and_no_state() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    copy(&src, &dst, &state.0, &[]);
    std::fs::remove_dir_all(&state.0).unwrap();
    let before = counters(&dst);
    let said = copy(&src, &dst, &state.0, &["--dry-run"]);
    assert!(said.contains("INBOX: 4 found there already"), "{said}");
    assert!(!said.contains("copy UID"), "{said}");
    assert_eq!(counters(&dst), before);
}

#[test]
fn delete_keeps_a_mailbox_the_map_still_copies_into() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let state = TempDir::new("copy-state");
    copy(&src, &dst, &state.0, &[]);
    // Renamed on the source; the map sends it to the old place.
    let mut m = Imap4::stream(&src.command()).unwrap();
    m.rename("Work.Projects", "Work.Old").unwrap();
    let _ = m.logout();
    let said = copy(
        &src,
        &dst,
        &state.0,
        &["--delete", "--map", "Work.Old=Work.Projects"],
    );
    assert!(
        said.contains("Work.Old -> Work.Projects: 1 found there already"),
        "{said}"
    );
    assert!(!said.contains("deleted"), "{said}");
    assert_eq!(snapshot(&dst)["Work/Projects"].len(), 1);
}

/// The peak resident memory of process `pid` so far (kB).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .ok()
}

#[test]
fn a_200_mb_message_is_copied_in_bounded_memory() {
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    let mut big = message("huge", 0);
    let line =
        b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/0123456789abcd\r\n";
    while big.len() < 200 * 1024 * 1024 {
        big.extend_from_slice(line);
    }
    src.deliver("INBOX", &big);
    src.deliver("INBOX", &message("small", 2000));
    let state = TempDir::new("copy-state");
    let (s, d) = (src.command(), dst.command());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_imap"))
        .args(["sync", "-q", "--stream", &s, "--to-stream", &d, "--state"])
        .arg(&state.0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = peak_rss_kb(child.id()) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "too slow");
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "{status}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("200 MB copy: peak RSS {} MB", peak / 1024);
    assert!(peak > 0 && peak < 64 * 1024, "peak RSS {peak} kB");
    let mut m = Imap4::stream(&dst.command()).unwrap();
    m.select("INBOX", true).unwrap();
    let sizes = m.uid_fetch_typed("1:*", "(UID RFC822.SIZE)").unwrap();
    assert_eq!(sizes.len(), 2);
    let mut copied = Vec::new();
    let uid = sizes
        .iter()
        .filter_map(|f| f.uid())
        .find(|&u| {
            copied.clear();
            m.uid_fetch_to(u, "BODY.PEEK[]", &mut copied).unwrap() > 100_000_000
        })
        .unwrap();
    assert!(uid > 0);
    assert!(copied == big, "the 200 MB message differs after the copy");
}

/// Waits until no server process of `servers` is left: a session whose
/// client was killed still carries out the commands it had read. A late
/// STORE is made harmless by the copy's UNCHANGEDSINCE; an APPEND whose
/// bytes had all arrived and that lands only after the next run looked
/// for it would be copied twice, which no client can rule out, so the
/// runs here start once the killed run's sessions are over.
fn sessions_done(servers: &[&PreauthDovecot]) {
    let started = Instant::now();
    for server in servers {
        let pattern = server.dir.join("dc.conf").display().to_string();
        while std::process::Command::new("pgrep")
            .args(["-f", &pattern])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "a server session of a killed run is still running"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// What differs between two snapshots, for a failure's message: per
/// mailbox, the messages only on one side (subject line and flags).
fn differences(s: &BTreeMap<String, Vec<Seen>>, d: &BTreeMap<String, Vec<Seen>>) -> String {
    let subject = |m: &Seen| {
        let text = String::from_utf8_lossy(&m.0);
        let line = text
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap_or("?")
            .to_string();
        format!("{line} {:?} {}", m.1, m.2)
    };
    let mut out = String::new();
    for name in s.keys().chain(d.keys()).collect::<BTreeSet<_>>() {
        let (a, b) = (
            s.get(name).cloned().unwrap_or_default(),
            d.get(name).cloned().unwrap_or_default(),
        );
        if a == b {
            continue;
        }
        out.push_str(&format!("\n{name}: {} here, {} there", a.len(), b.len()));
        let mut rest = b.clone();
        for m in &a {
            match rest.iter().position(|x| x == m) {
                Some(i) => {
                    rest.remove(i);
                }
                None => out.push_str(&format!("\n  only on the source: {}", subject(m))),
            }
        }
        for m in &rest {
            out.push_str(&format!("\n  only on the destination: {}", subject(m)));
        }
    }
    out
}

/// A small deterministic random number generator for the kill test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn a_copy_killed_20_times_ends_exact_without_duplicates() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Lcg(seed);
    let (src, dst) = (PreauthDovecot::new(), PreauthDovecot::new());
    fill(&src, '.');
    let mut m = Imap4::stream(&src.command()).unwrap();
    let mut n = 0;
    for mailbox in ["INBOX", "Lists", "Lists.Rust"] {
        if mailbox != "INBOX" {
            m.create(mailbox).unwrap();
        }
        for i in 0..400 {
            n += 1;
            let flags = ["()", "(\\Seen)", "(\\Seen $Work)", "(\\Flagged \\Deleted)"][i % 4];
            let size = if i % 97 == 5 {
                1_500_000
            } else {
                2_000 + (i % 13) * 1500
            };
            put(
                &mut m,
                mailbox,
                flags,
                1_767_225_600 + n * 60,
                &message(&format!("m{n}"), size),
            );
        }
    }
    let _ = m.logout();
    let state = TempDir::new("copy-state");
    let (s, d) = (src.command(), dst.command());
    let mut killed = 0;
    let mut window = KillWindow::new(300);
    for round in 0..20 {
        // New messages and flag changes before each run.
        let mut m = Imap4::stream(&src.command()).unwrap();
        for mailbox in ["INBOX", "Lists.Rust"] {
            for _ in 0..30 {
                n += 1;
                let body = message(&format!("m{n}"), 1_000 + (n as usize % 11) * 1300);
                put(&mut m, mailbox, "(\\Seen)", 1_767_225_600 + n * 60, &body);
            }
            m.select(mailbox, false).unwrap();
            for uid in m.uid_search_typed(["ALL"]).unwrap().ids {
                if rng.next(10) == 0 {
                    let flag = ["(\\Seen)", "(\\Flagged)", "($Label1)"][rng.next(3) as usize];
                    let op = if rng.next(2) == 0 { "+FLAGS" } else { "-FLAGS" };
                    m.uid("STORE", [uid.to_string().as_str(), op, flag])
                        .unwrap();
                }
            }
        }
        let _ = m.logout();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_imap"))
            .args(["sync", "-q", "--stream", &s, "--to-stream", &d, "--state"])
            .arg(&state.0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(window.delay(|n| rng.next(n)));
        match child.try_wait().unwrap() {
            Some(status) => {
                let out = child.wait_with_output().unwrap();
                assert!(
                    status.success(),
                    "seed {seed}, round {round}: {status}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                window.finished();
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
                window.killed();
                // The killed run's server sessions finish what they had
                // read before the next run starts (see sessions_done).
                sessions_done(&[&src, &dst]);
            }
        }
    }
    let mid_way: usize = snapshot(&dst).values().map(Vec::len).sum();
    eprintln!("seed {seed}: {killed} of 20 runs killed mid-way, {mid_way} messages copied");
    assert!(
        killed >= 10,
        "seed {seed}: only {killed} of 20 runs were killed"
    );
    assert!(mid_way > 0, "seed {seed}: the killed runs copied nothing");
    copy(&src, &dst, &state.0, &[]);
    let said = copy(&src, &dst, &state.0, &[]);
    assert!(
        said.lines().all(|l| l.ends_with(": unchanged")),
        "seed {seed}: {said}"
    );
    let (s, d) = (snapshot(&src), snapshot(&dst));
    assert!(
        s == d,
        "seed {seed}: the accounts differ: {}",
        differences(&s, &d)
    );
}

fn daemon_copy_is_exact(tls: &str) {
    let server = Dovecot::start();
    let local = PreauthDovecot::new();
    fill(&local, '.');
    let state = TempDir::new("copy-state");
    let ca = server.ca_file.display().to_string();
    // To the daemon (bob), then from it (bob) to a second preauth server.
    let url = if tls == "--tls" {
        format!("imaps://bob@127.0.0.1:{}/", server.imaps_port)
    } else {
        format!("imap://bob@127.0.0.1:{}/", server.imap_port)
    };
    let cmd = local.command();
    let mut args = vec![
        "sync",
        "--stream",
        &cmd,
        "--to-url",
        &url,
        "--to-password-env",
        "TO_PW",
        "--to-ca-file",
        &ca,
        "--state",
    ];
    let state_path = state.0.to_str().unwrap().to_string();
    args.push(&state_path);
    if tls == "--starttls" {
        args.push("--to-starttls");
    }
    let run = imap(args).env("TO_PW", "bobpw").run();
    run.expect(0);
    let mut bob = if tls == "--tls" {
        Imap4::ssl_with_options(
            "127.0.0.1",
            server.imaps_port,
            imaplib::Options {
                tls: imaplib::TlsConfig::new().ca_file(&server.ca_file),
                ..Default::default()
            },
        )
        .unwrap()
    } else {
        Imap4::new("127.0.0.1", server.imap_port).unwrap()
    };
    bob.login("bob", "bobpw").unwrap();
    assert_eq!(snapshot(&local), snapshot_of(&mut bob));

    // Back from the daemon to an empty server, the daemon as the source.
    let back = PreauthDovecot::new();
    let state2 = TempDir::new("copy-state");
    let back_cmd = back.command();
    let mut args = vec![
        "sync",
        "--url",
        &url,
        "--password-env",
        "FROM_PW",
        "--ca-file",
        &ca,
    ];
    if tls == "--starttls" {
        args.push("--starttls");
    }
    let state2_path = state2.0.to_str().unwrap().to_string();
    args.extend([
        "--to-stream",
        &back_cmd,
        "--state",
        &state2_path,
        "--mailbox",
        "*",
    ]);
    imap(args).env("FROM_PW", "bobpw").run().expect(0);
    assert_eq!(snapshot(&local), snapshot(&back));
}

#[test]
fn copy_to_and_from_a_daemon_over_tls() {
    daemon_copy_is_exact("--tls");
}

#[test]
fn copy_to_and_from_a_daemon_over_starttls() {
    daemon_copy_is_exact("--starttls");
}

#[test]
fn copy_usage_errors_are_told_before_connecting() {
    let state = TempDir::new("copy-state");
    let st = state.0.to_str().unwrap();
    for (args, text) in [
        (
            vec!["--to-url", "imap://bob@127.0.0.1:1/INBOX"],
            "--to-url takes no mailbox",
        ),
        (vec!["--to-stream", "cat", "--pull"], "goes one way"),
        (vec!["--to-stream", "cat", "--map", "A"], "write OLD=NEW"),
        (
            vec!["--out", "x", "--delete"],
            "is for a copy to another server",
        ),
        (
            vec![
                "--to-url",
                "imap://bob@127.0.0.1:1/",
                "--to-ca-file",
                "/nonexistent",
            ],
            "the destination (--to-...): --ca-file",
        ),
    ] {
        let mut all = vec!["sync", "--stream", "false", "--state", st];
        all.extend(args);
        let run = imap(all).run();
        run.expect(2);
        run.one_error_line(text);
    }
    let run = imap(["sync", "--stream", "false"]).run();
    run.expect(2);
}
