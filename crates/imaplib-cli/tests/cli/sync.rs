//! `imap sync`: the first mirror, the server's changes pulled, local
//! changes pushed, each conflict rule, mailboxes made on either side; each
//! with QRESYNC and again with Dovecot announcing neither CONDSTORE nor
//! QRESYNC.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use imaplib::Imap4;

use crate::support::{imap, kept_flags, message, KillWindow, PreauthDovecot, TempDir};

/// Capabilities without CONDSTORE and QRESYNC (what Dovecot announces
/// otherwise, less those two).
const PLAIN_CAPS: &str = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY \
     THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE \
     UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH ESORT SEARCHRES \
     WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY \
     LITERAL+ NOTIFY SPECIAL-USE";

fn lf(b: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(b)
        .replace("\r\n", "\n")
        .into_bytes()
}

/// A server, with or without CONDSTORE and QRESYNC.
fn server(modseq: bool) -> PreauthDovecot {
    let server = PreauthDovecot::new();
    if !modseq {
        server.announce_only(PLAIN_CAPS);
    }
    server
}

fn sync(server: &PreauthDovecot, out: &Path, extra: &[&str]) -> String {
    let cmd = server.command();
    let mut args = vec!["sync", "--stream", &cmd, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = imap(args).run();
    run.expect(0);
    run.out()
}

/// The messages of a local Maildir: content to letters.
fn local(dir: &Path) -> BTreeMap<Vec<u8>, String> {
    let mut out = BTreeMap::new();
    for sub in ["cur", "new"] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let letters = name.rsplit_once(":2,").map_or("", |(_, l)| l).to_string();
            let prev = out.insert(fs::read(e.path()).unwrap(), letters);
            assert!(prev.is_none(), "a message twice in {}", dir.display());
        }
    }
    out
}

/// The messages of a server mailbox: content (LF) to flags.
fn remote(server: &PreauthDovecot, mailbox: &str) -> BTreeMap<Vec<u8>, Vec<String>> {
    let mut m = Imap4::stream(&server.command()).unwrap();
    m.select_typed(mailbox, true).unwrap();
    let mut out = BTreeMap::new();
    for f in m
        .uid_fetch_typed("1:*", "(FLAGS BODY.PEEK[])")
        .unwrap_or_default()
    {
        let flags = kept_flags(&f);
        let prev = out.insert(lf(&f.body().unwrap()), flags);
        assert!(prev.is_none(), "a message twice in {mailbox} on the server");
    }
    let _ = m.logout();
    out
}

/// The server's mailbox names, as LIST sends them.
fn server_mailboxes(server: &PreauthDovecot) -> Vec<String> {
    let mut names = Vec::new();
    on_server(server, |m| {
        names = m
            .list_typed(Some(""), Some("*"))
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8_lossy(&e.mailbox.raw).into_owned())
            .collect();
    });
    names
}

/// Runs one session on the server.
fn on_server(server: &PreauthDovecot, f: impl FnOnce(&mut Imap4)) {
    let mut m = Imap4::stream(&server.command()).unwrap();
    f(&mut m);
    let _ = m.logout();
}

fn uid_of(m: &mut Imap4, subject: &str) -> u32 {
    let found = m
        .uid_search_typed([format!("SUBJECT \"{subject}\"")])
        .unwrap();
    assert_eq!(found.ids.len(), 1, "{subject}");
    found.ids[0]
}

fn letters_of(dir: &Path, content: &[u8]) -> Option<String> {
    local(dir).get(&lf(content)).cloned()
}

/// The file holding `content` in a Maildir.
fn file_of(dir: &Path, content: &[u8]) -> PathBuf {
    for sub in ["cur", "new"] {
        for e in fs::read_dir(dir.join(sub)).unwrap().flatten() {
            if fs::read(e.path()).unwrap() == lf(content) {
                return e.path();
            }
        }
    }
    panic!("no file with that message in {}", dir.display());
}

fn set_letters(path: &Path, letters: &str) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let base = name
        .rsplit_once(":2,")
        .map_or(name.as_str(), |(b, _)| b)
        .to_string();
    let dest = path.parent().unwrap().join(format!("{base}:2,{letters}"));
    fs::rename(path, dest).unwrap();
}

fn pulls(modseq: bool) {
    let server = server(modseq);
    let msgs: Vec<Vec<u8>> = (0..4)
        .map(|i| message(&format!("pull {i}"), 400 + i * 100))
        .collect();
    for m in &msgs[..3] {
        server.deliver("INBOX", m);
    }
    server.deliver("Work", &msgs[3]);
    // On disk, Maildir++ names are in modified UTF-7 ("Ü" is "&ANw-").
    server.deliver("Work.Sub &ANw-", &message("deep", 300));
    let out = TempDir::new("sync-pull");

    let said = sync(&server, &out.0, &[]);
    assert!(said.contains("INBOX: 3 new from the server"), "{said}");
    let inbox = out.join("INBOX");
    let want: BTreeMap<Vec<u8>, String> =
        msgs[..3].iter().map(|m| (lf(m), String::new())).collect();
    assert_eq!(local(&inbox), want);
    assert_eq!(local(&out.join("Work")).len(), 1);
    assert_eq!(local(&out.join("Work/Sub Ü")).len(), 1);

    // Nothing changed: nothing done.
    let said = sync(&server, &out.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");

    // On the server: a flag, an expunge, a new message, a new mailbox.
    let new = message("pull new", 700);
    on_server(&server, |m| {
        m.select("INBOX", false).unwrap();
        let u0 = uid_of(m, "pull 0");
        let u1 = uid_of(m, "pull 1");
        m.uid(
            "STORE",
            [u0.to_string().as_str(), "+FLAGS", "(\\Flagged $Work)"],
        )
        .unwrap();
        m.uid("STORE", [u1.to_string().as_str(), "+FLAGS", "(\\Deleted)"])
            .unwrap();
        m.expunge().unwrap();
        m.create("Made there").unwrap();
    });
    server.deliver("INBOX", &new);
    server.deliver("Made there", &message("there", 300));
    let said = sync(&server, &out.0, &[]);
    assert!(
        said.contains(
            "INBOX: 1 new from the server, 1 flag changes from the server, 1 deleted on the server"
        ),
        "{said}"
    );
    let got = local(&inbox);
    assert_eq!(got.len(), 3, "{:?}", got.values());
    assert_eq!(got.get(&lf(&msgs[0])).map(String::as_str), Some("F"));
    assert!(!got.contains_key(&lf(&msgs[1])));
    assert!(got.contains_key(&lf(&new)));
    assert_eq!(local(&out.join("Made there")).len(), 1);
    let said = sync(&server, &out.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
}

#[test]
fn sync_mirrors_and_pulls_the_servers_changes() {
    pulls(true);
}

#[test]
fn sync_pulls_without_condstore_or_qresync() {
    pulls(false);
}

fn pushes(modseq: bool) {
    let server = server(modseq);
    let msgs: Vec<Vec<u8>> = (0..3).map(|i| message(&format!("push {i}"), 500)).collect();
    for m in &msgs {
        server.deliver("INBOX", m);
    }
    let out = TempDir::new("sync-push");
    sync(&server, &out.0, &[]);
    let inbox = out.join("INBOX");

    // Here: one read, one removed, one new, a new mailbox.
    set_letters(&file_of(&inbox, &msgs[0]), "S");
    fs::remove_file(file_of(&inbox, &msgs[1])).unwrap();
    let mine = message("written here", 650);
    fs::write(inbox.join("new/1700000000.M1P1.here"), lf(&mine)).unwrap();
    let made = out.join("Made here");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(made.join(sub)).unwrap();
    }
    let there = message("in a new mailbox", 420);
    fs::write(made.join("cur/1700000001.M2P1.here:2,F"), lf(&there)).unwrap();

    let said = sync(&server, &out.0, &[]);
    assert!(
        said.contains("INBOX: 1 new to the server, 1 flag changes to the server, 1 deleted here"),
        "{said}"
    );
    assert!(
        said.contains("Made here: 1 new to the server, created on the server"),
        "{said}"
    );
    let on = remote(&server, "INBOX");
    assert_eq!(on.len(), 3, "{:?}", on.values());
    assert_eq!(on[&lf(&msgs[0])], ["\\Seen"]);
    assert!(!on.contains_key(&lf(&msgs[1])));
    assert!(on[&lf(&mine)].is_empty());
    let on = remote(&server, "Made here");
    assert_eq!(on[&lf(&there)], ["\\Flagged"]);
    let said = sync(&server, &out.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
    // The local tree still holds exactly what the server does.
    assert_eq!(local(&inbox).len(), 3);
}

#[test]
fn sync_pushes_local_changes() {
    pushes(true);
}

#[test]
fn sync_pushes_without_condstore_or_qresync() {
    pushes(false);
}

fn conflicts(modseq: bool) {
    let server = server(modseq);
    let msgs: Vec<Vec<u8>> = (0..4).map(|i| message(&format!("both {i}"), 500)).collect();
    for m in &msgs {
        server.deliver("INBOX", m);
    }
    let out = TempDir::new("sync-conflicts");
    sync(&server, &out.0, &[]);
    let inbox = out.join("INBOX");
    on_server(&server, |m| {
        m.select("INBOX", false).unwrap();
        for (subject, flags) in [("both 0", "(\\Seen \\Flagged)"), ("both 1", "(\\Answered)")] {
            let uid = uid_of(m, subject);
            m.uid("STORE", [uid.to_string().as_str(), "+FLAGS", flags])
                .unwrap();
        }
        // Expunged there, flagged here (below).
        let uid = uid_of(m, "both 2");
        m.uid("STORE", [uid.to_string().as_str(), "+FLAGS", "(\\Deleted)"])
            .unwrap();
        m.expunge().unwrap();
    });
    // 0: here \Seen removed... it was never set; add \Draft and a flag the
    // server also added.
    set_letters(&file_of(&inbox, &msgs[0]), "DF");
    // 1: removed here, changed there: comes back.
    fs::remove_file(file_of(&inbox, &msgs[1])).unwrap();
    // 2: flagged here, expunged there: goes back.
    set_letters(&file_of(&inbox, &msgs[2]), "F");

    let said = sync(&server, &out.0, &[]);
    assert!(said.contains("kept"), "{said}");
    let here = local(&inbox);
    assert_eq!(here.get(&lf(&msgs[0])).map(String::as_str), Some("DFS"));
    assert_eq!(here.get(&lf(&msgs[1])).map(String::as_str), Some("R"));
    assert_eq!(here.get(&lf(&msgs[2])).map(String::as_str), Some("F"));
    assert_eq!(here.len(), 4);
    let there = remote(&server, "INBOX");
    assert_eq!(there[&lf(&msgs[0])], ["\\Draft", "\\Flagged", "\\Seen"]);
    assert_eq!(there[&lf(&msgs[1])], ["\\Answered"]);
    assert_eq!(there[&lf(&msgs[2])], ["\\Flagged"]);
    assert_eq!(there.len(), 4);

    // A removal on either side wins over the other side keeping it.
    on_server(&server, |m| {
        m.select("INBOX", false).unwrap();
        let uid = uid_of(m, "both 0");
        m.uid("STORE", [uid.to_string().as_str(), "-FLAGS", "(\\Seen)"])
            .unwrap();
    });
    set_letters(&file_of(&inbox, &msgs[0]), "S");
    sync(&server, &out.0, &[]);
    assert_eq!(letters_of(&inbox, &msgs[0]).as_deref(), Some(""));
    assert!(remote(&server, "INBOX")[&lf(&msgs[0])].is_empty());
    let said = sync(&server, &out.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
}

#[test]
fn sync_conflict_rules() {
    conflicts(true);
}

#[test]
fn sync_conflict_rules_without_condstore_or_qresync() {
    conflicts(false);
}

#[test]
fn sync_one_way_and_dry_run() {
    sync_one_way_and_dry_run_on(true);
}

#[test]
fn sync_one_way_and_dry_run_without_condstore_or_qresync() {
    sync_one_way_and_dry_run_on(false);
}

fn sync_one_way_and_dry_run_on(modseq: bool) {
    let server = server(modseq);
    let msgs: Vec<Vec<u8>> = (0..2).map(|i| message(&format!("way {i}"), 500)).collect();
    for m in &msgs {
        server.deliver("INBOX", m);
    }
    let out = TempDir::new("sync-ways");
    // A dry run writes nothing.
    let said = sync(&server, &out.0, &["--dry-run"]);
    assert!(
        said.contains("INBOX: 2 new from the server, created here (dry run)"),
        "{said}"
    );
    assert!(!out.join("INBOX").exists());
    sync(&server, &out.0, &["--pull"]);
    let inbox = out.join("INBOX");
    assert_eq!(local(&inbox).len(), 2);
    // --pull leaves local changes here; --push takes them there.
    set_letters(&file_of(&inbox, &msgs[0]), "S");
    sync(&server, &out.0, &["--pull"]);
    assert!(remote(&server, "INBOX")[&lf(&msgs[0])].is_empty());
    let said = sync(&server, &out.0, &["--push", "--dry-run"]);
    assert!(said.contains("server +FLAGS"), "{said}");
    assert!(remote(&server, "INBOX")[&lf(&msgs[0])].is_empty());
    sync(&server, &out.0, &["--push"]);
    assert_eq!(remote(&server, "INBOX")[&lf(&msgs[0])], ["\\Seen"]);
    // Only the mailboxes asked for.
    server.deliver("Other", &message("other", 300));
    sync(&server, &out.0, &["--mailbox", "INBOX"]);
    assert!(!out.join("Other").exists());
}

/// A small pseudo-random sequence (the seed is printed on failure).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Writes a new message into a local Maildir, as a mail program would.
fn write_local(dir: &Path, n: usize, content: &[u8]) {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    fs::write(
        dir.join(format!("new/17000{n:05}.M{n}P1.here")),
        lf(content),
    )
    .unwrap();
}

#[test]
fn sync_killed_at_random_moments_loses_and_duplicates_nothing() {
    sync_killed_at_random_moments_loses_and_duplicates_nothing_on(true);
}

#[test]
fn sync_killed_at_random_moments_loses_and_duplicates_nothing_without_condstore_or_qresync() {
    sync_killed_at_random_moments_loses_and_duplicates_nothing_on(false);
}

fn sync_killed_at_random_moments_loses_and_duplicates_nothing_on(modseq: bool) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Lcg(seed);
    let server = server(modseq);
    let out = TempDir::new("sync-kill");
    let cmd = server.command();
    let mut n = 0usize;
    let mut server_side = 0usize;
    let mut local_side = 0usize;
    // Work on both sides before each run: the server gets new messages in
    // three mailboxes, the tree gets new files in two (one new to the
    // server), and flags change on both sides.
    let add_work =
        |n: &mut usize, server_side: &mut usize, local_side: &mut usize, rng: &mut Lcg| {
            for mailbox in ["INBOX", "Lists", "Lists.Rust"] {
                for _ in 0..25 {
                    *n += 1;
                    server.deliver(
                        mailbox,
                        &message(&format!("server {n}"), 2000 + (*n % 7) * 900),
                    );
                    *server_side += 1;
                }
            }
            for mailbox in ["INBOX", "Made here"] {
                for _ in 0..8 {
                    *n += 1;
                    write_local(
                        &out.join(mailbox),
                        *n,
                        &message(&format!("local {n}"), 1500 + (*n % 5) * 700),
                    );
                    *local_side += 1;
                }
            }
            let inbox = out.join("INBOX");
            if let Ok(entries) = fs::read_dir(inbox.join("cur")) {
                for e in entries.flatten() {
                    if rng.next(6) == 0 {
                        set_letters(&e.path(), ["S", "F", "RS", ""][rng.next(4) as usize]);
                    }
                }
            }
            on_server(&server, |m| {
                m.select("INBOX", false).unwrap();
                let all = m.uid_search_typed(["ALL"]).unwrap();
                for uid in all.ids {
                    if rng.next(8) == 0 {
                        let flag = ["(\\Seen)", "(\\Flagged)", "($Label1)"][rng.next(3) as usize];
                        let op = if rng.next(2) == 0 { "+FLAGS" } else { "-FLAGS" };
                        m.uid("STORE", [uid.to_string().as_str(), op, flag])
                            .unwrap();
                    }
                }
            });
        };
    let mut killed = 0;
    let mut finished = 0;
    let mut window = KillWindow::new(200);
    for round in 0..20 {
        add_work(&mut n, &mut server_side, &mut local_side, &mut rng);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_imap"))
            .args([
                "sync",
                "-q",
                "--stream",
                &cmd,
                "--out",
                out.0.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(window.delay(|n| rng.next(n)));
        match child.try_wait().unwrap() {
            Some(status) => {
                let mut err = String::new();
                use std::io::Read as _;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                assert!(
                    status.success(),
                    "seed {seed}, round {round}: {status}: {err}"
                );
                finished += 1;
                window.finished();
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
                window.killed();
            }
        }
    }
    eprintln!("seed {seed}: {killed} of 20 runs killed mid-way");
    assert!(
        killed >= 10,
        "seed {seed}: only {killed} of 20 runs were killed mid-way"
    );
    // The next runs complete the work, and then there is none.
    sync(&server, &out.0, &[]);
    let said = sync(&server, &out.0, &[]);
    assert!(
        said.lines().all(|l| l.ends_with(": unchanged")),
        "seed {seed}: {said}"
    );
    let mut total = 0;
    for (mailbox, dir) in [
        ("INBOX", "INBOX"),
        ("Lists", "Lists"),
        ("Lists.Rust", "Lists/Rust"),
        ("Made here", "Made here"),
    ] {
        let here = local(&out.join(dir));
        let there = remote(&server, mailbox);
        let as_letters: BTreeMap<Vec<u8>, String> = there
            .iter()
            .map(|(k, flags)| {
                let mut l: Vec<char> = flags
                    .iter()
                    .filter_map(|f| match f.as_str() {
                        "\\Draft" => Some('D'),
                        "\\Flagged" => Some('F'),
                        "\\Answered" => Some('R'),
                        "\\Seen" => Some('S'),
                        "\\Deleted" => Some('T'),
                        _ => None,
                    })
                    .collect();
                l.sort_unstable();
                (k.clone(), l.into_iter().collect())
            })
            .collect();
        assert_eq!(here, as_letters, "seed {seed}: {mailbox} differs");
        total += here.len();
    }
    assert_eq!(
        total,
        server_side + local_side,
        "seed {seed}: {finished} runs finished"
    );
}

/// The file names in a Maildir's `cur/`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir.join("cur"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn sync_rematches_after_a_uidvalidity_change_without_downloading() {
    sync_rematches_after_a_uidvalidity_change_without_downloading_on(true);
}

#[test]
fn sync_rematches_after_a_uidvalidity_change_without_downloading_without_condstore_or_qresync() {
    sync_rematches_after_a_uidvalidity_change_without_downloading_on(false);
}

fn sync_rematches_after_a_uidvalidity_change_without_downloading_on(modseq: bool) {
    let server = server(modseq);
    let msgs: Vec<Vec<u8>> = (0..4)
        .map(|i| message(&format!("renumbered {i}"), 600))
        .collect();
    for m in &msgs {
        server.deliver("Box", m);
    }
    let out = TempDir::new("sync-uidvalidity");
    sync(&server, &out.0, &[]);
    let dir = out.join("Box");
    // The mailbox made again (a new UIDVALIDITY) holding three of the four
    // messages and a new one; here, one of them gets read.
    let new = message("renumbered new", 800);
    on_server(&server, |m| {
        m.delete("Box").unwrap();
        m.create("Box").unwrap();
        for msg in msgs[..3].iter().chain([&new]) {
            let reply = m.append(Some("Box"), None, None, msg).unwrap();
            assert!(reply.is_ok());
        }
    });
    set_letters(&file_of(&dir, &msgs[0]), "S");
    let before: Vec<String> = names_in(&dir)
        .into_iter()
        .filter(|n| !n.ends_with(":2,S"))
        .collect();
    let said = sync(&server, &out.0, &[]);
    assert!(said.contains("UIDVALIDITY changed"), "{said}");
    // Only the new message came down; the matched files kept their names.
    assert!(said.contains("Box: 1 new from the server"), "{said}");
    let after = names_in(&dir);
    for name in &before {
        assert!(after.contains(name), "{name} renamed or removed: {after:?}");
    }
    // The message the server lost is kept here and sent back.
    let there = remote(&server, "Box");
    assert_eq!(
        there.len(),
        5,
        "{:?}",
        there.keys().map(|k| k.len()).collect::<Vec<_>>()
    );
    assert_eq!(there[&lf(&msgs[0])], ["\\Seen"]);
    assert!(there.contains_key(&lf(&msgs[3])));
    assert_eq!(local(&dir).len(), 5);
    let said = sync(&server, &out.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
}

#[test]
fn sync_follows_mailboxes_deleted_on_either_side() {
    sync_follows_mailboxes_deleted_on_either_side_on(true);
}

#[test]
fn sync_follows_mailboxes_deleted_on_either_side_without_condstore_or_qresync() {
    sync_follows_mailboxes_deleted_on_either_side_on(false);
}

fn sync_follows_mailboxes_deleted_on_either_side_on(modseq: bool) {
    let server = server(modseq);
    for name in ["GoneThere", "GoneHere", "ChangedHere", "ChangedThere"] {
        server.deliver(name, &message(&format!("in {name}"), 500));
    }
    let out = TempDir::new("sync-deleted");
    sync(&server, &out.0, &[]);
    on_server(&server, |m| {
        for name in ["GoneThere", "ChangedHere"] {
            assert!(m.delete(name).unwrap().is_ok());
        }
        m.select("ChangedThere", false).unwrap();
        m.uid("STORE", ["1:*", "+FLAGS", "(\\Flagged)"]).unwrap();
    });
    fs::remove_dir_all(out.join("GoneHere")).unwrap();
    fs::remove_dir_all(out.join("ChangedThere")).unwrap();
    let changed_here = file_of(&out.join("ChangedHere"), &message("in ChangedHere", 500));
    set_letters(&changed_here, "S");
    let said = sync(&server, &out.0, &[]);
    assert!(
        said.contains(
            "GoneThere: 1 deleted on the server, mailbox deleted on the server, removed here"
        ),
        "{said}"
    );
    assert!(
        said.contains("GoneHere: 1 deleted here, mailbox removed here, deleted on the server"),
        "{said}"
    );
    assert!(!out.join("GoneThere").exists());
    // Changed on the other side: kept, and made again where it was deleted.
    assert!(
        said.contains("ChangedHere: 1 new to the server, created on the server"),
        "{said}"
    );
    assert_eq!(
        remote(&server, "ChangedHere").values().next().unwrap(),
        &["\\Seen"]
    );
    assert_eq!(
        local(&out.join("ChangedThere"))
            .values()
            .next()
            .map(String::as_str),
        Some("F")
    );
    let names = server_mailboxes(&server);
    assert!(
        !names.iter().any(|n| n == "GoneHere" || n == "GoneThere"),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n == "ChangedHere"), "{names:?}");
    let said = sync(&server, &out.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
}

#[test]
fn an_unchanged_resync_is_one_command_per_mailbox_under_qresync() {
    let server = server(true);
    for name in ["INBOX", "A", "B", "C"] {
        server.deliver(name, &message(&format!("in {name}"), 500));
    }
    let out = TempDir::new("sync-round-trips");
    sync(&server, &out.0, &[]);
    let cmd = server.command();
    let run = imap([
        "-vv",
        "sync",
        "--stream",
        &cmd,
        "--out",
        out.0.to_str().unwrap(),
    ])
    .run();
    run.expect(0);
    let sent: Vec<String> = run
        .stderr
        .lines()
        .filter_map(|l| {
            l.split_once("imaplib::protocol: > ")
                .map(|(_, c)| c.to_string())
        })
        .map(|c| {
            let mut words = c.split_whitespace().skip(1);
            words.next().unwrap_or("").to_ascii_uppercase()
        })
        .collect();
    let mailboxes = out
        .0
        .join(".imap-sync")
        .read_dir()
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count();
    let selects = sent.iter().filter(|v| *v == "SELECT").count();
    assert_eq!(selects, mailboxes, "{sent:?}");
    // The session's own: the listing, one ENABLE, the logout.
    let others: Vec<&String> = sent.iter().filter(|v| *v != "SELECT").collect();
    assert_eq!(others, ["LIST", "ENABLE", "LOGOUT"], "{sent:?}");
}

#[test]
fn an_untouched_maildir_is_not_read_again_and_a_touched_one_is() {
    an_untouched_maildir_is_not_read_again_and_a_touched_one_is_on(true);
}

#[test]
fn an_untouched_maildir_is_not_read_again_and_a_touched_one_is_without_condstore_or_qresync() {
    an_untouched_maildir_is_not_read_again_and_a_touched_one_is_on(false);
}

fn an_untouched_maildir_is_not_read_again_and_a_touched_one_is_on(modseq: bool) {
    let server = server(modseq);
    let msgs: Vec<Vec<u8>> = (0..3)
        .map(|i| message(&format!("still {i}"), 500))
        .collect();
    for m in &msgs {
        server.deliver("INBOX", m);
    }
    let out = TempDir::new("sync-stamp");
    sync(&server, &out.0, &[]);
    // Old enough to be trusted: the next run records the directories' times.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    sync(&server, &out.0, &[]);
    let stamps = fs::read_dir(out.join(".imap-sync"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".stamp"))
        .count();
    assert!(stamps > 0, "no directory times recorded");
    let said = sync(&server, &out.0, &[]);
    assert!(said.contains("INBOX: unchanged"), "{said}");
    // A flag changed here renames the file, which changes cur/'s time.
    let inbox = out.join("INBOX");
    set_letters(&file_of(&inbox, &msgs[1]), "S");
    let said = sync(&server, &out.0, &[]);
    assert!(
        said.contains("INBOX: 1 flag changes to the server"),
        "{said}"
    );
    assert_eq!(remote(&server, "INBOX")[&lf(&msgs[1])], ["\\Seen"]);
}

/// Waits until `check` holds (up to 20 s).
fn eventually(what: &str, check: impl FnMut() -> bool) {
    eventually_within(what, 20, check);
}

/// Waits until `check` holds (up to `secs` seconds).
fn eventually_within(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let what = what.to_string();
    let start = std::time::Instant::now();
    while !check() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(secs),
            "never: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn sync_watch_follows_changes_and_survives_a_killed_connection() {
    sync_watch_follows_changes_and_survives_a_killed_connection_on(true);
}

#[test]
fn sync_watch_follows_changes_and_survives_a_killed_connection_without_condstore_or_qresync() {
    sync_watch_follows_changes_and_survives_a_killed_connection_on(false);
}

fn sync_watch_follows_changes_and_survives_a_killed_connection_on(modseq: bool) {
    let server = server(modseq);
    server.deliver("INBOX", &message("watch 0", 400));
    server.deliver("Other", &message("watch other 0", 400));
    let out = TempDir::new("sync-watch");
    let logs = TempDir::new("sync-watch-log");
    let log = logs.join("stderr");
    let cmd = server.command();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_imap"))
        .args([
            "-vv",
            "sync",
            "--watch",
            "--interval",
            "60",
            "--stream",
            &cmd,
            "--out",
        ])
        .arg(&out.0)
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let log_text = || {
        let text = fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    let inbox = out.join("INBOX");
    eventually("the first mirror", || local(&inbox).len() == 1);
    // A message arriving on the server comes down while IDLE waits.
    let second = message("watch 1", 500);
    server.deliver("INBOX", &second);
    on_server(&server, |m| {
        m.noop().unwrap();
    });
    eventually(&format!("the new message: {}", log_text()), || {
        local(&inbox).contains_key(&lf(&second))
    });
    // A message written here goes up.
    let mine = message("watch here", 450);
    write_local(&inbox, 7, &mine);
    eventually("the local message on the server", || {
        remote(&server, "INBOX").contains_key(&lf(&mine))
    });
    // Another mailbox: NOTIFY says so at once (the interval is a minute).
    let elsewhere = message("watch other 1", 480);
    server.deliver("Other", &elsewhere);
    on_server(&server, |m| {
        m.select("Other", false).unwrap();
    });
    eventually(&format!("the message in Other: {}", log_text()), || {
        local(&out.join("Other")).contains_key(&lf(&elsewhere))
    });
    // The server process of the watching connection is killed: it connects
    // again and carries on.
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-P", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "no server process to kill");
    let third = message("watch 2", 600);
    server.deliver("INBOX", &third);
    // As a delivery agent would, the server's index learns of it.
    on_server(&server, |m| {
        m.noop().unwrap();
    });
    // A Dovecot process killed in the middle of a mailbox sync can leave
    // its lock behind; the next session's SELECT then waits until Dovecot
    // takes the lock for stale, which is 2 minutes (seen here: 122 s).
    eventually_within(
        &format!("the message after the reconnection: {}", log_text()),
        150,
        || local(&inbox).contains_key(&lf(&third)),
    );
    child.kill().unwrap();
    let _ = child.wait();
    let err = fs::read_to_string(&log).unwrap();
    // Killed while idling or in the middle of a sync: either way it says
    // so and connects again after a pause.
    assert!(err.contains("connecting again in 1 s"), "{}", log_text());
    assert_eq!(local(&inbox).len(), 4);
}

#[test]
fn sync_follows_mailboxes_renamed_on_either_side() {
    sync_follows_mailboxes_renamed_on_either_side_on(true);
}

#[test]
fn sync_follows_mailboxes_renamed_on_either_side_without_condstore_or_qresync() {
    sync_follows_mailboxes_renamed_on_either_side_on(false);
}

fn sync_follows_mailboxes_renamed_on_either_side_on(modseq: bool) {
    let server = server(modseq);
    let there = message("renamed there", 500);
    let here = message("renamed here", 520);
    server.deliver("OldThere", &there);
    server.deliver("OldHere", &here);
    let out = TempDir::new("sync-renamed");
    sync(&server, &out.0, &[]);
    // Flag one here so that it goes back up after the rename.
    set_letters(&file_of(&out.join("OldHere"), &here), "F");
    on_server(&server, |m| {
        assert!(m.rename("OldThere", "NewThere").unwrap().is_ok());
    });
    fs::rename(out.join("OldHere"), out.join("NewHere")).unwrap();
    let said = sync(&server, &out.0, &[]);
    assert!(said.contains("NewThere: renamed from OldThere"), "{said}");
    assert!(
        said.contains("NewHere: 1 flag changes to the server, renamed from OldHere"),
        "{said}"
    );
    // Nothing downloaded or appended again: the same files, one copy each.
    assert!(
        !said.contains("new from the server") && !said.contains("new to the server"),
        "{said}"
    );
    assert!(!out.join("OldThere").exists());
    assert_eq!(local(&out.join("NewThere")).len(), 1);
    assert_eq!(remote(&server, "NewHere")[&lf(&here)], ["\\Flagged"]);
    let names = server_mailboxes(&server);
    assert!(!names.iter().any(|n| n.starts_with("Old")), "{names:?}");
    let said = sync(&server, &out.0, &[]);
    assert!(said.lines().all(|l| l.ends_with(": unchanged")), "{said}");
}

#[test]
fn a_maildir_left_half_made_is_completed() {
    // A run killed while making a Maildir may leave `cur/` alone.
    let server = server(true);
    server.deliver("INBOX", &message("half made", 400));
    let out = TempDir::new("sync-half-made");
    fs::create_dir_all(out.join("INBOX/cur")).unwrap();
    let said = sync(&server, &out.0, &[]);
    assert!(said.contains("INBOX: 1 new from the server"), "{said}");
    assert_eq!(local(&out.join("INBOX")).len(), 1);
}
