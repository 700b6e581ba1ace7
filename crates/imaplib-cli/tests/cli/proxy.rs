//! `--proxy`, `ALL_PROXY` and `NO_PROXY` through real proxies to Dovecot,
//! and each proxy failure with its own exit status.

use crate::proxies::{free_port, microsocks, tinyproxy};
use crate::support::{daemon, imap, tcp_args};

fn list_args(tls: &str) -> Vec<String> {
    let mut args = vec!["list".to_string(), "INBOX".into()];
    args.extend(tcp_args(daemon(), tls));
    args
}

#[test]
fn lists_through_socks5_and_http_proxies() {
    let socks = microsocks(Some(("pu", "proxy-secret")));
    let http = tinyproxy(None);
    for tls in ["", "--starttls", "--tls"] {
        let mut args = list_args(tls);
        args.extend([
            "--proxy".into(),
            format!("socks5://pu@127.0.0.1:{}", socks.port),
            "--proxy-password-env".into(),
            "PROXY_PW".into(),
            "-v".into(),
        ]);
        let run = imap(&args)
            .env("IMAP_PASSWORD", "alicepw")
            .env("PROXY_PW", "proxy-secret")
            .run();
        run.expect(0);
        assert!(run.out().starts_with("INBOX"), "{tls}: {}", run.out());
        let shown = format!("through the proxy socks5h://pu@127.0.0.1:{}", socks.port);
        assert!(run.stderr.contains(&shown), "{tls}: {}", run.stderr);
        assert!(!run.stderr.contains("proxy-secret"), "{}", run.stderr);

        // The same through ALL_PROXY, to an HTTP proxy.
        let run = imap(list_args(tls))
            .env("IMAP_PASSWORD", "alicepw")
            .env("ALL_PROXY", &format!("http://127.0.0.1:{}", http.port))
            .run();
        run.expect(0);
        assert!(run.out().starts_with("INBOX"), "{tls}: {}", run.out());
    }
    // NO_PROXY names the server: the (dead) proxy is not used.
    let run = imap(list_args("--tls"))
        .env("IMAP_PASSWORD", "alicepw")
        .env("all_proxy", &format!("socks5://127.0.0.1:{}", free_port()))
        .env("no_proxy", "localhost,127.0.0.1")
        .run();
    run.expect(0);
    // Without NO_PROXY the dead proxy is tried, and said to be dead.
    let run = imap(list_args("--tls"))
        .env("IMAP_PASSWORD", "alicepw")
        .env("all_proxy", &format!("socks5://127.0.0.1:{}", free_port()))
        .run();
    run.expect(8);
    run.one_error_line("cannot reach the proxy");
}

#[test]
fn each_proxy_failure_has_its_exit_status() {
    let socks = microsocks(Some(("pu", "proxy-secret")));
    let open = microsocks(None);
    let server = daemon();
    let cases = [
        // Nothing listens where the proxy should be.
        (
            format!("socks5://127.0.0.1:{}", free_port()),
            8,
            "cannot reach the proxy",
        ),
        // Wrong password, and none at all.
        (
            format!("socks5://pu@127.0.0.1:{}", socks.port),
            9,
            "refused the user name or password",
        ),
        (
            format!("socks5://127.0.0.1:{}", socks.port),
            9,
            "requires a user name and password",
        ),
        // The Dovecot port is not a proxy.
        (
            format!("socks5://127.0.0.1:{}", server.imap_port),
            11,
            "not SOCKS5 (it looks like an IMAP server)",
        ),
    ];
    for (url, code, text) in cases {
        let mut args = list_args("--tls");
        args.extend([
            "--proxy".into(),
            url.clone(),
            "--proxy-password-env".into(),
            "PROXY_PW".into(),
        ]);
        if !url.contains('@') {
            args.truncate(args.len() - 2);
        }
        let run = imap(&args)
            .env("IMAP_PASSWORD", "alicepw")
            .env("PROXY_PW", "wrong")
            .run();
        run.expect(code);
        run.one_error_line(text);
    }
    // The proxy cannot reach the server.
    let run = imap([
        "list",
        "--host",
        "127.0.0.1",
        "--port",
        &free_port().to_string(),
        "--user",
        "alice",
        "--password-env",
        "IMAP_PASSWORD",
        "--proxy",
        &format!("socks5://127.0.0.1:{}", open.port),
    ])
    .env("IMAP_PASSWORD", "alicepw")
    .run();
    run.expect(10);
    run.one_error_line("connection refused");
    // A password in --proxy is refused before anything is sent.
    let mut args = list_args("--tls");
    args.extend(["--proxy".into(), "socks5://u:pw@127.0.0.1:1".into()]);
    imap(&args).env("IMAP_PASSWORD", "alicepw").run().expect(2);
}
