//! `imap shell`: every method Dovecot supports, with --json, over
//! stdin/stdout and TCP; readable output; bad lines.

use std::path::Path;

use serde_json::Value;

use crate::support::{daemon, imap, tcp_args, PreauthDovecot, TempDir};

/// What a call must give.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// `{"typ": TYP, ...}`.
    Typ(&'static str),
    /// `{"error": {"kind": KIND}}`.
    Error(&'static str),
    /// `{"result": ...}`.
    Result,
    /// `typ` OK or NO, or an `error` (servers differ).
    Answered,
}

fn check(calls: &[(String, Expect)], got: &[Value]) {
    assert_eq!(got.len(), calls.len(), "one JSON object per call: {got:#?}");
    for ((line, want), v) in calls.iter().zip(got) {
        let ok = match want {
            Expect::Typ(t) => v["typ"] == *t && v["data"].is_array(),
            Expect::Error(k) => v["error"]["kind"] == *k && v["error"]["message"].is_string(),
            Expect::Result => v.get("result").is_some(),
            Expect::Answered => {
                v["typ"] == "OK" || v["typ"] == "NO" || v["error"]["kind"] == "error"
            }
        };
        assert!(ok, "{line}: expected {want:?}, got {v}");
    }
}

fn data_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .display()
        .to_string()
}

#[test]
fn shell_json_every_method_over_stdin_stdout() {
    use Expect::*;
    let server = PreauthDovecot::new();
    let tmp = TempDir::new("shell");
    std::fs::write(tmp.join("raw.txt"), b"RAW1 NOOP\r\n").unwrap();
    let d = data_dir();
    let raw = tmp.join("raw.txt").display().to_string();
    let calls: Vec<(String, Expect)> = vec![
        ("capability".into(), Typ("OK")),
        ("noop".into(), Typ("OK")),
        ("namespace".into(), Typ("OK")),
        ("list".into(), Typ("OK")),
        ("lsub".into(), Typ("OK")),
        ("enable CONDSTORE".into(), Typ("OK")),
        ("create Shell".into(), Typ("OK")),
        ("create Shell.Sub".into(), Typ("OK")),
        ("rename Shell.Sub Shell.Other".into(), Typ("OK")),
        ("subscribe Shell".into(), Typ("OK")),
        ("unsubscribe Shell".into(), Typ("OK")),
        ("status INBOX '(MESSAGES UIDNEXT)'".into(), Typ("OK")),
        (
            format!("append Shell '(\\Seen)' '\"01-Jan-2024 10:00:00 +0000\"' @{d}/plain.eml"),
            Typ("OK"),
        ),
        (
            format!("append Shell None 1704067200 @{d}/multipart.eml"),
            Typ("OK"),
        ),
        (format!("append Shell None None @{d}/latin1.eml"), Typ("OK")),
        ("getquotaroot Shell".into(), Typ("OK")),
        ("getquota '\"User quota\"'".into(), Typ("OK")),
        ("setquota '\"User quota\"' '(STORAGE 100)'".into(), Answered),
        ("getacl Shell".into(), Typ("OK")),
        ("setacl Shell bob lr".into(), Typ("OK")),
        ("deleteacl Shell bob".into(), Typ("OK")),
        ("myrights Shell".into(), Typ("OK")),
        (
            "getannotation Shell /comment value.priv".into(),
            Error("error"),
        ),
        (
            "setannotation Shell '(/comment (value.priv \"x\"))'".into(),
            Error("error"),
        ),
        ("examine Shell".into(), Typ("OK")),
        ("is_readonly".into(), Result),
        ("select Shell".into(), Typ("OK")),
        ("state".into(), Result),
        ("recent".into(), Typ("OK")),
        ("response EXISTS".into(), Typ("EXISTS")),
        ("search None ALL".into(), Typ("OK")),
        ("search UTF-8 SUBJECT report".into(), Typ("OK")),
        ("sort '(SUBJECT)' UTF-8 ALL".into(), Typ("OK")),
        ("thread ORDEREDSUBJECT UTF-8 ALL".into(), Typ("OK")),
        ("fetch 1 '(BODY.PEEK[])'".into(), Typ("OK")),
        ("fetch 3 (RFC822)".into(), Typ("OK")),
        ("uid SEARCH ALL".into(), Typ("OK")),
        ("uid FETCH 1:* (FLAGS)".into(), Typ("OK")),
        ("store 2 +FLAGS '(\\Flagged)'".into(), Typ("OK")),
        ("copy 1 Shell.Other".into(), Typ("OK")),
        ("move 2 Shell.Other".into(), Typ("OK")),
        ("check".into(), Typ("OK")),
        ("xatom ID NIL".into(), Typ("OK")),
        ("idle 0.3".into(), Typ("OK")),
        ("partial 1 RFC822 0 10".into(), Error("error")),
        ("proxyauth bob".into(), Error("error")),
        ("store 1 +FLAGS '(\\Deleted)'".into(), Typ("OK")),
        ("expunge".into(), Typ("OK")),
        ("close".into(), Typ("OK")),
        ("unselect".into(), Error("error")),
        ("select Shell".into(), Typ("OK")),
        ("unselect".into(), Typ("OK")),
        ("delete Shell.Other".into(), Typ("OK")),
        ("open".into(), Result),
        ("state".into(), Result),
        ("untagged_responses".into(), Result),
        ("welcome".into(), Result),
        ("PROTOCOL_VERSION".into(), Result),
        (format!("send @{raw}"), Result),
        ("read 5".into(), Result),
        ("readline".into(), Result),
        ("logout".into(), Typ("BYE")),
    ];
    let script: String = calls.iter().map(|(l, _)| format!("{l}\n")).collect();
    let run = imap(["shell", "--json", "--stream", &server.command()])
        .stdin(&script)
        .run();
    // Three calls raise `error` on purpose.
    run.expect(5);
    let got = run.json_lines();
    check(&calls, &got);
    let at = |line: &str| {
        let i = calls.iter().position(|(l, _)| l == line).unwrap();
        &got[i]
    };
    assert_eq!(at("is_readonly")["result"], true);
    assert_eq!(at("select Shell")["data"], serde_json::json!(["3"]));
    assert_eq!(at("search None ALL")["data"], serde_json::json!(["1 2 3"]));
    assert_eq!(
        at("search UTF-8 SUBJECT report")["data"],
        serde_json::json!(["2"])
    );
    let body = &at("fetch 1 '(BODY.PEEK[])'")["data"];
    assert!(
        body[0][0].as_str().unwrap().starts_with("1 (BODY[] {"),
        "{body}"
    );
    assert!(body[0][1]
        .as_str()
        .unwrap()
        .contains("Subject: Plain text\r\n"));
    assert!(body[0][1].as_str().unwrap().contains("東京"));
    assert_eq!(body[1], ")");
    let latin = &at("fetch 3 (RFC822)")["data"][0][1];
    assert!(
        latin["base64"].is_string(),
        "bytes that are not UTF-8: {latin}"
    );
    let quota = &at("getquotaroot Shell")["data"];
    assert!(quota[0].is_array() && quota[1].is_array(), "{quota}");
    let idle = at("idle 0.3");
    assert!(idle["responses"].is_array(), "{idle}");
    assert_eq!(at("open")["result"], Value::Null);
    assert!(at("welcome")["result"]
        .as_str()
        .unwrap()
        .starts_with("* PREAUTH"));
    assert_eq!(at("read 5")["result"], "RAW1 ");
    let line = at("readline")["result"].as_str().unwrap().to_string();
    assert!(
        line.starts_with("OK NOOP") && line.ends_with("\r\n"),
        "{line:?}"
    );
    assert!(
        run.stderr.contains("line 23: getannotation error:"),
        "{}",
        run.stderr
    );
}

#[test]
fn shell_over_tcp_logs_in_every_way() {
    use Expect::*;
    let server = daemon();
    let calls: Vec<(String, Expect)> = vec![
        ("capability".into(), Typ("OK")),
        ("starttls".into(), Typ("OK")),
        ("login alice alicepw".into(), Typ("OK")),
        ("state".into(), Result),
        ("logout".into(), Typ("BYE")),
        ("open".into(), Result),
        ("login_cram_md5 alice alicepw".into(), Typ("OK")),
        ("logout".into(), Typ("BYE")),
        ("open".into(), Result),
        ("authenticate PLAIN".into(), Typ("OK")),
        ("logout".into(), Typ("BYE")),
        ("open".into(), Result),
        ("authenticate login".into(), Typ("OK")),
        ("logout".into(), Typ("BYE")),
        ("open".into(), Result),
        ("login alice wrong".into(), Error("error")),
        ("authenticate GSSAPI".into(), Error("usage")),
        ("noop".into(), Typ("OK")),
    ];
    let script: String = calls.iter().map(|(l, _)| format!("{l}\n")).collect();
    let mut args = vec!["shell".to_string(), "--json".into(), "--no-login".into()];
    args.extend(tcp_args(server, ""));
    // On a plain connection, --ca-file is for the shell's `starttls`.
    args.extend([
        "--ca-file".to_string(),
        server.ca_file.display().to_string(),
    ]);
    let run = imap(&args)
        .env("IMAP_PASSWORD", "alicepw")
        .stdin(&script)
        .run();
    // `login alice wrong` raises `error`, `authenticate GSSAPI` is a usage
    // error: the worst is reported.
    run.expect(2);
    let got = run.json_lines();
    check(&calls, &got);
    assert_eq!(got[3]["result"], "AUTH");
    assert!(got[0]["data"][0].as_str().unwrap().contains("STARTTLS"));

    // Without the private CA, the shell's STARTTLS fails closed: abort.
    args.truncate(args.len() - 2);
    let run = imap(&args)
        .env("IMAP_PASSWORD", "alicepw")
        .stdin(&script)
        .run();
    run.expect(6);
    let got = run.json_lines();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1]["error"]["kind"], "abort", "{}", run.out());
    assert!(
        got[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown authority"),
        "{}",
        got[1]
    );
}

#[test]
fn shell_over_implicit_tls_and_a_file_of_calls() {
    let server = daemon();
    let tmp = TempDir::new("calls");
    std::fs::write(
        tmp.join("calls.txt"),
        "# a comment\n\nselect INBOX True\nstate\n",
    )
    .unwrap();
    let mut args = vec![
        "shell".to_string(),
        "--json".into(),
        tmp.join("calls.txt").display().to_string(),
    ];
    args.extend(tcp_args(server, "--tls"));
    let run = imap(&args).env("IMAP_PASSWORD", "alicepw").run();
    run.expect(0);
    let v = run.json_lines();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["typ"], "OK");
    assert_eq!(v[1]["result"], "SELECTED");
}

#[test]
fn shell_reports_bad_lines_and_goes_on() {
    let server = PreauthDovecot::new();
    let script: &[u8] = b"noop\nfrobnicate\nfetch 1\nselect 'unterminated\nSELECT INBOX\nselect INBOX maybe\nappend INBOX None None @/no/such/file\nselect \xff\nnoop\n\
        create None\nuid\nmove 1\nsort (DATE) None ALL\nnoop 1\n";
    let run = imap(["shell", "--json", "--stream", &server.command()])
        .stdin(script)
        .run();
    run.expect(2);
    let v = run.json_lines();
    assert_eq!(v.len(), 14, "{}", run.out());
    assert_eq!(v[0]["typ"], "OK");
    // The plain commands' checks come from the library's list: each
    // argument by its type, the count first.
    for (i, text) in [
        (1, "unknown method \"frobnicate\""),
        (
            2,
            "fetch takes 2 argument(s) (message_set message_parts), got 1",
        ),
        (3, "unterminated single quote"),
        (4, "did you mean select?"),
        (5, "readonly must be True or False"),
        (6, "cannot read /no/such/file"),
        (7, "not valid UTF-8"),
        (9, "create: mailbox may not be None"),
        (10, "uid takes at least 1 argument(s)"),
        (11, "move takes 2 argument(s)"),
        (12, "sort: charset may not be None"),
        (13, "noop takes 0 argument(s)"),
    ] {
        assert_eq!(v[i]["error"]["kind"], "usage", "{}", v[i]);
        let msg = v[i]["error"]["message"].as_str().unwrap();
        assert!(msg.contains(text), "line {}: {msg:?} lacks {text:?}", i + 1);
    }
    assert_eq!(v[8]["typ"], "OK");
    assert!(
        run.stderr.contains("imap: line 2: unknown method"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"));

    // -e stops at the first bad line.
    let run = imap(["shell", "--json", "-e", "--stream", &server.command()])
        .stdin(script)
        .run();
    run.expect(2);
    assert_eq!(run.json_lines().len(), 2);
    assert!(
        run.stderr
            .ends_with("imap: stopped at line 2 (frobnicate)\n"),
        "{}",
        run.stderr
    );

    // A lost connection stops the shell (abort).
    let run = imap(["shell", "--json", "--stream", &server.command()])
        .stdin("shutdown\nnoop\nnoop\n")
        .run();
    run.expect(6);
    let v = run.json_lines();
    assert_eq!(v.len(), 2);
    assert_eq!(v[1]["error"]["kind"], "abort");
}

#[test]
fn shell_prints_results_readably() {
    let server = PreauthDovecot::new();
    server.deliver("INBOX", b"Subject: hi\r\n\r\nline one\r\nline two\r\n");
    let run = imap(["shell", "--stream", &server.command()])
        .stdin("select INBOX\nfetch 1 (RFC822)\nresponse NOSUCH\n")
        .run();
    run.expect(0);
    let out = run.out();
    assert!(
        out.starts_with(">>> select INBOX\nOK\n  1\n>>> fetch 1 (RFC822)\nOK\n"),
        "{out}"
    );
    assert!(
        out.contains(
            " RFC822 {35}\n    | Subject: hi\n    | \n    | line one\n    | line two\n  )\n"
        ),
        "{out}"
    );
    assert!(
        out.ends_with(">>> response NOSUCH\nNOSUCH\n  None\n"),
        "{out}"
    );
}
