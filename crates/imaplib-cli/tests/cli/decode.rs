//! `imap decode` on every recorded transcript and on broken input.

use std::path::{Path, PathBuf};

use crate::support::imap;

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        root.is_dir(),
        "the recorded corpus must be at {} (the shared folder beside the checkout)",
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
