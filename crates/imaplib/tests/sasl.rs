//! SASL over AUTHENTICATE: SASL-IR, cancelling with `*`, the SCRAM checks
//! and the OAuth error challenges against scripted servers (with the RFC
//! 7677 vectors on the wire), SCRAM-SHA-256-PLUS with `tls-exporter`
//! channel binding over TLS 1.3, the choices of `login_auto`, and live
//! SCRAM logins to Dovecot over TCP and TLS.

mod support;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use imaplib::sasl::{
    ChannelBinding, Mechanism, OAuthBearer, OAuthError, Plain, SaslError, Scram, XOAuth2,
};
use imaplib::{Error, ErrorKind, Imap4, Options, State, TlsConfig};
use sha2::{Digest, Sha256};
use support::both::Client;
use support::certs::Certs;
use support::dovecot::Dovecot;
use support::scripted::{Cmd, Peer, Scripted};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn options() -> Options {
    Options::with_timeout(Duration::from_secs(5))
}

fn connect<C: Client>(server: &Scripted) -> C {
    C::with_options("127.0.0.1", server.port(), options()).expect("connect")
}

fn tls_options() -> Options {
    Options {
        tls: TlsConfig::new()
            .ca_file(Certs::get().ca_file())
            .only_given_cas(),
        ..options()
    }
}

fn b64(data: impl AsRef<[u8]>) -> String {
    B64.encode(data)
}

fn unb64(line: &[u8]) -> Vec<u8> {
    B64.decode(line.trim_ascii())
        .expect("base64 from the client")
}

/// The SASL error under an imaplib error.
fn sasl_source(err: &Error) -> Option<&SaslError> {
    std::error::Error::source(err)?.downcast_ref::<SaslError>()
}

/// The argument after the mechanism name of an AUTHENTICATE line.
fn initial_response(cmd: &Cmd, mechanism: &str) -> Vec<u8> {
    let args = cmd.args();
    let rest = args
        .strip_prefix(mechanism)
        .and_then(|r| r.strip_prefix(' '))
        .unwrap_or_else(|| panic!("AUTHENTICATE {mechanism} IR expected, got {args:?}"));
    if rest == "=" {
        Vec::new()
    } else {
        unb64(rest.as_bytes())
    }
}

// ---------------------------------------------------------------------------
// A SCRAM-SHA-256 server for scripts

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut u = hmac256(password, &[salt, &1u32.to_be_bytes()].concat());
    let mut out = u.clone();
    for _ in 1..iterations {
        u = hmac256(password, &u);
        out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// How the scripted SCRAM server ends the exchange.
#[derive(Clone, Copy, PartialEq)]
enum ServerEnd {
    /// Proves itself with `v=`, then OK.
    Honest,
    /// Sends OK without any `v=`.
    SkipSignature,
    /// Sends a wrong `v=`.
    WrongSignature,
}

/// Plays the server side of SCRAM-SHA-256 after the client's first message
/// `client_first`: checks the GS2 header and the `c=` binding input
/// (`expected_gs2` followed by `binding`), verifies the client's proof for
/// `password`, and ends as `end` says. Returns the line the client sent last.
fn serve_scram(
    p: &mut Peer,
    cmd: &Cmd,
    client_first: &[u8],
    password: &str,
    expected_gs2: &str,
    binding: &[u8],
    end: ServerEnd,
) -> Vec<u8> {
    let first = String::from_utf8(client_first.to_vec()).unwrap();
    let bare = first
        .strip_prefix(expected_gs2)
        .unwrap_or_else(|| panic!("GS2 header {expected_gs2:?} expected in {first:?}"));
    let client_nonce = bare.split(",r=").nth(1).expect("client nonce");
    let nonce = format!("{client_nonce}+server-part");
    let salt = b"scripted-salt";
    let server_first = format!("r={nonce},s={},i=4096", b64(salt));
    p.line_out(&format!("+ {}", b64(&server_first)));

    let client_final = String::from_utf8(unb64(&p.read_line())).unwrap();
    let (without_proof, proof) = client_final.rsplit_once(",p=").expect("a proof");
    let cbind_input = [expected_gs2.as_bytes(), binding].concat();
    assert_eq!(
        without_proof,
        format!("c={},r={nonce}", b64(&cbind_input)),
        "channel binding or nonce"
    );
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let salted = pbkdf2_sha256(password.as_bytes(), salt, 4096);
    let client_key = hmac256(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key);
    let signature = hmac256(&stored_key, auth_message.as_bytes());
    let expected_proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(k, s)| k ^ s)
        .collect();
    assert_eq!(unb64(proof.as_bytes()), expected_proof, "client proof");

    let mut server_signature = hmac256(&hmac256(&salted, b"Server Key"), auth_message.as_bytes());
    match end {
        ServerEnd::SkipSignature => {
            p.tagged(cmd, "OK [CAPABILITY IMAP4rev1] welcome");
            return Vec::new();
        }
        ServerEnd::WrongSignature => server_signature[0] ^= 0x55,
        ServerEnd::Honest => {}
    }
    p.line_out(&format!(
        "+ {}",
        b64(format!("v={}", b64(&server_signature)))
    ));
    let last = p.read_line();
    if end == ServerEnd::Honest {
        assert_eq!(last, b"\r\n", "empty response to the server-final message");
        p.tagged(cmd, "OK [CAPABILITY IMAP4rev1 IDLE] welcome");
    } else {
        assert_eq!(last, b"*\r\n", "the client must cancel");
        p.tagged(cmd, "BAD AUTHENTICATE cancelled");
    }
    last
}

// ---------------------------------------------------------------------------
// SASL-IR and the plain exchange

both! {
fn sasl_ir_sends_the_initial_response_on_the_command_line() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready");
        let cmd = p.expect("AUTHENTICATE");
        assert_eq!(
            cmd.args(),
            format!("PLAIN {}", b64(b"admin\0alice\0pass word"))
        );
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1 IDLE] logged in");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let mut plain = Plain::with_authzid(Some("admin"), "alice", "pass word").unwrap();
    let reply = m.authenticate_sasl(&mut plain).unwrap();
    assert!(reply.is_ok());
    assert_eq!(m.state(), State::Auth);
    // The capabilities of the OK replace the old ones.
    assert!(m.has_capability("IDLE"));
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn without_sasl_ir_the_initial_response_answers_the_first_challenge() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready");
        let cmd = p.expect_line("AUTHENTICATE PLAIN");
        p.line_out("+ ");
        assert_eq!(unb64(&p.read_line()), b"\0alice\0pw");
        p.tagged(&cmd, "OK logged in");
        // No CAPABILITY in the OK: the client asks.
        let cap = p.expect("CAPABILITY");
        p.line_out("* CAPABILITY IMAP4rev1 IDLE");
        p.tagged(&cap, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.authenticate_sasl(&mut Plain::new("alice", "pw").unwrap())
        .unwrap();
    assert!(m.has_capability("IDLE"));
    m.logout().unwrap();
    server.finish();
}
}

/// A mechanism whose initial response is empty (as EXTERNAL's usually is).
struct EmptyFirst;

impl Mechanism for EmptyFirst {
    fn name(&self) -> &str {
        "X-EMPTY"
    }
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, SaslError> {
        Ok(Some(Vec::new()))
    }
    fn step(&mut self, _: &[u8]) -> Result<Vec<u8>, SaslError> {
        Err(SaslError::UnexpectedChallenge)
    }
    fn finish(&mut self, _: Option<&[u8]>) -> Result<(), SaslError> {
        Ok(())
    }
}

both! {
fn an_empty_initial_response_is_sent_as_equals() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR] ready");
        let cmd = p.expect_line("AUTHENTICATE X-EMPTY =");
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1] in");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    m.authenticate_sasl(&mut EmptyFirst).unwrap();
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn a_refusal_raises_error_and_the_connection_stays_usable() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] ready");
        let cmd = p.expect("AUTHENTICATE");
        p.tagged(&cmd, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        let noop = p.expect("NOOP");
        p.tagged(&noop, "OK done");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .authenticate_sasl(&mut Plain::new("alice", "wrong").unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error, "{err}");
    assert!(err.message().contains("Authentication failed"), "{err}");
    assert_eq!(m.state(), State::NonAuth);
    m.noop().unwrap();
    m.logout().unwrap();
    server.finish();
}
}

// ---------------------------------------------------------------------------
// SCRAM on the wire

// RFC 7677 §3, byte for byte, through the client (no SASL-IR, so the
// client-first message answers an empty challenge).
both! {
fn scram_sha256_rfc7677_exchange_on_the_wire() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 AUTH=SCRAM-SHA-256] ready");
        let cmd = p.expect_line("AUTHENTICATE SCRAM-SHA-256");
        p.line_out("+ ");
        assert_eq!(unb64(&p.read_line()), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        p.line_out(&format!(
            "+ {}",
            b64("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        ));
        assert_eq!(
            unb64(&p.read_line()),
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
              p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        p.line_out(&format!(
            "+ {}",
            b64("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        ));
        assert_eq!(p.read_line(), b"\r\n");
        p.tagged(&cmd, "OK [CAPABILITY IMAP4rev1] welcome");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let mut scram = Scram::sha256("user", "pencil")
        .unwrap()
        .with_client_nonce("rOprNGfwEbeRWgbNEkqO")
        .unwrap();
    m.authenticate_sasl(&mut scram).unwrap();
    assert_eq!(m.state(), State::Auth);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn scram_nonce_not_extending_ours_is_cancelled_with_a_star() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready");
        let cmd = p.expect("AUTHENTICATE");
        let first = initial_response(&cmd, "SCRAM-SHA-256");
        assert!(first.starts_with(b"n,,n=alice,r="));
        p.line_out(&format!(
            "+ {}",
            b64("r=someone-elses-nonce,s=c2FsdA==,i=4096")
        ));
        assert_eq!(p.read_line(), b"*\r\n");
        p.tagged(&cmd, "BAD Authentication aborted by client.");
        let noop = p.expect("NOOP");
        p.tagged(&noop, "OK still here");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .authenticate_sasl(&mut Scram::sha256("alice", "pw").unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error, "{err}");
    assert_eq!(sasl_source(&err), Some(&SaslError::NonceMismatch), "{err}");
    assert!(err.message().contains("cancelled"), "{err}");
    // The exchange is over; the connection goes on.
    m.noop().unwrap();
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn scram_iteration_count_out_of_bounds_is_cancelled() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-1] ready");
        let cmd = p.expect("AUTHENTICATE");
        let first = String::from_utf8(initial_response(&cmd, "SCRAM-SHA-1")).unwrap();
        let nonce = first.split(",r=").nth(1).unwrap();
        p.line_out(&format!(
            "+ {}",
            b64(format!("r={nonce}xyz,s=c2FsdA==,i=10000000"))
        ));
        assert_eq!(p.read_line(), b"*\r\n");
        p.tagged(&cmd, "BAD cancelled");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .authenticate_sasl(&mut Scram::sha1("alice", "pw").unwrap())
        .unwrap_err();
    assert_eq!(
        sasl_source(&err),
        Some(&SaslError::IterationCount {
            count: 10_000_000,
            min: 4096,
            max: 100_000
        }),
        "{err}"
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn scram_wrong_server_signature_is_cancelled() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready");
        let cmd = p.expect("AUTHENTICATE");
        let first = initial_response(&cmd, "SCRAM-SHA-256");
        serve_scram(p, &cmd, &first, "pw", "n,,", b"", ServerEnd::WrongSignature);
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .authenticate_sasl(&mut Scram::sha256("alice", "pw").unwrap())
        .unwrap_err();
    assert_eq!(
        sasl_source(&err),
        Some(&SaslError::ServerSignature),
        "{err}"
    );
    assert_eq!(m.state(), State::NonAuth);
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn scram_ok_without_server_signature_is_an_abort() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready");
        let cmd = p.expect("AUTHENTICATE");
        let first = initial_response(&cmd, "SCRAM-SHA-256");
        serve_scram(p, &cmd, &first, "pw", "n,,", b"", ServerEnd::SkipSignature);
        // Nothing more may be sent to a server that did not prove itself.
        let rest = p.read_to_end();
        assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .authenticate_sasl(&mut Scram::sha256("alice", "pw").unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort, "{err}");
    assert_eq!(
        sasl_source(&err),
        Some(&SaslError::MissingServerSignature),
        "{err}"
    );
    assert!(m.noop().is_err());
    drop(m);
    server.finish();
}
}

both! {
fn scram_server_error_is_reported() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready");
        let cmd = p.expect("AUTHENTICATE");
        let first = String::from_utf8(initial_response(&cmd, "SCRAM-SHA-256")).unwrap();
        let nonce = first.split(",r=").nth(1).unwrap();
        p.line_out(&format!(
            "+ {}",
            b64(format!("r={nonce}xyz,s=c2FsdA==,i=4096"))
        ));
        let _final = p.read_line();
        p.line_out(&format!("+ {}", b64("e=invalid-proof")));
        assert_eq!(p.read_line(), b"*\r\n");
        p.tagged(&cmd, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .authenticate_sasl(&mut Scram::sha256("alice", "wrong").unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert_eq!(
        sasl_source(&err),
        Some(&SaslError::Server("invalid-proof".into()))
    );
    m.logout().unwrap();
    server.finish();
}
}

// Nothing secret in a trace at the highest debug level: not the password,
// not the initial response, not the client proof.
both! {
fn scram_secrets_stay_out_of_traces() {
    let sent = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let record = Arc::clone(&sent);
    let server = Scripted::start(move |p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready");
        let cmd = p.expect("AUTHENTICATE");
        let first = initial_response(&cmd, "SCRAM-SHA-256");
        record.lock().unwrap().push(cmd.line.clone());
        serve_scram(p, &cmd, &first, "pencil-pw", "n,,", b"", ServerEnd::Honest);
        p.logout();
    });
    let log = traced(|| {
        let mut m = Imap4::with_options(
            "127.0.0.1",
            server.port(),
            Options {
                debug: u8::MAX,
                ..options()
            },
        )
        .unwrap();
        let mut scram = Scram::sha256("alice", "pencil-pw").unwrap();
        assert!(!format!("{scram:?}").contains("pencil"));
        m.authenticate_sasl(&mut scram).unwrap();
        m.logout().unwrap();
    });
    server.finish();
    assert!(
        log.contains("AUTHENTICATE SCRAM-SHA-256"),
        "nothing traced:\n{log}"
    );
    let line = String::from_utf8(sent.lock().unwrap()[0].clone()).unwrap();
    let initial = line.rsplit(' ').next().unwrap().to_string();
    for secret in ["pencil", &initial] {
        assert!(!log.contains(secret), "{secret} leaked:\n{log}");
    }
}
}

// ---------------------------------------------------------------------------
// OAuth error challenges

both! {
fn oauthbearer_error_challenge_is_decoded_and_answered_with_0x01() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER] ready");
        let cmd = p.expect("AUTHENTICATE");
        assert_eq!(
            initial_response(&cmd, "OAUTHBEARER"),
            b"n,a=user@example.com,\x01host=imap.example.com\x01port=993\x01\
              auth=Bearer expired-token\x01\x01"
        );
        p.line_out(&format!(
            "+ {}",
            b64(r#"{"status":"invalid_token","scope":"mail imap","openid-configuration":"https://example.com/.well-known/openid-configuration"}"#)
        ));
        assert_eq!(unb64(&p.read_line()), b"\x01");
        p.tagged(&cmd, "NO [AUTHENTICATIONFAILED] token refused");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let mut bearer = OAuthBearer::new(Some("user@example.com"), "expired-token")
        .unwrap()
        .with_host("imap.example.com", 993)
        .unwrap();
    let err = m.authenticate_sasl(&mut bearer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error, "{err}");
    assert!(err.message().contains("token refused"), "{err}");
    assert!(err.message().contains("invalid_token"), "{err}");
    assert_eq!(
        sasl_source(&err),
        Some(&SaslError::OAuth(OAuthError {
            status: "invalid_token".into(),
            scope: Some("mail imap".into()),
            openid_configuration: Some(
                "https://example.com/.well-known/openid-configuration".into()
            ),
            schemes: None,
        }))
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn xoauth2_error_challenge_gets_an_empty_response() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready");
        let cmd = p.expect("AUTHENTICATE");
        assert_eq!(
            initial_response(&cmd, "XOAUTH2"),
            b"user=someone@example.org\x01auth=Bearer ya29.token\x01\x01"
        );
        p.line_out(&format!(
            "+ {}",
            b64(r#"{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}"#)
        ));
        assert_eq!(p.read_line(), b"\r\n");
        p.tagged(
            &cmd,
            "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
        );
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m
        .authenticate_sasl(&mut XOAuth2::new("someone@example.org", "ya29.token").unwrap())
        .unwrap_err();
    let Some(SaslError::OAuth(e)) = sasl_source(&err) else {
        panic!("no OAuth error in {err}");
    };
    assert_eq!(e.status, "400");
    assert_eq!(e.scope.as_deref(), Some("https://mail.google.com/"));
    m.logout().unwrap();
    server.finish();
}
}

// ---------------------------------------------------------------------------
// SCRAM-SHA-256-PLUS over TLS 1.3

both! {
fn scram_sha256_plus_binds_the_tls_exporter() {
    let server = Scripted::start_tls(Certs::get().good.clone(), |p| {
        p.line_out(
            "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS] ready",
        );
        let binding = p
            .tls_exporter(b"EXPORTER-Channel-Binding", 32)
            .expect("TLS on the server side");
        let cmd = p.expect("AUTHENTICATE");
        let first = initial_response(&cmd, "SCRAM-SHA-256-PLUS");
        serve_scram(
            p,
            &cmd,
            &first,
            "pw",
            "p=tls-exporter,,",
            &binding,
            ServerEnd::Honest,
        );
        p.logout();
    });
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    let binding = m.channel_binding().expect("TLS 1.3 channel binding");
    assert_eq!(binding.len(), 32);
    assert_eq!(m.channel_binding(), Some(binding), "stable per connection");
    m.login_auto("alice", "pw").unwrap();
    assert_eq!(m.state(), State::Auth);
    m.logout().unwrap();
    server.finish();
}
}

// Binding data that is not this connection's (what a client behind a
// man in the middle would have) reaches the server, which can refuse it.
both! {
fn scram_plus_sends_the_binding_data_it_is_given() {
    let server = Scripted::start_tls(Certs::get().good.clone(), |p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256-PLUS] ready");
        let binding = p.tls_exporter(b"EXPORTER-Channel-Binding", 32).unwrap();
        let cmd = p.expect("AUTHENTICATE");
        let first = String::from_utf8(initial_response(&cmd, "SCRAM-SHA-256-PLUS")).unwrap();
        assert!(first.starts_with("p=tls-exporter,,n=alice,r="), "{first}");
        let nonce = first.split(",r=").nth(1).unwrap();
        p.line_out(&format!(
            "+ {}",
            b64(format!("r={nonce}xyz,s=c2FsdA==,i=4096"))
        ));
        let client_final = String::from_utf8(unb64(&p.read_line())).unwrap();
        let c = client_final.split(',').next().unwrap();
        let got = unb64(c.strip_prefix("c=").unwrap().as_bytes());
        assert_eq!(&got[..16], b"p=tls-exporter,,");
        assert_eq!(&got[16..], &[9u8; 32][..]);
        assert_ne!(&got[16..], &binding[..]);
        p.tagged(&cmd, "NO [AUTHENTICATIONFAILED] channel binding mismatch");
        p.logout();
    });
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    let mut scram = Scram::sha256_plus("alice", "pw", Some(vec![9u8; 32])).unwrap();
    let err = m.authenticate_sasl(&mut scram).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error, "{err}");
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn scram_over_tls_without_plus_offer_sends_the_y_flag() {
    let server = Scripted::start_tls(Certs::get().good.clone(), |p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=SCRAM-SHA-256] ready");
        let cmd = p.expect("AUTHENTICATE");
        let first = initial_response(&cmd, "SCRAM-SHA-256");
        serve_scram(p, &cmd, &first, "pw", "y,,", b"", ServerEnd::Honest);
        p.logout();
    });
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    m.login_auto("alice", "pw").unwrap();
    m.logout().unwrap();
    server.finish();
}
}

// ---------------------------------------------------------------------------
// A server that refuses the binding type (Cyrus IMAP 3.6 over TLS 1.3)

/// Cyrus's answer to a `-PLUS` client-first message whose binding type it
/// does not implement.
const CYRUS_REFUSAL: &str = "NO bad protocol / cancel";

/// Greets like Cyrus over TLS 1.3, refuses `p=tls-exporter`, then serves
/// what comes next with `next`.
fn cyrus_like(caps: &'static str, next: impl FnOnce(&mut Peer) + Send + 'static) -> Scripted {
    Scripted::start_tls(Certs::get().good.clone(), move |p| {
        p.line_out(&format!(
            "* OK [CAPABILITY IMAP4rev1 SASL-IR {caps}] Cyrus IMAP 3.6 ready"
        ));
        let cmd = p.expect("AUTHENTICATE");
        let first = String::from_utf8(initial_response(&cmd, "SCRAM-SHA-256-PLUS")).unwrap();
        assert!(first.starts_with("p=tls-exporter,,n=alice,r="), "{first}");
        p.tagged(&cmd, CYRUS_REFUSAL);
        next(p);
    })
}

both! {
fn login_auto_retries_without_binding_when_the_binding_type_is_refused() {
    let server = cyrus_like(
        "AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS AUTH=PLAIN",
        |p| {
            // The same hash, no binding, and `n`: the client no longer
            // claims to bind, so the server sees no downgrade.
            let cmd = p.expect("AUTHENTICATE");
            let first = initial_response(&cmd, "SCRAM-SHA-256");
            serve_scram(p, &cmd, &first, "pw", "n,,", b"", ServerEnd::Honest);
            p.logout();
        },
    );
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    let log = traced(|| {
        m.login_auto("alice", "pw").unwrap();
    });
    assert_eq!(m.state(), State::Auth);
    assert!(
        log.contains("login_auto: SCRAM-SHA-256-PLUS with tls-exporter binding"),
        "{log}"
    );
    assert!(
        log.contains("refused SCRAM-SHA-256-PLUS with tls-exporter binding")
            && log.contains("trying SCRAM-SHA-256 without channel binding"),
        "{log}"
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn login_auto_retries_only_once_and_only_with_an_offered_mechanism() {
    // Wrong password: the retry is refused too, and nothing else is tried
    // (not SCRAM-SHA-1, not PLAIN).
    let server = cyrus_like(
        "AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS AUTH=PLAIN",
        |p| {
            let cmd = p.expect("AUTHENTICATE");
            initial_response(&cmd, "SCRAM-SHA-256");
            p.tagged(&cmd, "NO [AUTHENTICATIONFAILED] invalid credentials");
            p.logout();
        },
    );
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    let err = m.login_auto("alice", "wrong").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("invalid credentials"), "{err}");
    m.logout().unwrap();
    server.finish();

    // SCRAM-SHA-256 itself not offered: no retry at all.
    let server = cyrus_like("AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-1", |p| p.logout());
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    let err = m.login_auto("alice", "pw").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("bad protocol"), "{err}");
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn a_refused_proof_is_not_retried_without_binding() {
    // The server took the binding type and refused the proof: that is the
    // password (or a man in the middle), never a reason to unbind.
    let server = Scripted::start_tls(Certs::get().good.clone(), |p| {
        p.line_out(
            "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS] ready",
        );
        let cmd = p.expect("AUTHENTICATE");
        let first = String::from_utf8(initial_response(&cmd, "SCRAM-SHA-256-PLUS")).unwrap();
        let nonce = first.split(",r=").nth(1).unwrap();
        p.line_out(&format!(
            "+ {}",
            b64(format!("r={nonce}xyz,s=c2FsdA==,i=4096"))
        ));
        p.read_line();
        p.line_out(&format!("+ {}", b64("e=channel-bindings-dont-match")));
        assert_eq!(p.read_line(), b"*\r\n");
        p.tagged(&cmd, "NO authentication failed");
        p.logout();
    });
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    let err = m.login_auto("alice", "pw").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(
        err.message().contains("channel-bindings-dont-match"),
        "{err}"
    );
    m.logout().unwrap();
    server.finish();
}
}

both! {
fn tls12_binds_with_the_server_certificate() {
    // No exporter under TLS 1.2: tls-server-end-point, the SHA-256 of the
    // server's certificate (signed with ECDSA-SHA256).
    let cert = Certs::get().good_cert_der();
    let expected = Sha256::digest(&cert).to_vec();
    let server_binding = expected.clone();
    let server = Scripted::start_tls(Certs::get().good_tls12.clone(), move |p| {
        p.line_out(
            "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS] ready",
        );
        let cmd = p.expect("AUTHENTICATE");
        let first = initial_response(&cmd, "SCRAM-SHA-256-PLUS");
        serve_scram(
            p,
            &cmd,
            &first,
            "pw",
            "p=tls-server-end-point,,",
            &server_binding,
            ServerEnd::Honest,
        );
        p.logout();
    });
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.port(), tls_options()).unwrap();
    assert_eq!(m.channel_binding(), None, "no tls-exporter under TLS 1.2");
    assert_eq!(m.tls_server_end_point(), Some(expected));
    m.login_auto("alice", "pw").unwrap();
    assert_eq!(m.state(), State::Auth);
    m.logout().unwrap();
    server.finish();
}
}

// ---------------------------------------------------------------------------
// login_auto's choices over plaintext

/// Starts a server announcing `caps`, runs `login_auto` and returns what
/// the client sent as its first command after the greeting (the server
/// refuses it), or `None` when the client sent nothing but LOGOUT.
fn first_login_command(caps: &'static str) -> (Option<String>, imaplib::Result<imaplib::Reply>) {
    let seen = Arc::new(Mutex::new(None));
    let record = Arc::clone(&seen);
    let server = Scripted::start(move |p| {
        p.line_out(&format!("* OK [CAPABILITY IMAP4rev1 {caps}] ready"));
        let cmd = p.command();
        if cmd.name == "LOGOUT" {
            p.line_out("* BYE bye");
            p.tagged(&cmd, "OK bye");
            return;
        }
        *record.lock().unwrap() = Some(String::from_utf8_lossy(&cmd.line).into_owned());
        p.tagged(&cmd, "NO [AUTHENTICATIONFAILED] refused by the test");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let result = m.login_auto("alice", "pw");
    m.logout().unwrap();
    server.finish();
    let line = seen.lock().unwrap().take();
    let after_tag = line.map(|l| l.split_once(' ').unwrap().1.to_string());
    (after_tag, result)
}

both! {
fn login_auto_picks_the_strongest_mechanism() {
    let choice = |caps| first_login_command(caps).0.unwrap();
    let name = |line: String| line.split(' ').take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(
        name(choice(
            "SASL-IR AUTH=PLAIN AUTH=SCRAM-SHA-1 AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-256-PLUS"
        )),
        "AUTHENTICATE SCRAM-SHA-256",
        "no -PLUS without TLS"
    );
    let line = choice("SASL-IR AUTH=PLAIN AUTH=SCRAM-SHA-1");
    assert_eq!(name(line.clone()), "AUTHENTICATE SCRAM-SHA-1");
    let ir = unb64(line.rsplit(' ').next().unwrap().as_bytes());
    assert!(ir.starts_with(b"n,,n=alice,r="), "no binding without TLS");
    assert_eq!(
        choice("SASL-IR AUTH=PLAIN AUTH=CRAM-MD5"),
        format!("AUTHENTICATE PLAIN {}", b64(b"\0alice\0pw"))
    );
    assert_eq!(choice("AUTH=CRAM-MD5"), "LOGIN alice \"pw\"");
    // The SCRAM mechanisms keep the password off the wire even here.
    assert_eq!(
        name(choice("LOGINDISABLED AUTH=SCRAM-SHA-256")),
        "AUTHENTICATE SCRAM-SHA-256"
    );
}
}

both! {
fn login_auto_never_sends_a_cleartext_password_under_logindisabled() {
    for caps in [
        "LOGINDISABLED AUTH=PLAIN",
        "LOGINDISABLED",
        "STARTTLS LOGINDISABLED AUTH=LOGIN",
    ] {
        let (sent, result) = first_login_command(caps);
        assert_eq!(sent, None, "{caps}");
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Error);
        assert!(err.message().contains("LOGINDISABLED"), "{err}");
    }
}
}

both! {
fn login_auto_refuses_unusable_credentials_before_sending() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] ready");
        p.logout();
    });
    let mut m: Imap4 = connect(&server);
    let err = m.login_auto("alice", "bell\u{7}").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error);
    assert!(err.message().contains("SASLprep"), "{err}");
    assert!(!err.message().contains("bell"), "{err}");
    m.logout().unwrap();
    server.finish();
}
}

// ---------------------------------------------------------------------------
// The async client

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_runs_scram_and_cancels() {
    let server = Scripted::start(|p| {
        p.line_out("* OK [CAPABILITY IMAP4rev1 AUTH=SCRAM-SHA-256] ready");
        // First: a nonce that is not ours; the client cancels.
        let cmd = p.expect_line("AUTHENTICATE SCRAM-SHA-256");
        p.line_out("+ ");
        let _first = p.read_line();
        p.line_out(&format!("+ {}", b64("r=not-ours,s=c2FsdA==,i=4096")));
        assert_eq!(p.read_line(), b"*\r\n");
        p.tagged(&cmd, "BAD cancelled");
        // Then the full exchange.
        let cmd = p.expect_line("AUTHENTICATE SCRAM-SHA-256");
        p.line_out("+ ");
        let first = unb64(&p.read_line());
        serve_scram(p, &cmd, &first, "pw", "n,,", b"", ServerEnd::Honest);
        p.logout();
    });
    let mut m = imaplib::AsyncImap4::with_options("127.0.0.1", server.port(), options())
        .await
        .unwrap();
    let err = m
        .authenticate_sasl(&mut Scram::sha256("alice", "pw").unwrap())
        .await
        .unwrap_err();
    assert_eq!(sasl_source(&err), Some(&SaslError::NonceMismatch));
    m.login_auto("alice", "pw").await.unwrap();
    assert_eq!(m.state(), State::Auth);
    assert!(m.channel_binding().is_none());
    m.logout().await.unwrap();
    server.finish();
}

// ---------------------------------------------------------------------------
// Live against Dovecot

fn dovecot_options(server: &Dovecot) -> Options {
    Options {
        tls: TlsConfig::new().ca_file(&server.ca_file),
        ..Options::with_timeout(Duration::from_secs(20))
    }
}

/// Waits until Dovecot's log shows `count` logins of `user` (at most 5 s)
/// and returns the mechanism of the last one.
fn logged_method(server: &Dovecot, user: &str, count: usize) -> String {
    let needle = format!("Login: user=<{user}>, method=");
    for _ in 0..50 {
        let log = server.log();
        let logins: Vec<&str> = log.lines().filter(|l| l.contains(&needle)).collect();
        if logins.len() >= count {
            let line = logins[count - 1];
            let rest = &line[line.find(&needle).unwrap() + needle.len()..];
            return rest.split(',').next().unwrap_or_default().to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("not {count} logins of {user} in the log:\n{}", server.log());
}

both! {
fn dovecot_scram_sha256_over_plain_tcp_and_tls() {
    let server = Dovecot::start();
    let options = dovecot_options(&server);

    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, options.clone()).unwrap();
    assert!(
        m.has_capability("AUTH=SCRAM-SHA-256"),
        "{:?}",
        m.capabilities()
    );
    assert!(m.channel_binding().is_none());
    m.authenticate_sasl(&mut Scram::sha256("alice", "alicepw").unwrap())
        .unwrap();
    assert_eq!(m.state(), State::Auth);
    m.select("INBOX", false).unwrap();
    m.logout().unwrap();
    assert_eq!(logged_method(&server, "alice", 1), "SCRAM-SHA-256");

    let mut m = Imap4::ssl_with_options("127.0.0.1", server.imaps_port, options.clone()).unwrap();
    assert_eq!(m.channel_binding().map(|b| b.len()), Some(32));
    m.authenticate_sasl(&mut Scram::sha256("bob", "bobpw").unwrap())
        .unwrap();
    m.select("INBOX", false).unwrap();
    m.logout().unwrap();
    assert_eq!(logged_method(&server, "bob", 1), "SCRAM-SHA-256");

    // SCRAM-SHA-1 too, and a wrong password is an `error`.
    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, options).unwrap();
    let err = m
        .authenticate_sasl(&mut Scram::sha1("alice", "wrong").unwrap())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Error, "{err}");
    m.authenticate_sasl(&mut Scram::sha1("alice", "alicepw").unwrap())
        .unwrap();
    m.logout().unwrap();
    assert_eq!(logged_method(&server, "alice", 2), "SCRAM-SHA-1");
}
}

both! {
fn dovecot_login_auto_chooses_scram() {
    let server = Dovecot::start();
    let options = dovecot_options(&server);
    // Over TLS 1.3: Dovecot offers no -PLUS, so SCRAM-SHA-256 with the
    // `y` flag, which Dovecot accepts.
    let mut m = Imap4::ssl_with_options("127.0.0.1", server.imaps_port, options.clone()).unwrap();
    assert!(!m.has_capability("AUTH=SCRAM-SHA-256-PLUS"));
    m.login_auto("bob", "bobpw").unwrap();
    assert_eq!(m.state(), State::Auth);
    m.logout().unwrap();
    assert_eq!(logged_method(&server, "bob", 1), "SCRAM-SHA-256");

    // Over plain TCP.
    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, options.clone()).unwrap();
    m.login_auto("alice", "alicepw").unwrap();
    m.logout().unwrap();
    assert_eq!(logged_method(&server, "alice", 1), "SCRAM-SHA-256");

    // After STARTTLS.
    let mut m = Imap4::with_options("127.0.0.1", server.imap_port, options).unwrap();
    m.starttls(None).unwrap();
    m.login_auto("alice", "alicepw").unwrap();
    m.noop().unwrap();
    m.logout().unwrap();
    assert_eq!(logged_method(&server, "alice", 2), "SCRAM-SHA-256");
}
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_async_login_auto_over_tls() {
    let server = Dovecot::start();
    let mut m = imaplib::AsyncImap4::ssl_with_options(
        "127.0.0.1",
        server.imaps_port,
        dovecot_options(&server),
    )
    .await
    .unwrap();
    assert_eq!(m.channel_binding().map(|b| b.len()), Some(32));
    m.login_auto("alice", "alicepw").await.unwrap();
    assert_eq!(m.state(), State::Auth);
    let reply = m.select("INBOX", false).await.unwrap();
    assert!(reply.is_ok());
    m.logout().await.unwrap();
    assert_eq!(logged_method(&server, "alice", 1), "SCRAM-SHA-256");
}

// ---------------------------------------------------------------------------
// Trace capture

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
    String::from_utf8_lossy(&log).into_owned()
}

both! {
fn channel_binding_data_is_not_shown() {
    let shown = format!("{:?}", ChannelBinding::TlsExporter(vec![1, 2, 3]));
    assert_eq!(shown, "TlsExporter(3 bytes)");
}
}
