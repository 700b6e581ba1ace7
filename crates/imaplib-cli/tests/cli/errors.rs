//! Bad input and failures: each is one line on stderr and its own exit
//! status, never a panic. Also: passwords stay out of traces, and the help
//! shows examples and the exit statuses.

use std::net::TcpListener;

use crate::support::{daemon, forward, greeter, imap, tcp_args, TempDir};

#[test]
fn wrong_password_is_an_authentication_failure() {
    let server = daemon();
    let mut args = vec!["list".to_string()];
    args.extend(tcp_args(server, "--starttls"));
    let run = imap(&args).env("IMAP_PASSWORD", "not-the-password").run();
    run.expect(4);
    run.one_error_line("authentication failed for alice");
    assert!(!run.stderr.contains("not-the-password"));

    // The same with AUTHENTICATE PLAIN.
    args.extend(["--auth".to_string(), "PLAIN".into()]);
    let run = imap(&args).env("IMAP_PASSWORD", "not-the-password").run();
    run.expect(4);
    run.one_error_line("authentication failed for alice");
}

#[test]
fn every_auth_mechanism_and_password_source_works() {
    let server = daemon();
    for mech in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        let mut args = vec![
            "list".to_string(),
            "INBOX".into(),
            "--auth".into(),
            mech.into(),
        ];
        args.extend(tcp_args(server, "--tls"));
        let run = imap(&args).env("IMAP_PASSWORD", "alicepw").run();
        run.expect(0);
        assert!(run.out().starts_with("INBOX"), "{mech}: {}", run.out());
    }
    let tmp = TempDir::new("pwfile");
    std::fs::write(tmp.join("pw"), "alicepw\n").unwrap();
    let url = format!("imap://alice;AUTH=CRAM-MD5@127.0.0.1:{}/", server.imap_port);
    let run = imap([
        "list",
        "INBOX",
        "--url",
        &url,
        "--password-file",
        &tmp.join("pw").display().to_string(),
    ])
    .run();
    run.expect(0);
    // The first line a command prints (a token helper, a password store).
    for (cmd, code) in [
        ("printf 'alicepw\\nsecond line\\n'", 0),
        ("echo wrong", 4),
        ("exit 3", 2),
        ("true", 2),
    ] {
        let run = imap(["list", "INBOX", "--url", &url, "--password-command", cmd]).run();
        run.expect(code);
        assert!(!run.stderr.contains("alicepw"), "{}", run.stderr);
        if code == 0 {
            assert!(run.out().starts_with("INBOX"), "{}", run.out());
        }
    }
    let run = imap([
        "list",
        "--url",
        &url,
        "--password-command",
        "echo x",
        "--password-env",
        "IMAP_PASSWORD",
    ])
    .run();
    run.expect(2);
    run.one_error_line("exclude each other");
    // No password source and no terminal to ask on.
    let run = imap(["list", "--url", &url]).run();
    run.expect(2);
    run.one_error_line("no password");
    // A mechanism the server does not offer.
    let mut args = vec!["list".to_string(), "--auth".into(), "XOAUTH2".into()];
    args.extend(tcp_args(server, "--tls"));
    let run = imap(&args).env("IMAP_PASSWORD", "alicepw").run();
    run.expect(4);
    run.one_error_line("does not offer AUTH=XOAUTH2");
}

#[test]
fn passwords_never_appear_in_the_trace() {
    let server = daemon();
    for auth in [None, Some("PLAIN"), Some("LOGIN")] {
        let mut args = vec!["-vv".to_string(), "list".into(), "INBOX".into()];
        args.extend(tcp_args(server, "--starttls"));
        if let Some(a) = auth {
            args.extend(["--auth".to_string(), a.into()]);
        }
        let run = imap(&args).env("IMAP_PASSWORD", "alicepw").run();
        run.expect(0);
        assert!(run.stderr.contains("LIST"), "no trace: {}", run.stderr);
        for secret in ["alicepw", "AGFsaWNlAGFsaWNlcHc=", "YWxpY2Vwdw=="] {
            assert!(
                !run.stderr.contains(secret),
                "{auth:?}: {secret} in the trace:\n{}",
                run.stderr
            );
        }
    }
}

#[test]
fn unreachable_host_is_a_connection_failure() {
    let port = {
        let l = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        l.local_addr().unwrap().port()
    };
    let run = imap([
        "list",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--user",
        "x",
    ])
    .run();
    run.expect(3);
    run.one_error_line(&format!("cannot connect to 127.0.0.1:{port}"));
    // A server that never greets: --timeout ends the wait.
    let port = greeter(b"");
    let started = std::time::Instant::now();
    let run = imap([
        "list",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--user",
        "x",
        "--timeout",
        "0.5",
    ])
    .run();
    run.expect(3);
    run.one_error_line("timed out");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let run = imap([
        "list",
        "--host",
        "no-such-host.invalid",
        "--user",
        "x",
        "--timeout",
        "5",
    ])
    .run();
    run.expect(3);
    run.one_error_line("no-such-host.invalid");
}

#[test]
fn tls_failures_are_connection_failures() {
    let server = daemon();
    // A name the certificate does not carry: 127.0.0.2 forwards to the
    // server, whose certificate is for localhost and 127.0.0.1.
    let port = forward("127.0.0.2", server.imaps_addr(), None);
    let ca = server.ca_file.display().to_string();
    let run = imap([
        "list",
        "--host",
        "127.0.0.2",
        "--port",
        &port.to_string(),
        "--tls",
        "--ca-file",
        &ca,
        "--user",
        "alice",
        "--password-env",
        "IMAP_PASSWORD",
    ])
    .env("IMAP_PASSWORD", "alicepw")
    .run();
    run.expect(3);
    run.one_error_line("not valid for this host name");

    // --tls-server-name makes the same connection check the right name.
    let run = imap([
        "list",
        "INBOX",
        "--host",
        "127.0.0.2",
        "--port",
        &port.to_string(),
        "--tls",
        "--ca-file",
        &ca,
        "--tls-server-name",
        "localhost",
        "--user",
        "alice",
        "--password-env",
        "IMAP_PASSWORD",
    ])
    .env("IMAP_PASSWORD", "alicepw")
    .run();
    run.expect(0);

    // The private CA is not trusted unless given.
    let mut args = vec!["list".to_string()];
    args.extend(tcp_args(server, "--tls"));
    args.truncate(args.len() - 2);
    let run = imap(&args).env("IMAP_PASSWORD", "alicepw").run();
    run.expect(3);
    run.one_error_line("unknown authority");

    // --insecure connects anyway, and says so.
    args.push("--insecure".into());
    let run = imap(&args).env("IMAP_PASSWORD", "alicepw").run();
    run.expect(0);
    assert!(run.stderr.contains("warning: --insecure"), "{}", run.stderr);

    // A server that does not offer STARTTLS: no plaintext login.
    let port = greeter(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no TLS here\r\n");
    let run = imap([
        "list",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--starttls",
        "--user",
        "alice",
        "--password-env",
        "IMAP_PASSWORD",
    ])
    .env("IMAP_PASSWORD", "alicepw")
    .run();
    run.expect(3);
    run.one_error_line("STARTTLS");
}

#[test]
fn a_server_that_hangs_up_is_an_abort() {
    let server = daemon();
    // The connection closes right after the greeting and capabilities.
    let port = forward("127.0.0.1", server.imap_addr(), Some(60));
    let run = imap([
        "list",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--user",
        "alice",
        "--password-env",
        "IMAP_PASSWORD",
    ])
    .env("IMAP_PASSWORD", "alicepw")
    .run();
    assert!(run.code == 3 || run.code == 6, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn usage_errors() {
    for (args, text) in [
        (vec!["list"], "say where the server is"),
        (
            vec!["list", "--host", "h", "--tls", "--starttls"],
            "exclude each other",
        ),
        (
            vec!["list", "--url", "imap://u:pw@h/"],
            "no password in the URL",
        ),
        (vec!["list", "--url", "http://h/"], "imap://"),
        (vec!["list", "--stream", "x", "--host", "h"], "--stream"),
        (vec!["fetch", "--stream", "true"], "name the mailbox"),
        (
            vec!["fetch", "INBOX", "--stream", "true", "--format", "mbox"],
            "--format needs --out",
        ),
        (
            vec!["list", "--host", "h", "--auth", "KERBEROS"],
            "unsupported mechanism",
        ),
        (vec!["list", "--host", "h", "--timeout", "0"], "--timeout"),
        (
            vec![
                "list",
                "--host",
                "h",
                "--tls",
                "--ca-file",
                "/no/such/ca.pem",
            ],
            "no such file",
        ),
    ] {
        let run = imap(&args).run();
        run.expect(2);
        run.one_error_line(text);
    }
    // Errors found while parsing the command line: one line too.
    for (args, text) in [
        (vec!["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (
            vec!["list", "--no-login"],
            "unexpected argument '--no-login'",
        ),
        (vec!["fetch", "X", "--batch", "0"], "--batch"),
        (
            vec!["decode", "--greeting", "maybe"],
            "possible values: auto, yes, no",
        ),
        (vec![], "say what to do"),
    ] {
        let run = imap(&args).run();
        run.expect(2);
        run.one_error_line(text);
    }
}

#[test]
fn help_shows_examples_and_exit_statuses() {
    let run = imap(["--help"]).run();
    run.expect(0);
    let out = run.out();
    for text in [
        "Examples:",
        "Exit status:",
        "--password-env",
        "--stream",
        "7  `imap fetch`",
    ] {
        assert!(out.contains(text), "--help lacks {text:?}:\n{out}");
    }
    for sub in ["list", "fetch", "shell", "decode"] {
        let run = imap([sub, "--help"]).run();
        run.expect(0);
        let out = run.out();
        assert!(out.contains("Examples:"), "{sub} --help:\n{out}");
        assert!(out.contains("Exit status:"), "{sub} --help:\n{out}");
    }
}
