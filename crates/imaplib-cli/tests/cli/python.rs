//! The same calls through Python's imaplib and through `imap shell --json`,
//! against two identical fresh Dovecot mailboxes: the results must be the
//! same, item by item.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{imap, PreauthDovecot};

/// Replaces Dovecot's timings (`(0.001 + 0.000 secs)`) and UIDVALIDITY
/// values (in STATUS data and APPENDUID / COPYUID codes), which differ
/// between two servers.
fn normalise(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(normalise_text(s)),
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}

fn normalise_text(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    // "(0.001 + 0.000 + 0.002 secs)" -> "(T secs)"
    while let Some(end) = rest.find(" secs)") {
        let head = &rest[..end];
        match head.rfind('(') {
            Some(open)
                if head[open + 1..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ' ' || c == '+') =>
            {
                out.push_str(&head[..open]);
                out.push_str("(T secs)");
            }
            _ => out.push_str(&rest[..end + 6]),
        }
        rest = &rest[end + 6..];
    }
    out.push_str(rest);
    for key in ["UIDVALIDITY ", "APPENDUID ", "COPYUID "] {
        let mut done = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(key) {
            done.push_str(&rest[..i + key.len()]);
            rest = &rest[i + key.len()..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 {
                done.push('N');
            }
            rest = &rest[digits..];
        }
        done.push_str(rest);
        out = done;
    }
    out
}

#[test]
fn normalising_touches_only_timings_and_uidvalidity() {
    assert_eq!(
        normalise_text("[APPENDUID 1795 3] Append completed (0.004 + 0.001 + 0.003 secs)."),
        "[APPENDUID N 3] Append completed (T secs)."
    );
    assert_eq!(
        normalise_text("INBOX (MESSAGES 3 UIDVALIDITY 17 UNSEEN 2)"),
        "INBOX (MESSAGES 3 UIDVALIDITY N UNSEEN 2)"
    );
    assert_eq!(normalise_text("(a secs) b"), "(a secs) b");
}

#[test]
fn imap_shell_json_matches_python_imaplib() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let calls_file = data.join("compare.calls");
    let calls: Vec<String> = std::fs::read_to_string(&calls_file)
        .expect("calls")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect();

    let for_python = PreauthDovecot::new();
    let for_us = PreauthDovecot::new();
    let python = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/imaplib_calls.py"))
        .arg(&calls_file)
        .arg(for_python.command())
        .current_dir(&data)
        .output()
        .expect("python3 must be installed to compare with imaplib");
    assert!(
        python.status.success(),
        "the Python side failed: {}",
        String::from_utf8_lossy(&python.stderr)
    );
    let theirs: Vec<Value> = String::from_utf8(python.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("Python printed JSON"))
        .collect();

    let calls_path = calls_file.display().to_string();
    let run = imap([
        "shell",
        "--json",
        &calls_path,
        "--stream",
        &for_us.command(),
    ])
    .dir(&data)
    .run();
    // A few calls raise `error` on purpose (PARTIAL, calls in the wrong state).
    run.expect(5);
    let ours = run.json_lines();

    assert_eq!(theirs.len(), calls.len(), "Python: one object per call");
    assert_eq!(ours.len(), calls.len(), "imap: one object per call");
    let mut differences = Vec::new();
    for ((call, a), b) in calls.iter().zip(&theirs).zip(&ours) {
        let (a, b) = (normalise(a), normalise(b));
        let same = match (a.get("error"), b.get("error")) {
            // The messages are each library's own words: compare the kinds.
            (Some(x), Some(y)) => x["kind"] == y["kind"],
            _ => a == b,
        };
        if !same {
            differences.push(format!("{call}\n  imaplib: {a}\n  imap:    {b}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} calls differ:\n{}",
        differences.len(),
        calls.len(),
        differences.join("\n")
    );
    // The comparison covered literals, non-UTF-8 bytes, errors and NO.
    let all = serde_json::to_string(&ours).unwrap();
    for needle in [
        "\"base64\"",
        "\"error\"",
        "\"typ\":\"NO\"",
        "RFC822 {",
        "\"typ\":\"BYE\"",
    ] {
        assert!(all.contains(needle), "no {needle} in the comparison");
    }
}
