//! `imap decode` on every recorded transcript and on broken input.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::imap;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus")
}

/// `imap decode` of one corpus file (relative to `mailkit/`).
fn decode_file(name: &str) -> Vec<Value> {
    let path = corpus_root().join("mailkit").join(name);
    let run = imap(["decode".as_ref(), path.as_os_str()]).run();
    run.expect(0);
    run.json_lines()
}

fn corpus_files() -> Vec<PathBuf> {
    let root = corpus_root();
    assert!(
        root.is_dir(),
        "the recorded corpus must be at {} (testdata/corpus in the repository)",
        root.display()
    );
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read the corpus") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "txt") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_corpus_file_decodes_to_json_lines() {
    let files = corpus_files();
    assert!(
        files.len() > 100,
        "corpus incomplete: {} files",
        files.len()
    );
    let mut unparsed = 0;
    for path in &files {
        let run = imap(["decode".as_ref(), path.as_os_str()]).run();
        assert_eq!(
            run.code,
            0,
            "{}: exit {}: {}",
            path.display(),
            run.code,
            run.stderr
        );
        let lines = run.json_lines();
        assert!(!lines.is_empty(), "{}: no response", path.display());
        for v in &lines {
            let kind = v["kind"].as_str().unwrap_or_default();
            assert!(
                ["greeting", "untagged", "tagged", "continuation", "unparsed"].contains(&kind),
                "{}: kind {kind:?}",
                path.display()
            );
            assert!(!v["raw"].is_null(), "{}: no raw bytes", path.display());
            let typed = v["typed"]["type"].as_str().unwrap_or_default();
            assert!(!typed.is_empty(), "{}: no typed form: {v}", path.display());
            if typed == "undecodable" || typed == "unparsed" {
                assert!(v["error"].is_string(), "{}: {v}", path.display());
                assert!(v["typed"]["error"].is_string(), "{}: {v}", path.display());
            }
            if kind == "unparsed" {
                assert!(v["error"].is_string(), "{}: {v}", path.display());
                unparsed += 1;
            } else {
                assert!(v["data"].is_array(), "{}: {v}", path.display());
            }
            if kind == "tagged" {
                assert!(v["tag"].is_string() && v["status"].is_string(), "{v}");
            }
        }
    }
    eprintln!(
        "{} files decoded, {unparsed} unparsed responses",
        files.len()
    );
}

#[test]
fn decode_reads_stdin_and_reports_a_stream_that_does_not_frame() {
    let run = imap(["decode"])
        .stdin(
            "* OK [CAPABILITY IMAP4rev1] hi\r\n* 1 FETCH (BODY[] {5}\r\nhello)\r\nA1 OK done\r\n",
        )
        .run();
    run.expect(0);
    let v = run.json_lines();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["kind"], "greeting");
    assert_eq!(v[1]["data"][0][1], "hello");
    assert_eq!(v[2]["tag"], "A1");

    // Cut in the middle of a literal: what framed is printed, then an error.
    let run = imap(["decode", "--greeting", "no", "-"])
        .stdin("* 2 EXISTS\r\n* 1 FETCH (BODY[] {50}\r\nshort")
        .run();
    run.expect(6);
    run.one_error_line("ends in the middle of a response");
    assert_eq!(run.json_lines().len(), 1);

    // A literal size that is not a number cannot be framed.
    let run = imap(["decode"]).stdin("* 1 FETCH (BODY[] {1x}\r\n").run();
    run.expect(6);
    run.one_error_line("cannot frame the input at byte 0");

    // A line that is no response is kept, with an error, and decoding goes on.
    let run = imap(["decode"])
        .stdin("* OK hi\r\nthis is not IMAP\r\n* 3 EXISTS\r\n")
        .run();
    run.expect(0);
    let v = run.json_lines();
    assert_eq!(v[1]["kind"], "unparsed");
    assert!(v[1]["error"].is_string());
    assert_eq!(v[2]["number"], "3");

    let run = imap(["decode", "/no/such/transcript"]).run();
    run.expect(1);
    run.one_error_line("cannot open /no/such/transcript");
}

#[test]
fn typed_fetch_with_envelope_and_bodystructure() {
    let v = decode_file("dovecot/fetch4.txt");
    let t = &v[1]["typed"];
    assert_eq!(t["type"], "fetch");
    assert_eq!(t["seq"], 2);
    let items = t["items"].as_array().unwrap();
    let item = |name: &str| {
        items
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {t}"))
    };
    assert_eq!(item("UID")["value"], 2);
    assert_eq!(
        item("FLAGS")["value"],
        json!(["\\Answered", "\\Seen", "\\Draft", "\\Recent"])
    );
    assert_eq!(item("INTERNALDATE")["value"], "2016-10-02T17:29:25-04:00");
    assert_eq!(item("RFC822.SIZE")["value"], 282);
    assert_eq!(item("MODSEQ")["value"], 2);
    let env = &item("ENVELOPE")["value"];
    assert_eq!(env["date"], "Sun, 02 Oct 2016 17:29:25 -0400");
    assert_eq!(env["subject"], "B");
    assert_eq!(
        env["from"],
        json!([{"name": "Unit Tests", "adl": null, "mailbox": "unit-tests", "host": "mimekit.net"}])
    );
    assert_eq!(env["cc"], json!([]));
    assert_eq!(env["in_reply_to"], Value::Null);
    assert_eq!(env["message_id"], "<b@mimekit.net>");
    let body = &item("BODYSTRUCTURE")["value"];
    assert_eq!(body["mime_type"], "multipart/mixed");
    assert_eq!(body["media_subtype"], "MIXED");
    let parts = body["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["mime_type"], "text/plain");
    assert_eq!(parts[0]["size"], 1152);
    assert_eq!(parts[0]["lines"], 23);
    assert_eq!(
        parts[1]["params"],
        json!([["CHARSET", "US-ASCII"], ["NAME", "cc.diff"]])
    );
    assert_eq!(parts[1]["id"], "<960723163407.20117h@cac.washington.edu>");
    assert_eq!(parts[1]["description"], "Compiler diff");
    assert_eq!(parts[1]["encoding"], "BASE64");
    assert_eq!(parts[1]["disposition"], Value::Null);
    // The section with its literal.
    let section = items.last().unwrap();
    assert_eq!(section["name"], "BODY");
    assert_eq!(
        section["section"],
        json!({"spec": "HEADER.FIELDS (REFERENCES)", "part": [], "text": "HEADER.FIELDS",
               "fields": ["REFERENCES"]})
    );
    assert_eq!(section["value"], "References: <a@mimekit.net>\r\n\r\n");
    // The imaplib fields are still there.
    assert_eq!(v[1]["name"], "FETCH");
    assert!(v[1]["data"].is_array());
}

#[test]
fn typed_list_status_esearch_thread_and_codes() {
    let v = decode_file("dovecot/list-special-use.txt");
    assert_eq!(
        v[2]["typed"],
        json!({"type": "list", "attributes": ["\\Sent", "\\Subscribed"], "delimiter": ".",
               "mailbox": {"raw": "Sent Messages", "name": "Sent Messages"},
               "special_use": "\\Sent", "extended": []})
    );

    let v = decode_file("gmail/status-starred.txt");
    let t = &v[0]["typed"];
    assert_eq!(t["type"], "status");
    assert_eq!(t["mailbox"]["name"], "[Gmail]/Starred");
    assert_eq!(
        t["items"],
        json!({"HIGHESTMODSEQ": 41234, "MESSAGES": 1, "RECENT": 0, "UIDNEXT": 7,
               "UIDVALIDITY": 4, "UNSEEN": 0, "SIZE": 1024,
               "MAILBOXID": {"raw": "(93ad849a-2127-4c8e-ac41-594cd0a346a4)"}})
    );

    let v = decode_file("dovecot/search-changed-since.txt");
    let t = &v[0]["typed"];
    assert_eq!(t["type"], "esearch");
    assert_eq!(t["tag"], "A########");
    assert_eq!(t["uid"], true);
    assert_eq!(t["min"], 1);
    assert_eq!(t["max"], 7);
    assert_eq!(t["count"], 7);
    assert_eq!(t["all"], "1:7");
    assert_eq!(t["modseq"], 4);
    assert_eq!(
        t["other"],
        json!([{"name": "RELEVANCY", "raw": "(11 22 33 44 55 66 77)"}])
    );

    // * THREAD (1 (2 (3 5)(6))(4))(7)
    let v = decode_file("dovecot/thread-references.txt");
    let leaf = |ids: Value| json!({"messages": ids, "replies": []});
    assert_eq!(
        v[0]["typed"],
        json!({"type": "thread", "threads": [
            {"messages": [1], "replies": [
                {"messages": [2], "replies": [leaf(json!([3, 5])), leaf(json!([6]))]},
                leaf(json!([4])),
            ]},
            leaf(json!([7])),
        ]})
    );

    // Response codes: tagged and untagged, sequence sets as strings.
    let v = decode_file("gmail/uid-copy.txt");
    assert_eq!(
        v[0]["typed"],
        json!({"type": "tagged", "tag": "A########", "status": "OK",
               "code": {"name": "COPYUID", "uid_validity": 85,
                        "source": "1:3,5,7:9,11:14,26:29,31,34,41:43,50", "dest": "1:21"},
               "text": "(Success)"})
    );
    let v = decode_file("gmail/select-inbox.txt");
    assert_eq!(v[1]["typed"]["type"], "condition");
    assert_eq!(v[1]["typed"]["code"]["name"], "PERMANENTFLAGS");
    assert_eq!(v[1]["typed"]["code"]["flags"][11], "\\*");
    assert_eq!(
        v[2]["typed"]["code"],
        json!({"name": "UIDVALIDITY", "value": 81})
    );
    assert_eq!(v[3]["typed"], json!({"type": "exists", "count": 0}));
    assert_eq!(v[7]["typed"]["code"], json!({"name": "READ-WRITE"}));
}

#[test]
fn undecodable_responses_and_items_keep_their_bytes() {
    let run = imap(["decode", "--greeting", "no"])
        .stdin(
            "* STATUS INBOX (MESSAGES x)\r\n\
             * 1 FETCH (UID 7 INTERNALDATE \"not a date\" FLAGS (\\Seen))\r\n\
             * 2 EXISTS\r\n",
        )
        .run();
    run.expect(0);
    let v = run.json_lines();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0]["typed"]["type"], "undecodable");
    assert_eq!(v[0]["typed"]["name"], "STATUS");
    assert_eq!(v[0]["typed"]["raw"], "* STATUS INBOX (MESSAGES x)\r\n");
    assert!(v[0]["typed"]["error"].is_string());
    assert_eq!(v[0]["error"], v[0]["typed"]["error"]);
    // One bad item: its bytes and why, and the items around it.
    let items = &v[1]["typed"]["items"];
    assert_eq!(items[0], json!({"name": "UID", "value": 7}));
    assert_eq!(items[1]["name"], "INTERNALDATE");
    assert_eq!(items[1]["raw"], "INTERNALDATE \"not a date\"");
    assert!(items[1]["error"].is_string(), "{items}");
    assert_eq!(items[2], json!({"name": "FLAGS", "value": ["\\Seen"]}));
    assert!(v[1].get("error").is_none());
    assert_eq!(v[2]["typed"], json!({"type": "exists", "count": 2}));
}
