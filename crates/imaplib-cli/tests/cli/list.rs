//! `imap list` against a preauthenticated Dovecot on stdin/stdout.

use crate::support::{imap, message, PreauthDovecot};

#[test]
fn list_shows_attributes_special_use_and_counts() {
    let server = PreauthDovecot::new();
    server.deliver("INBOX", &message("one", 200));
    server.deliver("INBOX", &message("two", 200));
    server.deliver("Archive", &message("old", 200));
    let cmd = server.command();
    // A non-ASCII name travels in modified UTF-7 and is shown decoded.
    imap(["shell", "--stream", &cmd])
        .stdin("create Entwürfe\n")
        .run()
        .expect(0);

    let run = imap(["list", "--stream", &cmd]).run();
    run.expect(0);
    let out = run.out();
    let line = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{out}"))
            .to_string()
    };
    assert!(line("INBOX").contains("\\HasNoChildren"), "{out}");
    assert!(line("Sent").ends_with("\\Sent"), "{out}");
    assert!(line("Trash").ends_with("\\Trash"), "{out}");
    line("Archive");
    line("Entwürfe");
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    let run = imap(["list", "--status", "--stream", &cmd]).run();
    run.expect(0);
    let out = run.out();
    assert!(out.starts_with("MAILBOX "), "{out}");
    let inbox: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("INBOX "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&inbox[..3], ["INBOX", "2", "2"], "{out}");

    let run = imap(["list", "--json", "--status", "*", "--stream", &cmd]).run();
    run.expect(0);
    let v = run.json_lines();
    let get = |name: &str| {
        v.iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    assert_eq!(get("Archive")["messages"], 1);
    assert_eq!(get("Archive")["unseen"], 1);
    assert_eq!(get("Sent")["special_use"], "\\Sent");
    assert_eq!(get("INBOX")["special_use"], serde_json::Value::Null);
    assert_eq!(get("Entwürfe")["raw_name"], "Entw&APw-rfe");
    assert_eq!(get("INBOX")["delimiter"], ".");

    // A pattern narrows the list.
    let run = imap(["list", "--json", "Arch%", "--stream", &cmd]).run();
    run.expect(0);
    let names: Vec<String> = run
        .json_lines()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Archive"]);
}
