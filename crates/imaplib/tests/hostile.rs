//! The hostile-server suite: one test per way a server (or someone between
//! client and server) can attack or break the client, and per way a careless
//! caller can misuse it. Each test asserts the safe behaviour. SECURITY.md
//! maps every case to its test and lists the limits.
//!

mod support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use imaplib::imaplib_proto::types::{decode_condition_text, decode_data, ResponseCode, Untagged};
use imaplib::imaplib_proto::{utf7, Event, ProtoErrorKind, Session, SessionConfig};
use imaplib::transport::Connection;
use imaplib::{Data, ErrorKind, Imap4, Limits, Options, State, Status, TlsConfig};
use rustls::ServerConfig;
use support::both::Client;
use support::certs::Certs;
use support::scripted::{Peer, Scripted};

// ---------------------------------------------------------------------------
// Helpers

/// Prefix of the failure message of a test guarding a safety rule of the
/// core or the blocking client.
const CORE_CHANGE: &str = "safety regression (see SECURITY.md)";

/// A greeting that offers STARTTLS and refuses LOGIN before it.
const STARTTLS_GREETING: &str = "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready";

/// A greeting for tests that start authenticated.
const PREAUTH_GREETING: &str = "* PREAUTH [CAPABILITY IMAP4rev1 IDLE LITERAL+] ready";

fn options() -> Options {
    Options::with_timeout(Duration::from_secs(3))
}

fn options_with_timeout(timeout: Duration) -> Options {
    Options::with_timeout(timeout)
}

/// TLS settings that trust the test CA and nothing else.
fn trust_test_ca() -> TlsConfig {
    TlsConfig::new()
        .ca_file(Certs::get().ca_file())
        .only_given_cas()
}

fn tls_options() -> Options {
    Options {
        tls: trust_test_ca(),
        ..options()
    }
}

fn connect<C: Client>(server: &Scripted) -> C {
    connect_with(server, options())
}

fn connect_with<C: Client>(server: &Scripted, options: Options) -> C {
    C::with_options("127.0.0.1", server.port(), options).expect("connect")
}

fn has(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The tag the client will use after `tag` (prefix letters, then a counter).
fn next_tag(tag: &str) -> String {
    let digits = tag.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prefix = &tag[..tag.len() - digits.len()];
    let n: u64 = digits.parse().expect("a tag ends with its counter");
    format!("{prefix}{}", n + 1)
}

/// Nothing the server forged (every forged payload says "FORGED") is
/// visible to the caller.
fn assert_nothing_forged(m: &impl Client) {
    assert!(
        !m.capabilities().iter().any(|c| c.contains("FORGED")),
        "forged capability adopted: {:?}",
        m.capabilities()
    );
    for (name, items) in m.untagged_responses() {
        let shown = format!("{items:?}").to_ascii_uppercase();
        assert!(!shown.contains("FORGED"), "forged {name} kept: {shown}");
    }
}

/// A TCP connection that counts every byte the client reads, to bound how
/// much of a flood the client consumed before it stopped.
struct Counted {
    tcp: TcpStream,
    read: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.tcp.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

impl Connection for Counted {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(timeout)
    }
    fn shutdown(&mut self) -> io::Result<()> {
        self.tcp.shutdown(Shutdown::Both)
    }
}

/// Connects through [`Counted`]; returns the client and its read counter.
fn connect_counted(server: &Scripted, options: Options) -> (Imap4, Arc<AtomicU64>) {
    let tcp = TcpStream::connect(server.addr).expect("connect");
    tcp.set_read_timeout(options.timeout).unwrap();
    tcp.set_write_timeout(options.timeout).unwrap();
    let read = Arc::new(AtomicU64::new(0));
    let conn = Counted {
        tcp,
        read: read.clone(),
    };
    let m = Imap4::from_transport(Box::new(conn), options).expect("connect");
    (m, read)
}

/// Sends `unit` again and again until `cap` bytes went out or the client
/// closed the connection; true if all `cap` bytes were sent.
fn flood(p: &mut Peer, unit: &[u8], cap: usize) -> bool {
    let chunk = unit.repeat((64 * 1024 / unit.len()).max(1));
    let mut sent = 0;
    while sent < cap {
        if p.try_send(&chunk).is_err() {
            return false;
        }
        sent += chunk.len();
    }
    true
}

/// Server side: PREAUTH greeting, then SELECT answered with one message.
fn serve_selected(p: &mut Peer) {
    p.line_out(PREAUTH_GREETING);
    let cmd = p.expect("SELECT");
    p.line_out("* 1 EXISTS");
    p.tagged(&cmd, "OK [READ-WRITE] selected");
}

fn select_inbox(m: &mut impl Client) {
    assert_eq!(
        m.select("INBOX", false).unwrap().data,
        vec![Data::from("1")]
    );
}

/// Greets, answers the client's NOOP with what `answer` makes from its tag,
/// then keeps the connection open until the client closes it. Returns the
/// NOOP's error and how long the NOOP took.
fn noop_answered_with(
    limits: Limits,
    answer: impl FnOnce(&str) -> Vec<u8> + Send + 'static,
) -> (imaplib::Error, Duration) {
    let server = Scripted::start(move |p| {
        p.line_out(PREAUTH_GREETING);
        let cmd = p.expect("NOOP");
        let _ = p.try_send(answer(&cmd.tag));
        let _ = p.read_to_end();
    });
    let mut m: Imap4 = connect(&server);
    m.set_limits(limits);
    let start = Instant::now();
    let err = m.noop().expect_err("the NOOP must fail");
    let took = start.elapsed();
    assert!(err.is_abort(), "{err}");
    assert!(
        m.noop().unwrap_err().is_abort(),
        "the connection is unusable"
    );
    drop(m);
    server.finish();
    (err, took)
}

/// Runs the calling test again in a child process, so that a stack
/// overflow fails that test alone instead of killing the whole suite.
/// Returns true inside the child, which then runs the risky part.
fn in_child_process(test_name: &str) -> bool {
    if std::env::var_os("IMAPLIB_HOSTILE_CHILD").is_some() {
        return true;
    }
    // The test harness names the thread after the test's full path (with
    // the client's module when the test runs against both).
    let current = std::thread::current();
    let test_name = current
        .name()
        .filter(|n| n.ends_with(test_name) || n.contains(&format!("{test_name}::")))
        .unwrap_or(test_name);
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env("IMAPLIB_HOSTILE_CHILD", "1")
        .output()
        .expect("run the test binary");
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test_name} failed in its child process ({}):\n{}\n{}",
        out.status,
        tail(&stdout, 2000),
        tail(&stderr, 2000)
    );
    false
}

/// The last `n` characters of `s`.
fn tail(s: &str, n: usize) -> &str {
    let start = s.char_indices().rev().nth(n).map_or(0, |(i, _)| i);
    &s[start..]
}

/// Virtual memory of this process in bytes (`VmSize` of /proc/self/status).
fn vm_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .expect("VmSize line");
    let kb: u64 = line
        .split_ascii_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmSize value");
    kb * 1024
}

// ---------------------------------------------------------------------------
// STARTTLS: injection, stripping, downgrade

/// The server accepts STARTTLS and appends `extra` (made from the STARTTLS
/// tag) in the same segment. The client must stop before the handshake,
/// send nothing more and use nothing that followed the OK.
fn injection_after_starttls_ok(extra: fn(&str) -> String) {
    let server = Scripted::start(move |p| {
        p.line_out(STARTTLS_GREETING);
        let cmd = p.expect("STARTTLS");
        p.send(format!(
            "{} OK Begin TLS negotiation now\r\n{}",
            cmd.tag,
            extra(&cmd.tag)
        ));
        let rest = p.read_to_end();
        assert!(
            rest.is_empty(),
            "the client went on after the injection: {:?}",
            text(&rest)
        );
    });
    let mut m: Imap4 = connect(&server);
    let err = m.starttls(Some(&trust_test_ca())).unwrap_err();
    assert!(err.is_abort(), "{err}");
    assert!(
        err.message().contains("cleartext after accepting STARTTLS"),
        "{err}"
    );
    assert!(!m.is_tls());
    assert_nothing_forged(&m);
    assert!(m.login("user", "pass").unwrap_err().is_abort());
    drop(m);
    server.finish();
}

both! {
fn starttls_ok_followed_by_forged_capability_fails_closed() {
    injection_after_starttls_ok(|_| "* CAPABILITY IMAP4rev1 AUTH=PLAIN X-FORGED\r\n".into());
}
}

both! {
fn starttls_ok_followed_by_forged_tagged_ok_for_next_tag_fails_closed() {
    injection_after_starttls_ok(|tag| {
        format!(
            "{} OK [CAPABILITY IMAP4rev1 X-FORGED] LOGIN completed (forged)\r\n",
            next_tag(tag)
        )
    });
}
}

both! {
fn starttls_ok_followed_by_bye_fails_closed() {
    injection_after_starttls_ok(|_| "* BYE forged shutdown\r\n".into());
}
}

both! {
fn starttls_ok_followed_by_alert_fails_closed() {
    injection_after_starttls_ok(|_| {
        "* OK [ALERT] FORGED: your password expired, log in again\r\n".into()
    });
}
}

both! {
fn starttls_discards_untagged_data_received_in_cleartext() {
    let good = Certs::get().good.clone();
    let server = Scripted::start(move |p| {
        p.line_out(STARTTLS_GREETING);
        // Unsolicited data before the client asked for anything...
        p.line_out("* 7 EXISTS");
        let cmd = p.expect("STARTTLS");
        // ...and more between STARTTLS and its OK.
        p.send(
            "* 1 FETCH (BODY[] {18}\r\nFORGED message body)\r\n\
             * LIST () \"/\" FORGED-Box\r\n\
             * CAPABILITY IMAP4rev1 AUTH=PLAIN X-FORGED\r\n\
             * OK [ALERT] FORGED alert\r\n",
        );
        p.tagged(&cmd, "OK Begin TLS negotiation now");
        p.starttls(good).expect("TLS handshake");
        let cmd = p.expect("CAPABILITY");
        p.line_out("* CAPABILITY IMAP4rev1 AUTH=PLAIN");
        p.tagged(&cmd, "OK done");
        let cmd = p.expect("NOOP");
        assert!(p.is_tls());
        p.tagged(&cmd, "OK nothing new");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.starttls(Some(&trust_test_ca())).unwrap();
    assert!(m.is_tls());
    for name in ["EXISTS", "FETCH", "LIST", "ALERT", "OK"] {
        assert!(
            !m.untagged_responses().contains_key(name),
            "cleartext {name} survived into TLS: {:?}",
            m.untagged_responses()
        );
    }
    assert_nothing_forged(&m);
    assert_eq!(m.capabilities(), ["IMAP4REV1", "AUTH=PLAIN"]);
    m.noop().unwrap();
    assert_eq!(m.response("EXISTS").1, vec![Data::None]);
    assert_eq!(m.response("FETCH").1, vec![Data::None]);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn starttls_capabilities_in_the_cleartext_ok_are_not_trusted() {
    let good = Certs::get().good.clone();
    let server = Scripted::start(move |p| {
        p.line_out(STARTTLS_GREETING);
        let cmd = p.expect("STARTTLS");
        p.tagged(
            &cmd,
            "OK [CAPABILITY IMAP4rev1 AUTH=PLAIN X-FORGED] Begin TLS negotiation now",
        );
        p.starttls(good).expect("TLS handshake");
        // The client must ask again, over TLS.
        let cmd = p.expect("CAPABILITY");
        p.line_out("* CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=SCRAM-SHA-256");
        p.tagged(&cmd, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.starttls(Some(&trust_test_ca())).unwrap();
    assert_nothing_forged(&m);
    assert!(
        m.has_capability("AUTH=SCRAM-SHA-256"),
        "{:?}",
        m.capabilities()
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn starttls_then_login_goes_only_over_tls() {
    let good = Certs::get().good.clone();
    let server = Scripted::start(move |p| {
        p.line_out(STARTTLS_GREETING);
        let cmd = p.expect("STARTTLS");
        p.tagged(&cmd, "OK Begin TLS negotiation now");
        p.starttls(good).expect("TLS handshake");
        let cmd = p.expect("CAPABILITY");
        p.line_out("* CAPABILITY IMAP4rev1 AUTH=PLAIN");
        p.tagged(&cmd, "OK done");
        let cmd = p.expect_line("LOGIN user \"s3cret\"");
        assert!(p.is_tls(), "LOGIN arrived in cleartext");
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1 IDLE] logged in");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    assert!(m.has_capability("LOGINDISABLED"));
    m.starttls(Some(&trust_test_ca())).unwrap();
    assert!(!m.has_capability("LOGINDISABLED"), "re-read over TLS");
    m.login("user", "s3cret").unwrap();
    assert!(m.has_capability("IDLE"));
    m.logout().unwrap();
    server.finish();
}
}

/// STARTTLS does not happen (`answer` is the server's reply to it, or the
/// server does not offer it): LOGIN must not go out afterwards. Returns
/// the STARTTLS error.
fn credentials_withheld_after_failed_starttls(
    greeting: &'static str,
    answer: Option<&'static str>,
) -> imaplib::Error {
    let server = Scripted::start(move |p| {
        p.line_out(greeting);
        if let Some(answer) = answer {
            let cmd = p.expect("STARTTLS");
            p.tagged(&cmd, answer);
        }
        let rest = p.answer_rest();
        assert!(
            !has(&rest, b"LOGIN") && !has(&rest, b"s3cret"),
            "{CORE_CHANGE}: credentials went out in cleartext after STARTTLS failed: {:?}",
            text(&rest)
        );
    });
    let mut m: Imap4 = connect(&server);
    let err = m.starttls(Some(&trust_test_ca())).unwrap_err();
    assert!(!m.is_tls());
    assert!(m.login("user", "s3cret").is_err());
    drop(m);
    server.finish();
    err
}

// After a refused STARTTLS the session must refuse to
// send credentials in cleartext.
both! {
fn starttls_refused_with_no_sends_no_credentials() {
    let err = credentials_withheld_after_failed_starttls(STARTTLS_GREETING, Some("NO not now"));
    assert!(err.message().contains("not now"), "{err}");
}
}

// As above, for BAD.
both! {
fn starttls_refused_with_bad_sends_no_credentials() {
    let err =
        credentials_withheld_after_failed_starttls(STARTTLS_GREETING, Some("BAD unknown command"));
    assert!(err.message().contains("unknown command"), "{err}");
}
}

// A server that does not offer STARTTLS (or a man in
// the middle who stripped it) must not get credentials in cleartext.
both! {
fn starttls_not_advertised_sends_no_credentials() {
    let err = credentials_withheld_after_failed_starttls(
        "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] STARTTLS stripped",
        None,
    );
    assert!(err.is_abort(), "{err}");
    assert!(err.message().contains("TLS not supported"), "{err}");
}
}

both! {
fn starttls_answered_with_continuation_fails_closed() {
    let server = Scripted::start(|p| {
        p.line_out(STARTTLS_GREETING);
        let _cmd = p.expect("STARTTLS");
        p.line_out("+ go ahead");
        let rest = p.read_to_end();
        assert!(rest.is_empty(), "client sent {:?}", text(&rest));
    });
    let mut m: Imap4 = connect_with(&server, options_with_timeout(Duration::from_millis(400)));
    let err = m.starttls(Some(&trust_test_ca())).unwrap_err();
    assert!(err.is_abort(), "{err}");
    assert!(err.message().contains("timed out"), "{err}");
    assert!(!m.is_tls());
    assert!(m.login("user", "s3cret").unwrap_err().is_abort());
    drop(m);
    server.finish();
}
}

both! {
fn starttls_answered_with_garbage_fails_closed() {
    let answers: [fn(&str) -> Vec<u8>; 3] = [
        |tag| format!("{tag} GO-AHEAD start TLS now\r\n").into_bytes(),
        // A TLS alert record where an IMAP response belongs.
        |_| b"\x15\x03\x03\x00\x02\x02\x28".to_vec(),
        |_| b"* STARTTLS sure, go ahead\r\n".to_vec(),
    ];
    for answer in answers {
        let server = Scripted::start(move |p| {
            p.line_out(STARTTLS_GREETING);
            let cmd = p.expect("STARTTLS");
            p.send(answer(&cmd.tag));
            p.close_write();
            let rest = p.read_to_end();
            assert!(rest.is_empty(), "client sent {:?}", text(&rest));
        });
        let mut m: Imap4 = connect(&server);
        let err = m.starttls(Some(&trust_test_ca())).unwrap_err();
        assert!(err.is_abort(), "{err}");
        assert!(!m.is_tls());
        assert!(m.login("user", "s3cret").unwrap_err().is_abort());
        drop(m);
        server.finish();
    }
}
}

// A cleartext PREAUTH greeting means TLS can no longer
// be started; a caller who asked for it must get an abort, and nothing more
// may be sent in cleartext.
both! {
fn cleartext_preauth_greeting_when_tls_is_required_fails_closed() {
    let server = Scripted::start(|p| {
        p.line_out("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] FORGED: you are logged in");
        let rest = p.answer_rest();
        assert!(
            !has(&rest, b"SELECT"),
            "{CORE_CHANGE}: the client used a cleartext PREAUTH session after asking for TLS: {:?}",
            text(&rest)
        );
    });
    let mut m: Imap4 = connect(&server);
    let err = m.starttls(Some(&trust_test_ca())).unwrap_err();
    assert!(!m.is_tls());
    assert!(
        err.is_abort(),
        "{CORE_CHANGE}: STARTTLS impossible after PREAUTH must abort the connection, got: {err}"
    );
    assert!(m.select("INBOX", false).is_err());
    drop(m);
    server.finish();
}
}

// The server sends the tagged OK for STARTTLS before
// the client sent STARTTLS (it guessed the next tag). A completion for a
// tag that is not in flight must be refused when it is read, whatever the
// client does next.
both! {
fn starttls_ok_sent_before_the_command_is_refused() {
    let good = Certs::get().good.clone();
    let server = Scripted::start(move |p| {
        // No capabilities in the greeting: the client asks, and learns the
        // tags; the answer carries the OK for the next one.
        p.line_out("* OK ready");
        let cmd = p.expect("CAPABILITY");
        p.send(format!(
            "* CAPABILITY IMAP4rev1 STARTTLS\r\n{} OK done\r\n{} OK Begin TLS negotiation now\r\n",
            cmd.tag,
            next_tag(&cmd.tag)
        ));
        let line = p.try_read_line().unwrap_or_default();
        if has(&line, b"STARTTLS") {
            // What the real server does on receiving STARTTLS.
            p.line_out(&format!(
                "{} OK Begin TLS negotiation now",
                next_tag(&cmd.tag)
            ));
            let _ = p.starttls(good);
        }
        let _ = p.raw_read_to_end();
    });
    let mut m: Imap4 = connect(&server);
    let err = m.starttls(Some(&trust_test_ca())).unwrap_err();
    assert!(err.is_abort(), "{err}");
    assert!(!m.is_tls());
    assert_eq!(
        err.detail(),
        Some(ProtoErrorKind::UnknownTag),
        "{CORE_CHANGE}: a tagged OK that arrived before its command was sent was taken as \
         STARTTLS's answer; got: {err}"
    );
    drop(m);
    server.finish();
}
}

// ---------------------------------------------------------------------------
// Certificates, on implicit TLS and on STARTTLS

/// Implicit TLS with the server presenting `config`'s certificate: the
/// client must refuse it with an error that names `reason`.
fn implicit_tls_refused(config: Arc<ServerConfig>, reason: &str) {
    let server = Scripted::start_tls(config, |p| {
        assert!(
            p.handshake().is_err(),
            "the client accepted the certificate"
        );
        let rest = p.raw_read_to_end();
        assert!(!has(&rest, b"LOGIN"));
    });
    let err = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort, "{err}");
    assert!(
        err.message()
            .contains("TLS certificate verification failed"),
        "{err}"
    );
    assert!(err.message().contains(reason), "{err}");
    server.finish();
}

/// The same after STARTTLS; the connection must be unusable afterwards.
fn starttls_certificate_refused(config: Arc<ServerConfig>, reason: &str) {
    let server = Scripted::start(move |p| {
        p.line_out(STARTTLS_GREETING);
        let cmd = p.expect("STARTTLS");
        p.tagged(&cmd, "OK Begin TLS negotiation now");
        assert!(
            p.starttls(config).is_err(),
            "the client accepted the certificate"
        );
        let rest = p.raw_read_to_end();
        assert!(!has(&rest, b"LOGIN"), "{:?}", text(&rest));
    });
    let mut m: Imap4 = connect(&server);
    let err = m.starttls(Some(&trust_test_ca())).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort, "{err}");
    assert!(
        err.message()
            .contains("TLS certificate verification failed"),
        "{err}"
    );
    assert!(err.message().contains(reason), "{err}");
    assert!(!m.is_tls());
    assert!(m.login("user", "s3cret").unwrap_err().is_abort());
    drop(m);
    server.finish();
}

const SELF_SIGNED: &str = "certificate is self-signed";
const UNKNOWN_CA: &str = "not issued by a trusted certificate authority";
const WRONG_HOST: &str = "not valid for this host name (127.0.0.1); it is for imap.example.org";
const EXPIRED: &str = "certificate has expired (valid until 2020-02-01 00:00:00 UTC";

both! {
fn implicit_tls_self_signed_certificate_is_refused() {
    implicit_tls_refused(Certs::get().self_signed.clone(), SELF_SIGNED);
}
}

both! {
fn implicit_tls_unknown_ca_is_refused() {
    implicit_tls_refused(Certs::get().unknown_ca.clone(), UNKNOWN_CA);
}
}

both! {
fn implicit_tls_wrong_host_name_is_refused() {
    implicit_tls_refused(Certs::get().wrong_host.clone(), WRONG_HOST);
}
}

both! {
fn implicit_tls_expired_certificate_is_refused() {
    implicit_tls_refused(Certs::get().expired.clone(), EXPIRED);
}
}

both! {
fn starttls_self_signed_certificate_is_refused() {
    starttls_certificate_refused(Certs::get().self_signed.clone(), SELF_SIGNED);
}
}

both! {
fn starttls_unknown_ca_is_refused() {
    starttls_certificate_refused(Certs::get().unknown_ca.clone(), UNKNOWN_CA);
}
}

both! {
fn starttls_wrong_host_name_is_refused() {
    starttls_certificate_refused(Certs::get().wrong_host.clone(), WRONG_HOST);
}
}

both! {
fn starttls_expired_certificate_is_refused() {
    starttls_certificate_refused(Certs::get().expired.clone(), EXPIRED);
}
}

both! {
fn implicit_tls_with_a_valid_certificate_works() {
    let server = Scripted::start_tls(Certs::get().good.clone(), |p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
        let cmd = p.expect_line("LOGIN user \"s3cret\"");
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1] in");
        p.logout();
    });
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    assert!(m.is_tls());
    m.login("user", "s3cret").unwrap();
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn implicit_tls_handshake_stall_times_out() {
    // Accepts the connection, reads the ClientHello, never answers.
    let server = Scripted::start(|p| {
        let _ = p.raw_read_to_end();
    });
    let options = Options {
        tls: trust_test_ca(),
        ..options_with_timeout(Duration::from_millis(300))
    };
    let start = Instant::now();
    let err = Imap4::ssl_with_options("127.0.0.1", server.port(), options).unwrap_err();
    assert!(err.is_abort(), "{err}");
    assert!(err.message().contains("TLS handshake failed"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    server.finish();
}
}

// ---------------------------------------------------------------------------
// Sizes and time

both! {
fn literal_size_over_the_limit_aborts_before_reading_it() {
    // The default limit (100 MiB) against a 10 GB announcement.
    let (err, took) = noop_answered_with(Limits::default(), |_| {
        b"* 1 FETCH (BODY[] {10000000000}\r\nabc".to_vec()
    });
    assert_eq!(err.detail(), Some(ProtoErrorKind::LiteralTooLarge), "{err}");
    assert!(err.message().contains("10000000000-byte literal"), "{err}");
    assert!(
        took < Duration::from_secs(2),
        "waited for the literal: {took:?}"
    );
    // A limit set by the caller, one byte over it.
    let limits = Limits {
        max_literal: 4096,
        ..Limits::default()
    };
    let (err, _) = noop_answered_with(limits, |_| b"* 1 FETCH (BODY[] {4097}\r\nabc".to_vec());
    assert_eq!(err.detail(), Some(ProtoErrorKind::LiteralTooLarge), "{err}");
}
}

both! {
fn literal_size_beyond_64_bits_aborts() {
    for size in ["18446744073709551616", "99999999999999999999"] {
        let (err, _) = noop_answered_with(Limits::default(), move |_| {
            format!("* 1 FETCH (BODY[] {{{size}}}\r\nabc").into_bytes()
        });
        assert_eq!(err.detail(), Some(ProtoErrorKind::BadLiteral), "{err}");
    }
}
}

// A literal size too long to be a number (here 39
// digits) is not recognised as an announcement at all; the line is taken
// as complete and the literal's bytes that follow would be read as
// responses. It must be refused like any malformed size.
both! {
fn overlong_literal_size_aborts() {
    let (err, _) = noop_answered_with(Limits::default(), |_| {
        b"* 1 FETCH (BODY[] {340282366920938463463374607431768211456}\r\nabc".to_vec()
    });
    assert_eq!(
        err.detail(),
        Some(ProtoErrorKind::BadLiteral),
        "{CORE_CHANGE}: a 39-digit literal size was not refused: {err}"
    );
}
}

both! {
fn malformed_literal_size_aborts() {
    for announcement in ["{-1}", "{12x}", "{+}", "{1.5}", "{0x10}"] {
        let line = format!("* 1 FETCH (BODY[] {announcement}\r\nabc)\r\n");
        let (err, _) = noop_answered_with(Limits::default(), move |_| line.into_bytes());
        assert_eq!(
            err.detail(),
            Some(ProtoErrorKind::BadLiteral),
            "{announcement}: {err}"
        );
        assert!(err.message().contains("malformed literal size"), "{err}");
    }
}
}

both! {
fn literal_trickled_one_byte_at_a_time_arrives_whole() {
    let body: Vec<u8> = (0..20_000u32)
        .map(|i| b"abcdefghij\r\n"[i as usize % 12])
        .collect();
    let expected = body.clone();
    let server = Scripted::start(move |p| {
        serve_selected(p);
        let cmd = p.expect("FETCH");
        let mut response = format!("* 1 FETCH (BODY[] {{{}}}\r\n", body.len()).into_bytes();
        response.extend_from_slice(&body);
        response.extend_from_slice(format!(")\r\n{} OK done\r\n", cmd.tag).as_bytes());
        for b in &response {
            p.send([*b]);
        }
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let start = Instant::now();
    let reply = m.fetch("1", "(BODY[])").unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(reply.data[0].literal().map(|l| l.to_vec()), Some(expected));
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn untagged_bound_can_be_lowered_after_connecting() {
    let server = Scripted::start(|p| {
        p.line_out(PREAUTH_GREETING);
        let cmd = p.expect("NOOP");
        p.line_out(&format!("* 1 FETCH (FLAGS ({}))", "\\x ".repeat(100)));
        p.tagged(&cmd, "OK");
        let cmd = p.expect("NOOP");
        // The client gives up (and may close) before all of it is sent.
        for i in 0..50 {
            let line = format!("* {i} FETCH (FLAGS ({}))\r\n", "\\x ".repeat(100));
            if p.try_send(line).is_err() {
                return;
            }
        }
        let _ = p.try_send(format!("{} OK\r\n", cmd.tag));
        let _ = p.read_to_end();
    });
    let mut m: Imap4 = connect(&server);
    m.noop().unwrap();
    m.set_max_untagged_bytes(4_000);
    let err = m.noop().unwrap_err();
    assert!(err.is_abort(), "{err}");
    assert!(err.message().contains("untagged"), "{err}");
    drop(m);
    server.finish();
}
}

/// A server that answers FETCH one byte every 50 ms, forever: each read
/// succeeds within the read timeout, so only a bound on the whole command
/// ends it.
fn trickling_server() -> Scripted {
    Scripted::start(|p| {
        serve_selected(p);
        let cmd = p.expect("FETCH");
        let _ = cmd;
        p.send(b"* 1 FETCH (BODY[] {100000000}\r\n");
        while p.try_send(b"x").is_ok() {
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

/// The FETCH ended as an abort naming the bound, about when it expired.
fn check_command_timed_out(err: &imaplib::Error, took: Duration) {
    assert_eq!(err.kind(), ErrorKind::Abort, "{err}");
    assert!(err.message().contains("command_timeout"), "{err}");
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

both! {
fn command_timeout_bounds_a_trickling_response() {
    let server = trickling_server();
    let mut m: Imap4 = connect_with(
        &server,
        Options {
            command_timeout: Some(Duration::from_millis(700)),
            ..options_with_timeout(Duration::from_secs(2))
        },
    );
    select_inbox(&mut m);
    let start = Instant::now();
    let err = m.fetch("1", "(BODY[])").unwrap_err();
    check_command_timed_out(&err, start.elapsed());
    assert!(m.noop().is_err(), "the connection is unusable afterwards");
    drop(m);
    server.finish();
}
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn command_timeout_bounds_a_trickling_response_async() {
    let server = trickling_server();
    let mut m = imaplib::AsyncImap4::with_options(
        "127.0.0.1",
        server.port(),
        Options {
            command_timeout: Some(Duration::from_millis(700)),
            ..options_with_timeout(Duration::from_secs(2))
        },
    )
    .await
    .unwrap();
    m.select("INBOX", false).await.unwrap();
    let start = Instant::now();
    let err = m.fetch("1", "(BODY[])").await.unwrap_err();
    check_command_timed_out(&err, start.elapsed());
    drop(m);
    server.finish();
}

both! {
fn literal_fed_byte_by_byte_takes_linear_time_and_memory_as_received() {
    // In process, on the sans-IO session the client runs: a literal
    // announced as 8 GiB (the limit raised to allow it) arrives one byte per
    // feed. Memory must follow what arrived, not what was announced, and
    // 1 MiB of single bytes must take linear time (a rescan per byte would
    // be ~5e11 steps).
    let mut s = Session::new(SessionConfig {
        limits: Limits {
            max_literal: 16 << 30,
            max_response: 16 << 30,
            ..Limits::default()
        },
        max_untagged_bytes: 16 << 30,
        ..SessionConfig::default()
    });
    s.feed(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
    assert_eq!(s.poll_event().unwrap(), Some(Event::Greeting));
    let before = vm_size();
    s.feed(b"* 1 FETCH (BODY[] {8589934592}\r\n");
    assert_eq!(s.poll_event().unwrap(), None);
    let start = Instant::now();
    const FED: usize = 1 << 20;
    for i in 0..FED {
        s.feed(&[b'a' + (i % 26) as u8]);
        assert_eq!(s.poll_event().unwrap(), None);
    }
    let took = start.elapsed();
    let grown = vm_size().saturating_sub(before);
    assert!(took < Duration::from_secs(20), "not linear: {took:?}");
    assert!(
        grown < 2 << 30,
        "virtual memory grew by {grown} bytes for {FED} bytes received"
    );
    let buffered = s.buffered_input();
    assert!(
        (FED..FED + 64).contains(&buffered),
        "{buffered} bytes held for {FED} received"
    );
}
}

both! {
fn never_ending_line_aborts_at_the_line_limit() {
    for max_line in [Limits::DEFAULT_MAX_LINE, 8192] {
        let server = Scripted::start(|p| {
            p.line_out(PREAUTH_GREETING);
            let _cmd = p.expect("NOOP");
            p.send("* OK ");
            flood(p, b"x", 16 << 20);
            let _ = p.read_to_end();
        });
        let (mut m, read) = connect_counted(&server, options());
        m.set_limits(Limits {
            max_line,
            ..Limits::default()
        });
        let err = m.noop().unwrap_err();
        assert_eq!(err.detail(), Some(ProtoErrorKind::LineTooLong), "{err}");
        let read = read.load(Ordering::Relaxed);
        assert!(
            read <= (max_line + 128 * 1024) as u64,
            "read {read} bytes with a {max_line}-byte line limit"
        );
        drop(m);
        server.finish();
    }
}
}

// One response made of endless small literals (each
// under the literal limit, each line under the line limit) must be
// refused once it outgrows the untagged-data limit, not read to its end.
both! {
fn never_ending_response_of_small_literals_is_bounded() {
    const LIMIT: usize = 1 << 20;
    const CAP: usize = 16 << 20;
    let server = Scripted::start(|p| {
        p.line_out(PREAUTH_GREETING);
        let cmd = p.expect("NOOP");
        p.send("* 1 FETCH (");
        let mut unit = b"X-ITEM {1000}\r\n".to_vec();
        unit.extend_from_slice(&[b'y'; 1000]);
        unit.push(b' ');
        if flood(p, &unit, CAP) {
            let _ = p.try_send(format!(")\r\n{} OK done\r\n", cmd.tag));
        }
        let _ = p.read_to_end();
    });
    let (mut m, read) = connect_counted(
        &server,
        Options {
            max_untagged_bytes: LIMIT,
            ..options()
        },
    );
    let result = m.noop();
    let read = read.load(Ordering::Relaxed);
    assert!(
        read <= 4 * LIMIT as u64,
        "{CORE_CHANGE}: the client read {read} bytes of one response with a {LIMIT}-byte \
         untagged limit (result: {result:?})"
    );
    let err = result.unwrap_err();
    assert_eq!(err.detail(), Some(ProtoErrorKind::TooMuchData), "{err}");
    drop(m);
    server.finish();
}
}

both! {
fn endless_untagged_responses_abort_at_the_untagged_limit() {
    const LIMIT: usize = 1 << 20;
    let server = Scripted::start(|p| {
        p.line_out(PREAUTH_GREETING);
        let cmd = p.expect("NOOP");
        let mut unit = b"* 1 FETCH (BODY[] {1000}\r\n".to_vec();
        unit.extend_from_slice(&[b'z'; 1000]);
        unit.extend_from_slice(b")\r\n");
        if flood(p, &unit, 16 << 20) {
            let _ = p.try_send(format!("{} OK done\r\n", cmd.tag));
        }
        let _ = p.read_to_end();
    });
    let (mut m, read) = connect_counted(
        &server,
        Options {
            max_untagged_bytes: LIMIT,
            ..options()
        },
    );
    let err = m.noop().unwrap_err();
    assert_eq!(err.detail(), Some(ProtoErrorKind::TooMuchData), "{err}");
    assert!(err.message().contains("untagged"), "{err}");
    let read = read.load(Ordering::Relaxed);
    assert!(
        read <= (LIMIT + 256 * 1024) as u64,
        "read {read} bytes with a {LIMIT}-byte limit"
    );
    assert!(m.noop().unwrap_err().is_abort());
    drop(m);
    server.finish();
}
}

// Responses that carry (almost) no data still cost
// memory to hold; an endless stream of them must hit the limit too.
both! {
fn endless_empty_untagged_responses_are_bounded_too() {
    const LIMIT: usize = 256 * 1024;
    let server = Scripted::start(|p| {
        p.line_out(PREAUTH_GREETING);
        let cmd = p.expect("NOOP");
        if flood(p, b"* SEARCH\r\n", 4 << 20) {
            let _ = p.try_send(format!("{} OK done\r\n", cmd.tag));
        }
        let _ = p.read_to_end();
    });
    let (mut m, read) = connect_counted(
        &server,
        Options {
            max_untagged_bytes: LIMIT,
            ..options()
        },
    );
    let result = m.noop();
    let held = m
        .untagged_responses()
        .get("SEARCH")
        .map_or(0, |items| items.len());
    let read = read.load(Ordering::Relaxed);
    assert!(
        result
            .as_ref()
            .is_err_and(|e| e.detail() == Some(ProtoErrorKind::TooMuchData)),
        "{CORE_CHANGE}: {held} empty SEARCH responses ({read} bytes) were held with a \
         {LIMIT}-byte untagged limit; result {result:?}"
    );
    assert!(read <= 4 * LIMIT as u64, "read {read} bytes");
    drop(m);
    server.finish();
}
}

// What IDLE collects for the caller is bounded too.
both! {
fn endless_untagged_responses_during_idle_are_bounded() {
    const LIMIT: usize = 1 << 20;
    let server = Scripted::start(|p| {
        serve_selected(p);
        let cmd = p.expect("IDLE");
        p.line_out("+ idling");
        let mut unit = b"* 1 FETCH (BODY[] {1000}\r\n".to_vec();
        unit.extend_from_slice(&[b'i'; 1000]);
        unit.extend_from_slice(b")\r\n");
        if flood(p, &unit, 8 << 20) {
            if let Ok(line) = p.try_read_line() {
                if line == b"DONE\r\n" {
                    let _ = p.try_send(format!("{} OK IDLE done\r\n", cmd.tag));
                }
            }
        }
        let _ = p.answer_rest();
    });
    let (mut m, read) = connect_counted(
        &server,
        Options {
            max_untagged_bytes: LIMIT,
            ..options()
        },
    );
    select_inbox(&mut m);
    let result = m.idle(Some(Duration::from_secs(1)), |_, _| false);
    let read = read.load(Ordering::Relaxed);
    let held = result.as_ref().map_or(0, |r| r.responses.len());
    assert!(
        result
            .as_ref()
            .is_err_and(|e| e.detail() == Some(ProtoErrorKind::TooMuchData)),
        "{CORE_CHANGE}: IDLE collected {held} responses ({read} bytes read) with a \
         {LIMIT}-byte untagged limit"
    );
    assert!(read <= 4 * LIMIT as u64, "read {read} bytes");
    drop(m);
    server.finish();
}
}

/// A server that stops in the middle of a response (`partial`) and stays
/// silent: the read timeout must end the wait.
fn stalled_mid_response(partial: &'static str) {
    let server = Scripted::start(move |p| {
        p.line_out(PREAUTH_GREETING);
        let _cmd = p.expect("NOOP");
        p.send(partial);
        let _ = p.read_to_end();
    });
    let mut m: Imap4 = connect_with(&server, options_with_timeout(Duration::from_millis(300)));
    let start = Instant::now();
    let err = m.noop().unwrap_err();
    let took = start.elapsed();
    assert!(err.is_abort(), "{err}");
    assert!(err.message().contains("timed out"), "{err}");
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(m.noop().unwrap_err().is_abort());
    drop(m);
    server.finish();
}

both! {
fn server_stalling_mid_line_times_out() {
    stalled_mid_response("* 1 FETCH (FLAGS (\\Se");
}
}

both! {
fn server_stalling_mid_literal_times_out() {
    stalled_mid_response("* 1 FETCH (BODY[] {100}\r\nonly the first bytes");
}
}

both! {
fn eof_mid_literal_is_an_abort() {
    let server = Scripted::start(|p| {
        p.line_out(PREAUTH_GREETING);
        let _cmd = p.expect("NOOP");
        p.send("* 1 FETCH (BODY[] {100}\r\nonly the first bytes");
        p.close();
    });
    let mut m: Imap4 = connect(&server);
    let err = m.noop().unwrap_err();
    assert!(err.is_abort(), "{err}");
    assert!(
        err.message().contains("EOF in the middle of a response"),
        "{err}"
    );
    drop(m);
    server.finish();
}
}

both! {
fn zero_length_literals_are_empty_data() {
    let server = Scripted::start(|p| {
        serve_selected(p);
        let cmd = p.expect("FETCH");
        p.send(
            "* 1 FETCH (BODY[HEADER] {0}\r\n BODY[TEXT] {0}\r\n)\r\n\
             * 2 FETCH (BINARY[1] ~{0}\r\n UID 7)\r\n",
        );
        p.tagged(&cmd, "OK done");
        let cmd = p.expect("NOOP");
        p.tagged(&cmd, "OK still in step");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let reply = m
        .fetch("1:2", "(BODY[HEADER] BODY[TEXT] BINARY[1] UID)")
        .unwrap();
    assert_eq!(
        reply.data,
        vec![
            Data::from((b"1 (BODY[HEADER] {0}", b"")),
            Data::from((b" BODY[TEXT] {0}", b"")),
            Data::from(")"),
            Data::from((b"2 (BINARY[1] ~{0}", b"")),
            Data::from(" UID 7)"),
        ]
    );
    for decoded in decode_data("FETCH", &reply.data) {
        let Ok(Untagged::Fetch(f)) = decoded else {
            panic!("undecodable: {decoded:?}");
        };
        assert!(!f.has_undecodable(), "{f:?}");
    }
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn literal_containing_a_tagged_completion_is_data() {
    let server = Scripted::start(|p| {
        serve_selected(p);
        let cmd = p.expect("FETCH");
        let body = format!(
            "Subject: hi\r\n\r\n{} OK FETCH completed\r\n* BYE forged\r\n{} NO forged\r\n",
            cmd.tag,
            next_tag(&cmd.tag)
        );
        p.send(format!(
            "* 1 FETCH (BODY[] {{{}}}\r\n{body})\r\n",
            body.len()
        ));
        p.line_out("* 2 EXISTS");
        p.tagged(&cmd, "OK real completion");
        let cmd = p.expect("NOOP");
        p.tagged(&cmd, "OK in step");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let reply = m.fetch("1", "(BODY[])").unwrap();
    let literal = reply.data[0].literal().expect("a literal").clone();
    assert!(literal.starts_with(b"Subject: hi\r\n\r\n"));
    assert!(has(&literal, b" OK FETCH completed\r\n* BYE forged\r\n"));
    assert_eq!(reply.data[1], Data::from(")"));
    assert_eq!(
        m.state(),
        State::Selected,
        "the BYE inside the literal was data"
    );
    assert_eq!(
        m.response("EXISTS").1,
        vec![Data::from("1"), Data::from("2")]
    );
    assert!(!m.untagged_responses().contains_key("BYE"));
    assert_eq!(m.noop().unwrap().data, vec![Data::from("in step")]);
    m.logout().unwrap();
    server.finish();
}
}

// ---------------------------------------------------------------------------
// Structure

/// Serves one SELECT, then answers `command` (a command name) with
/// `response` and the tagged OK, then a NOOP, then LOGOUT.
fn serve_one(command: &'static str, response: String) -> Scripted {
    Scripted::start(move |p| {
        serve_selected(p);
        let cmd = p.expect(command);
        p.send(response);
        p.tagged(&cmd, "OK done");
        let cmd = p.expect("NOOP");
        p.tagged(&cmd, "OK in step");
        p.logout();
    })
}

const DEEP: usize = 100_000;

both! {
fn deeply_nested_bodystructure_is_refused_without_exhausting_the_stack() {
    if !in_child_process("deeply_nested_bodystructure_is_refused_without_exhausting_the_stack") {
        return;
    }
    let part = "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1";
    let server = serve_one(
        "FETCH",
        format!(
            "* 1 FETCH (UID 5 BODYSTRUCTURE {}{part}{} FLAGS (\\Seen))\r\n",
            "(".repeat(DEEP),
            ")".repeat(DEEP)
        ),
    );
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let reply = m.fetch("1", "(UID BODYSTRUCTURE FLAGS)").unwrap();
    assert_eq!(reply.data.len(), 1, "kept raw, whole");
    let decoded = decode_data("FETCH", &reply.data);
    let Some(Ok(Untagged::Fetch(f))) = decoded.first() else {
        panic!("{decoded:?}");
    };
    assert!(f.has_undecodable(), "{f:?}");
    assert_eq!(f.uid(), Some(5), "the other items still decode");
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn deeply_nested_thread_is_refused_without_exhausting_the_stack() {
    if !in_child_process("deeply_nested_thread_is_refused_without_exhausting_the_stack") {
        return;
    }
    let server = serve_one(
        "THREAD",
        format!("* THREAD {}1{}\r\n", "(".repeat(DEEP), ")".repeat(DEEP)),
    );
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let reply = m.thread("REFERENCES", "UTF-8", ["ALL"]).unwrap();
    let decoded = decode_data("THREAD", &reply.data);
    let Some(Err(e)) = decoded.first() else {
        panic!("nesting {DEEP} deep was accepted: {:?}", decoded.len());
    };
    assert!(e.reason.contains("nesting"), "{e:?}");
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    m.logout().unwrap();
    server.finish();
}
}

// A thread that is one long chain, `(1 2 3 ... N)`, is
// only one parenthesis deep on the wire but becomes a tree N levels deep
// once decoded; building, comparing, printing and dropping it must not
// exhaust the stack.
both! {
fn thread_chain_of_100000_messages_does_not_exhaust_the_stack() {
    if !in_child_process("thread_chain_of_100000_messages_does_not_exhaust_the_stack") {
        return;
    }
    let ids: Vec<String> = (1..=DEEP).map(|i| i.to_string()).collect();
    let server = serve_one("THREAD", format!("* THREAD ({})\r\n", ids.join(" ")));
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let reply = m.thread("REFERENCES", "UTF-8", ["ALL"]).unwrap();
    // Run the decoding on a thread with the stack a small program's main
    // thread has on many systems (1 MiB), so the result does not depend on
    // this machine's limits.
    let data = reply.data.clone();
    let worker = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let decoded = decode_data("THREAD", &data);
            let shown = format!("{decoded:?}");
            assert!(decoded == decoded.clone());
            drop(decoded);
            shown.len()
        })
        .unwrap();
    assert!(
        worker.join().is_ok(),
        "{CORE_CHANGE}: decoding a long thread chain failed"
    );
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn deeply_nested_list_response_is_refused_without_exhausting_the_stack() {
    if !in_child_process("deeply_nested_list_response_is_refused_without_exhausting_the_stack") {
        return;
    }
    let server = Scripted::start(|p| {
        p.line_out(PREAUTH_GREETING);
        let cmd = p.expect("LIST");
        p.send(format!(
            "* LIST (\\HasNoChildren) \"/\" INBOX ({}CHILDINFO{})\r\n",
            "(".repeat(DEEP),
            ")".repeat(DEEP)
        ));
        p.line_out("* LIST () \"/\" Sent");
        p.tagged(&cmd, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let reply = m.list(None, None).unwrap();
    let decoded = decode_data("LIST", &reply.data);
    assert_eq!(decoded.len(), 2);
    assert!(decoded[0].is_err(), "{:?}", decoded[0]);
    assert!(decoded[1].is_ok(), "the next response still decodes");
    m.logout().unwrap();
    server.finish();
}
}

// Message number 0 does not exist (RFC 3501
// `nz-number`); a typed EXPUNGE of 0 would make `n - 1` underflow in the
// caller's bookkeeping. The raw data is kept, the typed decoding refuses it.
both! {
fn expunge_of_message_zero_is_kept_raw_and_not_typed() {
    let server = serve_one("EXPUNGE", "* 0 EXPUNGE\r\n* 3 EXPUNGE\r\n".into());
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let reply = m.expunge().unwrap();
    assert_eq!(reply.data, vec![Data::from("0"), Data::from("3")]);
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    m.logout().unwrap();
    server.finish();
    let decoded = decode_data("EXPUNGE", &reply.data);
    assert!(
        matches!(decoded[1], Ok(Untagged::Expunge(3))),
        "{decoded:?}"
    );
    assert!(
        decoded[0].is_err(),
        "{CORE_CHANGE}: `* 0 EXPUNGE` decoded as {:?}",
        decoded[0]
    );
}
}

both! {
fn counts_beyond_32_and_64_bits_are_kept_raw_and_not_typed() {
    let server = Scripted::start(|p| {
        p.line_out(PREAUTH_GREETING);
        let cmd = p.expect("SELECT");
        p.line_out("* 18446744073709551616 EXISTS");
        p.line_out("* 4294967296 RECENT");
        p.line_out("* OK [UIDVALIDITY 99999999999999999999999] huge");
        p.line_out("* OK [UIDNEXT 18446744073709551615] huge");
        p.tagged(&cmd, "OK [READ-WRITE] selected");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let reply = m.select("INBOX", false).unwrap();
    assert_eq!(reply.data, vec![Data::from("18446744073709551616")]);
    assert!(decode_data("EXISTS", &reply.data)[0].is_err());
    let recent = m.response("RECENT").1;
    assert!(decode_data("RECENT", &recent)[0].is_err());
    for (code, args) in [
        ("UIDVALIDITY", "99999999999999999999999"),
        ("UIDNEXT", "18446744073709551615"),
    ] {
        assert_eq!(m.response(code).1, vec![Data::from(args)]);
        let (typed, _) = decode_condition_text(format!("[{code} {args}] x").as_bytes());
        assert!(
            matches!(typed, Some(ResponseCode::Other { .. })),
            "{code} {args} typed as {typed:?}"
        );
    }
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn huge_rfc822_size_is_kept_raw_and_refused_per_item() {
    let server = serve_one(
        "FETCH",
        "* 1 FETCH (RFC822.SIZE 99999999999999999999999999 UID 9)\r\n\
         * 2 FETCH (RFC822.SIZE 18446744073709551615 UID 10)\r\n"
            .into(),
    );
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let reply = m.fetch("1:2", "(RFC822.SIZE UID)").unwrap();
    assert_eq!(reply.data.len(), 2);
    let decoded = decode_data("FETCH", &reply.data);
    let Ok(Untagged::Fetch(first)) = &decoded[0] else {
        panic!("{decoded:?}");
    };
    assert!(first.has_undecodable(), "{first:?}");
    assert_eq!(first.uid(), Some(9));
    let Ok(Untagged::Fetch(second)) = &decoded[1] else {
        panic!("{decoded:?}");
    };
    assert_eq!(second.uid(), Some(10));
    assert_eq!(m.noop().unwrap().typ, Status::Ok);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn copyuid_and_appenduid_with_huge_ranges_are_not_expanded() {
    let server = Scripted::start(|p| {
        serve_selected(p);
        let cmd = p.expect("COPY");
        p.tagged(&cmd, "OK [COPYUID 7 1:4294967295 1:4294967295] copied");
        let cmd = p.full_command();
        assert_eq!(cmd.name, "APPEND");
        p.line_out(&format!(
            "{} OK [APPENDUID 7 1:4294967295,5,9:12] appended",
            cmd.tag
        ));
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    select_inbox(&mut m);
    let start = Instant::now();
    let reply = m.copy("1:*", "Archive").unwrap();
    let (code, _) = decode_condition_text(reply.data[0].as_bytes().unwrap());
    let Some(ResponseCode::CopyUid { source, dest, .. }) = code else {
        panic!("{code:?}");
    };
    assert_eq!(source.count(0), 4_294_967_295);
    assert_eq!(dest.ranges().len(), 1, "kept as one range");
    let reply = m.append(Some("Archive"), None, None, "x").unwrap();
    let (code, _) = decode_condition_text(reply.data[0].as_bytes().unwrap());
    let Some(ResponseCode::AppendUid { uids, .. }) = code else {
        panic!("{code:?}");
    };
    assert_eq!(uids.ranges().len(), 3);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "ranges were expanded"
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn unknown_tag_aborts() {
    let (err, _) = noop_answered_with(Limits::default(), |tag| {
        format!("* 1 EXISTS\r\nZZZZ{tag} OK forged completion\r\n").into_bytes()
    });
    assert_eq!(err.detail(), Some(ProtoErrorKind::UnknownTag), "{err}");
    assert!(has(err.bytes(), b"forged completion"), "{err}");
}
}

// A tagged OK sent before the command with that tag
// was sent must not complete the command once it is sent (here: LOGIN
// would succeed without the server having seen it).
both! {
fn tagged_ok_for_a_command_not_yet_sent_aborts() {
    let server = Scripted::start(|p| {
        p.line_out("* OK ready");
        let cmd = p.expect("CAPABILITY");
        p.send(format!(
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{} OK done\r\n{} OK [CAPABILITY IMAP4rev1] LOGIN completed\r\n",
            cmd.tag,
            next_tag(&cmd.tag)
        ));
        let _ = p.answer_rest();
    });
    let mut m: Imap4 = connect(&server);
    let result = m.login("user", "pass");
    assert!(
        result
            .as_ref()
            .is_err_and(|e| e.detail() == Some(ProtoErrorKind::UnknownTag)),
        "{CORE_CHANGE}: LOGIN completed by an OK that arrived before it was sent: {result:?}"
    );
    drop(m);
    server.finish();
}
}

both! {
fn responses_for_another_state_do_not_change_state_or_leak() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
        let cmd = p.expect("NOOP");
        // Not authenticated, yet the server talks as if a mailbox were open
        // and as if this were a greeting.
        p.send(
            "* PREAUTH FORGED you are in\r\n* 9 EXISTS\r\n\
             * 1 FETCH (BODY[] {6}\r\nFORGED)\r\n* OK [READ-WRITE] FORGED\r\n",
        );
        p.tagged(&cmd, "OK noop");
        let cmd = p.expect("LOGIN");
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1] in");
        let cmd = p.expect("SELECT");
        p.line_out("* 2 EXISTS");
        p.tagged(&cmd, "OK [READ-WRITE] selected");
        let cmd = p.expect("FETCH");
        p.line_out("* 1 FETCH (UID 4)");
        p.tagged(&cmd, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.noop().unwrap();
    assert_eq!(
        m.state(),
        State::NonAuth,
        "an untagged PREAUTH authenticates nobody"
    );
    m.login("user", "pass").unwrap();
    assert_eq!(m.state(), State::Auth);
    assert_eq!(
        m.select("INBOX", false).unwrap().data,
        vec![Data::from("2")]
    );
    let reply = m.fetch("1", "(UID)").unwrap();
    assert_eq!(reply.data, vec![Data::from("1 (UID 4)")]);
    assert_nothing_forged(&m);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn repeated_bye_is_one_clean_abort() {
    let server = Scripted::start(|p| {
        p.line_out(PREAUTH_GREETING);
        let _cmd = p.expect("NOOP");
        p.send("* BYE first goodbye\r\n* BYE second goodbye\r\n* BYE third goodbye\r\n");
        let _ = p.answer_rest();
    });
    let mut m: Imap4 = connect(&server);
    let err = m.noop().unwrap_err();
    assert!(err.is_abort(), "{err}");
    assert!(err.message().contains("first goodbye"), "{err}");
    assert_eq!(m.state(), State::Logout);
    assert!(m.noop().unwrap_err().is_abort());
    assert!(m.select("INBOX", false).is_err());
    drop(m);
    server.finish();
}
}

/// The server greets with `greeting`; connecting must fail with an abort
/// that carries the server's words or bytes.
fn greeting_refused(greeting: &'static [u8]) -> imaplib::Error {
    let server = Scripted::start(move |p| {
        p.send(greeting);
        let rest = p.read_to_end();
        assert!(!has(&rest, b"LOGIN"), "{:?}", text(&rest));
    });
    let err = Imap4::with_options("127.0.0.1", server.port(), options()).unwrap_err();
    assert!(err.is_abort(), "{:?}: {err}", text(greeting));
    server.finish();
    err
}

both! {
fn greeting_no_is_refused() {
    let err = greeting_refused(b"* NO [UNAVAILABLE] maintenance\r\n");
    assert!(err.message().contains("greeting"), "{err}");
    assert!(has(err.bytes(), b"maintenance"), "{err}");
}
}

both! {
fn greeting_bad_is_refused() {
    let err = greeting_refused(b"* BAD what\r\n");
    assert!(has(err.bytes(), b"* BAD what"), "{err}");
}
}

both! {
fn greeting_bye_is_refused() {
    let err = greeting_refused(b"* BYE too many connections\r\n");
    assert!(err.message().contains("too many connections"), "{err}");
}
}

both! {
fn malformed_greetings_are_refused() {
    for greeting in [
        &b"A1 OK hello\r\n"[..],
        b"+ hello\r\n",
        b"* \r\n",
        b"*OK hello\r\n",
        b"220 smtp.example.org ESMTP\r\n",
        b"\x16\x03\x01\x00\x05hello\r\n",
        b"* 3 EXISTS\r\n",
        b"* OK hello",
    ] {
        greeting_refused(greeting);
    }
}
}

// ---------------------------------------------------------------------------
// Caller arguments

/// Serves a session in which every command is parsed the way a server
/// parses it (literals included) and answered with its decoded arguments
/// sent back as literals in `* ARGS` responses, then OK (NO for LOGIN);
/// `NOOP` ends a step. Returns the commands received between NOOPs.
type Steps = Arc<Mutex<Vec<Vec<(String, Vec<Vec<u8>>)>>>>;

fn echo_server(greeting: &'static str) -> (Scripted, Steps) {
    let steps: Steps = Arc::new(Mutex::new(vec![Vec::new()]));
    let record = steps.clone();
    let server = Scripted::start(move |p| {
        p.line_out(greeting);
        while let Some(cmd) = p.try_full_command() {
            let mut answer = Vec::new();
            for arg in &cmd.args {
                answer.extend_from_slice(format!("* ARGS {{{}}}\r\n", arg.len()).as_bytes());
                answer.extend_from_slice(arg);
                answer.extend_from_slice(b"\r\n");
            }
            match cmd.name.as_str() {
                "LOGOUT" => {
                    p.line_out("* BYE bye");
                    p.line_out(&format!("{} OK LOGOUT completed", cmd.tag));
                    break;
                }
                "NOOP" => record.lock().unwrap().push(Vec::new()),
                _ => {
                    let mut steps = record.lock().unwrap();
                    steps
                        .last_mut()
                        .unwrap()
                        .push((cmd.name.clone(), cmd.args.clone()));
                }
            }
            // LOGIN is refused, so that the next one is legal too.
            let status = if cmd.name == "LOGIN" { "NO" } else { "OK" };
            answer.extend_from_slice(
                format!("{} {status} {} echoed\r\n", cmd.tag, cmd.name).as_bytes(),
            );
            p.send(answer);
        }
    });
    (server, steps)
}

/// Runs `call`, then a NOOP, and returns what the server received for the
/// call: exactly the commands it parsed, so an injected second command
/// shows up as one more entry.
fn received<C: Client>(
    m: &mut C,
    steps: &Steps,
    call: impl FnOnce(&mut C),
) -> Vec<(String, Vec<Vec<u8>>)> {
    m.noop().expect("NOOP before the call");
    call(m);
    m.noop().expect("NOOP after the call");
    let steps = steps.lock().unwrap();
    steps[steps.len() - 2].clone()
}

/// A command refused before anything was sent: the caller gets `error`
/// (not `abort`) and the connection stays usable.
fn refused(result: imaplib::Result<imaplib::Reply>) {
    let err = result.expect_err("must be refused");
    assert_eq!(err.kind(), ErrorKind::Error, "{err}");
}

const INJECTED: &str = "x\r\nA999 DELETE INBOX";

/// A mailbox name as a server reads it: modified UTF-7 (RFC 3501 §5.1.3)
/// decoded, unless UTF8=ACCEPT is on.
fn mailbox_as_read(wire: &[u8], utf8: bool) -> Vec<u8> {
    if utf8 {
        return wire.to_vec();
    }
    utf7::decode(wire)
        .map(String::into_bytes)
        .unwrap_or_else(|e| panic!("not modified UTF-7: {:?}: {e:?}", text(wire)))
}

both! {
fn crlf_in_mailbox_names_is_sent_encoded_or_as_a_literal() {
    // Without UTF8=ACCEPT, CR and LF (not printable ASCII) are encoded in
    // modified UTF-7; with it, the name is sent as a literal. Either way
    // one command per call, and the server reads the exact name.
    for utf8 in [false, true] {
        let (server, steps) =
            echo_server("* PREAUTH [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] ready");
        let mut m: Imap4 = connect(&server);
        if utf8 {
            m.enable("UTF8=ACCEPT").unwrap();
            assert!(m.utf8_enabled());
        }
        let got = received(&mut m, &steps, |m| {
            m.create(INJECTED).unwrap();
            m.rename(INJECTED, "b\rc").unwrap();
            m.subscribe("a\nb").unwrap();
            m.status(INJECTED, "(MESSAGES)").unwrap();
        });
        let names: Vec<(String, Vec<Vec<u8>>)> = got
            .into_iter()
            .map(|(name, args)| {
                let mailboxes = if name == "STATUS" { 1 } else { args.len() };
                let args = args
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        if i < mailboxes {
                            mailbox_as_read(a, utf8)
                        } else {
                            a.clone()
                        }
                    })
                    .collect();
                (name, args)
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("CREATE".into(), vec![INJECTED.into()]),
                ("RENAME".into(), vec![INJECTED.into(), b"b\rc".to_vec()]),
                ("SUBSCRIBE".into(), vec![b"a\nb".to_vec()]),
                (
                    "STATUS".into(),
                    vec![INJECTED.into(), b"(MESSAGES)".to_vec()]
                ),
            ],
            "UTF8=ACCEPT: {utf8}"
        );
        m.logout().unwrap();
        server.finish();
    }
}
}

both! {
fn crlf_in_user_name_and_password_is_sent_as_a_literal() {
    let (server, steps) = echo_server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
    let mut m: Imap4 = connect(&server);
    let got = received(&mut m, &steps, |m| {
        m.login("user\r\nA999 LOGOUT", "pa\r\nss").unwrap_err();
    });
    assert_eq!(
        got,
        vec![(
            "LOGIN".into(),
            vec![b"user\r\nA999 LOGOUT".to_vec(), b"pa\r\nss".to_vec()]
        )]
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn nul_in_mailbox_user_or_password_is_refused_without_sending() {
    let (server, steps) = echo_server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
    let mut m: Imap4 = connect(&server);
    let got = received(&mut m, &steps, |m| {
        refused(m.login("us\0er", "pass"));
        refused(m.login("user", "pa\0ss"));
        refused(m.select("IN\0BOX", false));
        refused(m.create("a\0b"));
    });
    assert!(got.is_empty(), "sent: {got:?}");
    m.logout().unwrap();
    server.finish();
}
}

/// Expressions passed as written (search criteria, flags, fetch items,
/// ID fields, `xatom` arguments) cannot be literals: CR, LF and NUL in them
/// are refused, nothing is sent, and the connection stays usable.
fn expression_refused(call: fn(&mut Imap4) -> imaplib::Result<imaplib::Reply>) {
    let (server, steps) = echo_server(PREAUTH_GREETING);
    let mut m: Imap4 = connect(&server);
    // SEARCH, FETCH and STORE need a selected mailbox.
    m.select("INBOX", false).unwrap();
    let got = received(&mut m, &steps, |m| refused(call(m)));
    assert!(got.is_empty(), "sent: {got:?}");
    m.logout().unwrap();
    server.finish();
}

both! {
fn crlf_or_nul_in_search_criteria_is_refused() {
    expression_refused(|m| m.search(None, ["SUBJECT", "\"x\r\nA999 EXPUNGE\""]));
    expression_refused(|m| m.search(None, ["TEXT hello\nA999 EXPUNGE"]));
    expression_refused(|m| m.search(None, ["SUBJECT \"a\0b\""]));
    expression_refused(|m| m.uid("SEARCH", ["ALL\r\nA999 EXPUNGE"]));
}
}

both! {
fn crlf_or_nul_in_flags_is_refused() {
    expression_refused(|m| m.store("1", "+FLAGS", "(\\Seen)\r\nA999 EXPUNGE"));
    expression_refused(|m| m.store("1", "+FLAGS", "\\Seen\0"));
    expression_refused(|m| m.append(None, Some("\\Seen)\r\n(x"), None, "message"));
}
}

both! {
fn crlf_or_nul_in_fetch_spec_is_refused() {
    expression_refused(|m| m.fetch("1", "(FLAGS)\r\nA999 EXPUNGE"));
    expression_refused(|m| m.fetch("1\r\n", "(FLAGS)"));
    expression_refused(|m| m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT\0)])"));
}
}

both! {
fn crlf_or_nul_in_id_fields_is_refused() {
    expression_refused(|m| m.xatom("ID", ["(\"name\" \"client\r\nA999 EXPUNGE\")"]));
    expression_refused(|m| m.xatom("ID", ["(\"name\" \"client\0\")"]));
}
}

both! {
fn crlf_or_nul_in_raw_xatom_arguments_is_refused() {
    expression_refused(|m| m.xatom("XFOO", ["a\r\nA999 DELETE INBOX"]));
    expression_refused(|m| m.xatom("XFOO", ["a", "b\n"]));
    expression_refused(|m| m.xatom("XFOO", ["a\0"]));
}
}

/// A server that reads lines as they come (no literal handling) and
/// records them; a line that starts with a tag gets `OK` (LOGOUT gets BYE
/// too). Shows exactly the lines a client sent.
fn line_server(greeting: &'static str) -> (Scripted, Arc<Mutex<Vec<Vec<u8>>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let record = lines.clone();
    let server = Scripted::start(move |p| {
        p.line_out(greeting);
        while let Ok(line) = p.try_read_line() {
            if line.is_empty() {
                break;
            }
            record.lock().unwrap().push(line.clone());
            let words: Vec<&[u8]> = line.trim_ascii().splitn(3, |&b| b == b' ').collect();
            if words.len() < 2 {
                continue;
            }
            let (tag, name) = (text(words[0]), text(words[1]).to_ascii_uppercase());
            if name == "LOGOUT" {
                p.line_out("* BYE bye");
            }
            if name == "SELECT" {
                p.line_out("* 1 EXISTS");
            }
            if p.try_send(format!("{tag} OK {name} done\r\n")).is_err() {
                break;
            }
        }
    });
    (server, lines)
}

// The command name of `xatom` is sent as written; CR
// and LF in it start a second command.
both! {
fn crlf_in_xatom_command_name_is_refused() {
    let (server, lines) = line_server(PREAUTH_GREETING);
    let mut m: Imap4 = connect(&server);
    let result = m.xatom("XFOO\r\nA999 DELETE INBOX\r\nXBAR", ["a"]);
    let _ = m.noop();
    let _ = m.logout();
    server.finish();
    let lines = lines.lock().unwrap().clone();
    let sent: Vec<String> = lines
        .iter()
        .map(|l| text(l))
        .filter(|l| !l.contains("NOOP") && !l.contains("LOGOUT"))
        .collect();
    assert!(
        sent.is_empty(),
        "{CORE_CHANGE}: the command name went out as {} line(s): {sent:?}",
        sent.len()
    );
    refused(result);
}
}

// An argument passed as written that ends in a literal
// announcement (`{N}` / `{N+}`) makes the server take the next N bytes the
// client sends (the next command) as data of this one.
both! {
fn raw_argument_ending_in_a_literal_announcement_is_refused() {
    let (server, lines) = line_server(PREAUTH_GREETING);
    let mut m: Imap4 = connect(&server);
    m.select("INBOX", false).unwrap();
    let mut results = Vec::new();
    for arg in ["{12+}", "TEXT {5}", "~{3}"] {
        results.push(format!("{arg}: {:?}", m.search(None, ["ALL", arg])));
    }
    let _ = m.logout();
    server.finish();
    let lines = lines.lock().unwrap().clone();
    let sent: Vec<String> = lines
        .iter()
        .map(|l| text(l))
        .filter(|l| l.contains("SEARCH"))
        .collect();
    assert!(
        sent.is_empty(),
        "{CORE_CHANGE}: arguments ending in a literal announcement were sent: {sent:?} \
         (results: {results:?})"
    );
}
}

both! {
fn quotes_backslashes_8bit_and_10kb_values_round_trip_exactly() {
    let long_plain = "x".repeat(10_000);
    let long_spaced = "word ".repeat(2_000);
    let long_crlf = "line\r\n".repeat(1_500);
    let values: Vec<Vec<u8>> = vec![
        b"a\"b".to_vec(),
        b"back\\slash\\".to_vec(),
        b"\"starts with a quote".to_vec(),
        b"\\\"\\\"".to_vec(),
        "Grüße, 日本語".as_bytes().to_vec(),
        b"\xff\xfe raw 8-bit".to_vec(),
        long_plain.into_bytes(),
        long_spaced.into_bytes(),
        long_crlf.into_bytes(),
        b"".to_vec(),
        b"{5}".to_vec(),
        b"%*".to_vec(),
    ];
    let (server, steps) = echo_server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
    let mut m: Imap4 = connect(&server);
    for value in &values {
        // User name and password: LOGIN's two strings.
        let got = received(&mut m, &steps, |m| {
            let _ = m.login(value, value);
        });
        assert_eq!(
            got,
            vec![("LOGIN".to_string(), vec![value.clone(), value.clone()])],
            "{:?}",
            text(value)
        );
    }
    m.logout().unwrap();
    server.finish();

    // Mailbox names and ACL identifiers, after LOGIN.
    let (server, steps) = echo_server(PREAUTH_GREETING);
    let mut m: Imap4 = connect(&server);
    for value in values
        .iter()
        .filter(|v| std::str::from_utf8(v).is_ok() && v.is_ascii())
    {
        let got = received(&mut m, &steps, |m| {
            m.setacl(value, value, "lr").unwrap();
        });
        let [(name, args)] = &got[..] else {
            panic!("{got:?}");
        };
        assert_eq!(name, "SETACL");
        assert_eq!(
            [
                mailbox_as_read(&args[0], false),
                args[1].clone(),
                args[2].clone()
            ],
            [value.clone(), value.clone(), b"lr".to_vec()],
            "{:?}",
            text(value)
        );
    }
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn mailbox_names_with_tab_dotdot_and_backquotes_come_back_byte_exact() {
    let names: [&[u8]; 6] = [
        b"a\tb",
        b"../../etc/passwd",
        b"`rm -rf ~`",
        b"$(reboot)",
        b"..",
        b"with\ttabs\tand \"quotes\" and \\",
    ];
    let (server, steps) = echo_server(PREAUTH_GREETING);
    let mut m: Imap4 = connect(&server);
    for name in names {
        let got = received(&mut m, &steps, |m| {
            let reply = m.create(name).unwrap();
            assert_eq!(reply.typ, Status::Ok);
            // The server echoed the name as it received it, in a literal;
            // decoded the way a caller decodes names from LIST, it is the
            // name given.
            let (_, echoed) = m.response("ARGS");
            let wire = echoed[0].literal().expect("a literal").clone();
            assert_eq!(
                utf7::decode(&wire).map(String::into_bytes),
                Ok(name.to_vec())
            );
        });
        let [(command, args)] = &got[..] else {
            panic!("{got:?}");
        };
        assert_eq!(command, "CREATE");
        assert_eq!(mailbox_as_read(&args[0], false), name);
    }
    m.logout().unwrap();
    server.finish();
}
}

// ---------------------------------------------------------------------------
// Secrets

/// A `tracing` writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `body` with every `tracing` event at every level captured; returns
/// the captured text.
fn traced(body: impl FnOnce()) -> String {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, body);
    let log = capture.0.lock().unwrap().clone();
    text(&log)
}

both! {
fn trace_at_the_highest_debug_level_never_holds_a_password() {
    let passwords = [
        "pw-quoted-1",
        "pw-literal-2\r\n",
        "pw-8bit-3-é",
        "pw-\"quote\"-4",
    ];
    let server = Scripted::start(move |p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LITERAL+] ready");
        for _ in passwords {
            let cmd = p.full_command();
            assert_eq!(cmd.name, "LOGIN");
            p.line_out(&format!("{} NO [AUTHENTICATIONFAILED] nope", cmd.tag));
        }
        p.logout();
    });
    let log = traced(|| {
        let mut m: Imap4 = connect_with(
            &server,
            Options {
                debug: u8::MAX,
                ..options()
            },
        );
        for pw in passwords {
            assert!(m.login("user", pw).is_err());
        }
        m.logout().unwrap();
    });
    server.finish();
    assert!(log.contains("LOGIN user"), "nothing traced:\n{log}");
    for pw in passwords {
        let core = pw.trim_end();
        assert!(
            !log.contains(core),
            "{core:?} leaked into the trace:\n{log}"
        );
    }
    assert!(!log.contains("pw-"), "part of a password leaked:\n{log}");
}
}

both! {
fn trace_never_holds_authenticate_payloads_or_oauth_tokens() {
    let token = "ya29.OAUTH-TOKEN-SECRET";
    let xoauth2 = format!("user=someone@example.org\x01auth=Bearer {token}\x01\x01");
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=PLAIN AUTH=OAUTHBEARER] ready");
        for _ in 0..2 {
            let cmd = p.command();
            p.line_out("+ ");
            let _answer = p.read_line();
            p.tagged(&cmd, "NO [AUTHENTICATIONFAILED] nope");
        }
        let cmd = p.expect_line("AUTHENTICATE PLAIN");
        p.line_out("+ ");
        let _answer = p.read_line();
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1] in");
        p.logout();
    });
    let log = traced(|| {
        let mut m: Imap4 = connect_with(
            &server,
            Options {
                debug: u8::MAX,
                ..options()
            },
        );
        let payload = xoauth2.clone().into_bytes();
        assert!(m
            .authenticate("XOAUTH2", move |_| Some(payload.clone()))
            .is_err());
        let bearer = format!("n,a=someone@example.org,\x01auth=Bearer {token}\x01\x01");
        assert!(m
            .authenticate("OAUTHBEARER", move |_| Some(bearer.clone().into_bytes()))
            .is_err());
        m.authenticate("PLAIN", |_| Some(b"\0user\0plain-secret-pw".to_vec()))
            .unwrap();
        m.logout().unwrap();
    });
    server.finish();
    assert!(
        log.contains("AUTHENTICATE XOAUTH2"),
        "nothing traced:\n{log}"
    );
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [
        token.to_string(),
        "plain-secret-pw".to_string(),
        b64.encode(&xoauth2),
        b64.encode(b"\0user\0plain-secret-pw"),
    ] {
        assert!(
            !log.contains(&secret),
            "{secret} leaked into the trace:\n{log}"
        );
    }
}
}

// A password that cannot be sent (NUL) is refused; the
// error must say so without quoting the password.
both! {
fn refused_password_is_not_quoted_in_the_error() {
    let (server, _steps) = echo_server("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
    let mut m: Imap4 = connect(&server);
    let err = m.login("user", "TopSecret\0pw").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    let shown = format!("{err} {err:?} {:?}", err.bytes());
    assert!(
        !shown.contains("TopSecret") && !has(err.bytes(), b"TopSecret"),
        "{CORE_CHANGE}: the refused password is quoted in the error: {shown}"
    );
    m.logout().unwrap();
    server.finish();
}
}

// ---------------------------------------------------------------------------
// Framing however the bytes arrive

// A line exactly at the line limit is accepted when
// its CR LF arrives with it, so it must be accepted when the CR and the LF
// arrive in separate reads too (the framer counts the CR against the limit
// while it waits for the LF).
both! {
fn line_at_the_limit_is_accepted_however_it_is_split() {
    use imaplib::imaplib_proto::Framer;
    let limits = Limits {
        max_line: 16,
        ..Limits::default()
    };
    let line = b"* 1 EXISTS      \r\n";
    assert_eq!(line.len(), 16 + 2);
    for cut in 1..line.len() {
        let mut framer = Framer::new(limits);
        framer.feed(&line[..cut]);
        let first = framer.next_frame();
        framer.feed(&line[cut..]);
        let second = framer.next_frame();
        let frame = first
            .and_then(|f| match f {
                Some(f) => Ok(Some(f)),
                None => second,
            })
            .unwrap_or_else(|e| panic!("{CORE_CHANGE}: split after {cut} bytes: {e}"));
        assert_eq!(
            frame.map(|f| f.first_line().to_vec()),
            Some(line[..16].to_vec())
        );
    }
}
}
