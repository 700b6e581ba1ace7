use super::binding::{certificate_signature_hash, server_end_point_of, EndPointHash};
use super::exchange::*;
use super::oauth::*;
use super::plain::*;
use super::scram::*;
use super::*;
use base64::Engine as _;
use sha2::Digest;

fn b64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap()
}

/// RFC 5802 §5.
#[test]
fn scram_sha1_rfc5802_example() {
    let mut m = Scram::sha1("user", "pencil")
        .unwrap()
        .with_client_nonce("fyko+d2lbbFgONRv9qkxdawL")
        .unwrap();
    assert_eq!(m.name(), "SCRAM-SHA-1");
    assert_eq!(
        m.initial_response().unwrap().unwrap(),
        b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
    );
    let final_msg = m
        .step(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
        .unwrap();
    assert_eq!(
        String::from_utf8(final_msg).unwrap(),
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    );
    assert_eq!(m.step(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").unwrap(), b"");
    m.finish(None).unwrap();
}

/// RFC 7677 §3.
#[test]
fn scram_sha256_rfc7677_example() {
    let mut m = Scram::sha256("user", "pencil")
        .unwrap()
        .with_client_nonce("rOprNGfwEbeRWgbNEkqO")
        .unwrap();
    assert_eq!(m.name(), "SCRAM-SHA-256");
    assert_eq!(
        m.initial_response().unwrap().unwrap(),
        b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    );
    let final_msg = m
        .step(
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
              s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        )
        .unwrap();
    assert_eq!(
        String::from_utf8(final_msg).unwrap(),
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
         p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    m.finish(Some(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
        .unwrap();
}

/// RFC 6070 test vectors for PBKDF2-HMAC-SHA1.
#[test]
fn pbkdf2_known_answers() {
    let out = ScramHash::Sha1
        .salted_password(b"password", b"salt", 1)
        .unwrap();
    assert_eq!(hex(&out), "0c60c80f961f0e71f3a9b524af6012062fe037a6");
    let out = ScramHash::Sha1
        .salted_password(b"password", b"salt", 4096)
        .unwrap();
    assert_eq!(hex(&out), "4b007901b765489abead49d926f721d065a429c1");
}

fn started(nonce: &str) -> Scram {
    let mut m = Scram::sha256("user", "pencil")
        .unwrap()
        .with_client_nonce(nonce)
        .unwrap();
    m.initial_response().unwrap();
    m
}

#[test]
fn scram_refuses_a_nonce_that_does_not_extend_ours() {
    for server in [
        "r=other-nonce,s=QSXCR+Q6sek8bf92,i=4096",
        // Equal to ours: not extended.
        "r=abc,s=QSXCR+Q6sek8bf92,i=4096",
        // Shorter.
        "r=ab,s=QSXCR+Q6sek8bf92,i=4096",
    ] {
        let mut m = started("abc");
        assert_eq!(m.step(server.as_bytes()), Err(SaslError::NonceMismatch));
    }
}

#[test]
fn scram_bounds_the_iteration_count() {
    for (count, ok) in [(4095, false), (4096, true), (100_001, false), (0, false)] {
        let mut m = started("abc");
        let r = m.step(format!("r=abcdef,s=QSXCR+Q6sek8bf92,i={count}").as_bytes());
        if ok {
            assert!(r.is_ok(), "{count}: {r:?}");
        } else {
            assert_eq!(
                r,
                Err(SaslError::IterationCount {
                    count,
                    min: 4096,
                    max: 100_000
                })
            );
        }
    }
    // A number too large for u32 is out of bounds too.
    let mut m = started("abc");
    assert!(matches!(
        m.step(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=99999999999999"),
        Err(SaslError::IterationCount { .. })
    ));
    // Configurable; both bounds included.
    for (count, ok) in [(0, false), (1, true), (10, true), (11, false)] {
        let mut m = Scram::sha256("user", "pencil")
            .unwrap()
            .with_client_nonce("abc")
            .unwrap()
            .with_iteration_limits(0, 10);
        m.initial_response().unwrap();
        let r = m.step(format!("r=abcdef,s=QSXCR+Q6sek8bf92,i={count}").as_bytes());
        assert_eq!(r.is_ok(), ok, "{count}: {r:?}");
    }
}

#[test]
fn scram_verifies_the_server_signature() {
    let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                          s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    let good = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    // Wrong signature.
    let mut m = started("rOprNGfwEbeRWgbNEkqO");
    m.step(server_first).unwrap();
    let mut bad = b64(good);
    bad[0] ^= 1;
    let msg = format!("v={}", B64.encode(&bad));
    assert_eq!(m.step(msg.as_bytes()), Err(SaslError::ServerSignature));
    assert_eq!(m.finish(None), Err(SaslError::MissingServerSignature));
    // Not base64, or missing.
    let mut m = started("rOprNGfwEbeRWgbNEkqO");
    m.step(server_first).unwrap();
    assert_eq!(m.step(b"v=!!!"), Err(SaslError::ServerSignature));
    let mut m = started("rOprNGfwEbeRWgbNEkqO");
    m.step(server_first).unwrap();
    assert_eq!(m.step(b"x=1"), Err(SaslError::MissingServerSignature));
    // OK with no server-final at all.
    let mut m = started("rOprNGfwEbeRWgbNEkqO");
    m.step(server_first).unwrap();
    assert_eq!(m.finish(None), Err(SaslError::MissingServerSignature));
    // A server error.
    let mut m = started("rOprNGfwEbeRWgbNEkqO");
    m.step(server_first).unwrap();
    assert_eq!(
        m.step(b"e=invalid-proof"),
        Err(SaslError::Server("invalid-proof".into()))
    );
    // Nothing more after success.
    let mut m = started("rOprNGfwEbeRWgbNEkqO");
    m.step(server_first).unwrap();
    m.step(format!("v={good}").as_bytes()).unwrap();
    m.finish(None).unwrap();
    assert_eq!(m.step(b"more"), Err(SaslError::UnexpectedChallenge));
}

#[test]
fn scram_refuses_malformed_server_first() {
    for server in [
        &b"m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096"[..],
        b"s=QSXCR+Q6sek8bf92,r=abcdef,i=4096",
        b"r=abcdef,s=,i=4096",
        b"r=abcdef,s=***,i=4096",
        b"r=abcdef,s=QSXCR+Q6sek8bf92,i=",
        b"r=abcdef,s=QSXCR+Q6sek8bf92,i=-1",
        b"r=abcdef,s=QSXCR+Q6sek8bf92",
        b"",
        b"\xff\xfe",
    ] {
        let mut m = started("abc");
        let r = m.step(server);
        assert!(
            matches!(r, Err(SaslError::Malformed(_))),
            "{server:?}: {r:?}"
        );
    }
}

#[test]
fn scram_plus_binds_the_tls_exporter() {
    let cb = vec![7u8; 32];
    let mut m = Scram::sha256_plus("user", "pencil", Some(cb.clone()))
        .unwrap()
        .with_client_nonce("abc")
        .unwrap();
    assert_eq!(m.name(), "SCRAM-SHA-256-PLUS");
    assert_eq!(
        m.initial_response().unwrap().unwrap(),
        b"p=tls-exporter,,n=user,r=abc"
    );
    let out = m.step(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
    let mut input = b"p=tls-exporter,,".to_vec();
    input.extend_from_slice(&cb);
    let expect = format!("c={},r=abcdef,p=", B64.encode(&input));
    assert!(String::from_utf8(out).unwrap().starts_with(&expect));
    assert!(matches!(
        Scram::sha256_plus("user", "pencil", None),
        Err(SaslError::ChannelBinding(_))
    ));
    assert!(Scram::sha256("u", "p")
        .unwrap()
        .with_channel_binding(ChannelBinding::TlsExporter(Vec::new()))
        .is_err());
    // `y`: the client could bind, the server offered no -PLUS.
    let mut m = Scram::sha256("user", "pencil")
        .unwrap()
        .with_channel_binding(ChannelBinding::SupportedNotUsed)
        .unwrap()
        .with_client_nonce("abc")
        .unwrap();
    assert_eq!(m.name(), "SCRAM-SHA-256");
    assert_eq!(m.initial_response().unwrap().unwrap(), b"y,,n=user,r=abc");
    let out = m.step(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096").unwrap();
    assert!(out.starts_with(b"c=eSws,r=abcdef,p="));
}

#[test]
fn scram_escapes_the_user_name_and_hides_secrets() {
    let mut m = Scram::sha256("a,b=c", "pencil")
        .unwrap()
        .with_client_nonce("abc")
        .unwrap();
    assert_eq!(
        m.initial_response().unwrap().unwrap(),
        b"n,,n=a=2Cb=3Dc,r=abc"
    );
    let shown = format!("{m:?}");
    assert!(!shown.contains("pencil"), "{shown}");
    let random = Scram::sha256("user", "pencil").unwrap();
    assert_eq!(random.client_nonce.len(), 24);
    assert_ne!(
        random.client_nonce,
        Scram::sha256("user", "pencil").unwrap().client_nonce
    );
    assert!(Scram::sha256("user", "pencil")
        .unwrap()
        .with_client_nonce("a,b")
        .is_err());
    assert!(Scram::sha256("user", "pencil")
        .unwrap()
        .with_client_nonce("")
        .is_err());
}

#[test]
fn saslprep_maps_and_refuses() {
    assert_eq!(saslprep("user").unwrap(), "user");
    assert_eq!(saslprep("I\u{00AD}X").unwrap(), "IX");
    assert_eq!(saslprep("a\u{00A0}b").unwrap(), "a b");
    assert_eq!(saslprep("p\u{00E4}ss").unwrap(), "p\u{00E4}ss");
    // RFC 4013 §3's examples: NFKC normalisation and the bidi rule.
    assert_eq!(saslprep("\u{00AA}").unwrap(), "a");
    assert_eq!(saslprep("\u{2168}").unwrap(), "IX");
    // A decomposed umlaut becomes the composed one the server stored.
    assert_eq!(saslprep("pa\u{0308}ss").unwrap(), "p\u{00E4}ss");
    assert!(matches!(
        saslprep("\u{0627}1"),
        Err(SaslError::BadCredentials(_))
    ));
    for bad in [
        "a\u{0007}b",
        "a\u{007F}",
        "\u{0085}",
        "\u{E000}",
        "\u{FFFF}",
        "\u{1FFFE}",
        "\u{200E}",
        "\u{E0001}",
        "\u{2FF0}",
        "\u{FFFD}",
    ] {
        assert!(
            matches!(saslprep(bad), Err(SaslError::BadCredentials(_))),
            "{bad:?}"
        );
    }
    assert!(Scram::sha256("user", "\u{00AD}").is_err());
    assert!(Scram::sha256("", "pw").is_err());
    assert!(Scram::sha256("us\u{0000}er", "pw").is_err());
}

#[test]
fn plain_with_and_without_authzid() {
    let mut m = Plain::new("tim", "tanstaaftanstaaf").unwrap();
    assert_eq!(
        m.initial_response().unwrap().unwrap(),
        b"\0tim\0tanstaaftanstaaf"
    );
    assert_eq!(m.step(b"x"), Err(SaslError::UnexpectedChallenge));
    // RFC 4616 §4.
    let mut m = Plain::with_authzid(Some("Ursel"), "Kurt", "xipj3plmq").unwrap();
    assert_eq!(
        m.initial_response().unwrap().unwrap(),
        b"Ursel\0Kurt\0xipj3plmq"
    );
    assert!(Plain::new("a\0b", "pw").is_err());
    assert!(Plain::new("user", "p\0w").is_err());
    assert!(Plain::new("", "pw").is_err());
    let shown = format!("{:?}", Plain::new("tim", "tanstaaf").unwrap());
    assert!(!shown.contains("tanstaaf"), "{shown}");
}

#[test]
fn login_and_cram_md5() {
    let mut m = Login::new("user", "pw");
    assert_eq!(m.initial_response().unwrap(), None);
    assert_eq!(m.step(b"Username:").unwrap(), b"user");
    assert_eq!(m.step(b"Password:").unwrap(), b"pw");
    assert_eq!(m.step(b"more"), Err(SaslError::UnexpectedChallenge));
    // RFC 2195 §2.
    let mut m = CramMd5::new("tim", "tanstaaftanstaaf");
    assert_eq!(m.initial_response().unwrap(), None);
    assert_eq!(
        m.step(b"<1896.697170952@postoffice.reston.mci.net>")
            .unwrap(),
        b"tim b913a602c7eda7a495b4e6e7334d3890"
    );
    assert_eq!(m.step(b"again"), Err(SaslError::UnexpectedChallenge));
    assert!(CramMd5::new("tim", "x").step(b"").is_err());
    assert!(!format!("{:?}", Login::new("u", "secretpw")).contains("secretpw"));
}

#[test]
fn xoauth2_format_and_error() {
    let mut m = XOAuth2::new(
        "someuser@example.com",
        "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
    )
    .unwrap();
    assert_eq!(
        m.initial_response().unwrap().unwrap(),
        b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
    );
    assert!(!format!("{m:?}").contains("ya29"));
    let err = br#"{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}"#;
    assert_eq!(m.step(err).unwrap(), b"");
    assert_eq!(
        m.server_error(),
        Some(SaslError::OAuth(OAuthError {
            status: "401".into(),
            scope: Some("https://mail.google.com/".into()),
            openid_configuration: None,
            schemes: Some("bearer mac".into()),
        }))
    );
    assert_eq!(m.step(b"again"), Err(SaslError::UnexpectedChallenge));
    assert!(XOAuth2::new("user", "tok\x01en").is_err());
}

#[test]
fn oauthbearer_format_and_error() {
    // RFC 7628 §4.1.
    let mut m = OAuthBearer::new(
        Some("user@example.com"),
        "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
    )
    .unwrap()
    .with_host("server.example.com", 143)
    .unwrap();
    assert_eq!(
        m.initial_response().unwrap().unwrap(),
        &b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01\
           auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"[..]
    );
    // RFC 7628 §4.3.
    let challenge = br#"{
        "status":"invalid_token",
        "scope":"example_scope",
        "openid-configuration":"https://example.com/.well-known/openid-configuration"
    }"#;
    assert_eq!(m.step(challenge).unwrap(), b"\x01");
    let Some(SaslError::OAuth(e)) = m.server_error() else {
        panic!("no OAuth error")
    };
    assert_eq!(e.status, "invalid_token");
    assert_eq!(e.scope.as_deref(), Some("example_scope"));
    assert_eq!(
        e.openid_configuration.as_deref(),
        Some("https://example.com/.well-known/openid-configuration")
    );
    let mut anonymous = OAuthBearer::new(None, "tok").unwrap();
    assert_eq!(
        anonymous.initial_response().unwrap().unwrap(),
        b"n,,\x01auth=Bearer tok\x01\x01"
    );
    // Garbage in the error challenge: still answered, still reported.
    assert_eq!(anonymous.step(b"not json").unwrap(), b"\x01");
    assert!(matches!(
        anonymous.server_error(),
        Some(SaslError::Malformed(_))
    ));
    let escaped = OAuthBearer::new(Some("a,b=c"), "t")
        .unwrap()
        .initial_response()
        .unwrap()
        .unwrap();
    assert!(escaped.starts_with(b"n,a=a=2Cb=3Dc,\x01"));
}

#[test]
fn json_reader() {
    let e = OAuthError::from_json(
        br#" {"status" : "in\"valid\u00e9\ud83d\ude00\n", "n": -1.5e3, "list": [1, {"a": [true, false, null]}],
             "scope": "a\/b", "o": {}} "#,
    )
    .unwrap();
    assert_eq!(e.status, "in\"valid\u{e9}\u{1F600}\n");
    assert_eq!(e.scope.as_deref(), Some("a/b"));
    for bad in [
        &b""[..],
        b"[]",
        b"{",
        b"{\"a\"}",
        b"{\"a\":}",
        b"{\"a\":\"b\"",
        b"{\"a\":\"b\"} x",
        b"{\"a\":\"\\ud800\"}",
        b"{\"a\":\"\\u12\"}",
        b"{\"a\":\"\x01\"}",
        b"{\"a\":tru}",
        b"{\"a\":\"\xff\"}",
    ] {
        assert!(OAuthError::from_json(bad).is_err(), "{bad:?}");
    }
    // Nesting is bounded (serde_json's recursion limit).
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
    assert!(OAuthError::from_json(deep.as_bytes()).is_err());
    // An HTTP status sent as a number (some XOAUTH2 servers) is kept.
    let e = OAuthError::from_json(br#"{"status":401,"schemes":"Bearer"}"#).unwrap();
    assert_eq!(e.status, "401");
}

#[test]
fn exchange_without_and_with_sasl_ir() {
    use imaplib_proto::Arg;
    let mut m = Plain::new("u", "p").unwrap();
    let (mut ex, cmd) = Exchange::start(&mut m, true).unwrap();
    assert_eq!(cmd.args.len(), 2);
    assert!(matches!(&cmd.args[1], Arg::SecretAtom(b) if &b[..] == b"AHUAcA=="));
    assert_eq!(ex.respond(b"x"), b"*");
    let mut m = Plain::new("u", "p").unwrap();
    let (mut ex, cmd) = Exchange::start(&mut m, false).unwrap();
    assert_eq!(cmd.args.len(), 1);
    assert_eq!(ex.respond(b"Ready"), b"AHUAcA==");
    assert_eq!(ex.respond(b""), b"*");
    let mut m = Login::new("u", "p");
    let (mut ex, cmd) = Exchange::start(&mut m, true).unwrap();
    assert_eq!(cmd.args.len(), 1);
    assert_eq!(ex.respond(b"VXNlcm5hbWU6"), b"dQ==");
    let mut m = Login::new("u", "p");
    let (mut ex, _) = Exchange::start(&mut m, true).unwrap();
    assert_eq!(ex.respond(b"not base64!"), b"*");
    assert!(matches!(ex.cancelled, Some(SaslError::Malformed(_))));
}

struct Named(&'static str);
impl Mechanism for Named {
    fn name(&self) -> &str {
        self.0
    }
    fn initial_response(&mut self) -> SResult<Option<Vec<u8>>> {
        Ok(None)
    }
    fn step(&mut self, _: &[u8]) -> SResult<Vec<u8>> {
        Ok(Vec::new())
    }
    fn finish(&mut self, _: Option<&[u8]>) -> SResult<()> {
        Ok(())
    }
}

#[test]
fn mechanism_names_are_checked() {
    for bad in [
        "",
        "PLAIN X",
        "PLAIN\r\n",
        "A-VERY-LONG-MECHANISM-NAME",
        "caf\u{e9}",
    ] {
        assert!(Exchange::start(&mut Named(bad), false).is_err(), "{bad:?}");
    }
    let (_, cmd) = Exchange::start(&mut Named("x-custom_1"), false).unwrap();
    assert_eq!(cmd.args.len(), 1);
}

/// A certificate shell: an empty TBSCertificate, the algorithm OID
/// (with its length byte), an empty signature.
fn cert_with(oid: &[u8]) -> Vec<u8> {
    let mut algorithm = vec![0x06, oid.len() as u8];
    algorithm.extend_from_slice(oid);
    let mut body = vec![0x30, 0x00, 0x30, algorithm.len() as u8];
    body.extend_from_slice(&algorithm);
    body.extend_from_slice(&[0x03, 0x01, 0x00]);
    let mut cert = vec![0x30, body.len() as u8];
    cert.extend_from_slice(&body);
    cert
}

#[test]
fn server_end_point_hash_follows_the_signature() {
    let pkcs1 = |n: u8| cert_with(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, n]);
    let ecdsa = |n: u8| cert_with(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, n]);
    let hash = |c: &[u8]| certificate_signature_hash(c);
    assert_eq!(hash(&pkcs1(11)), Some(EndPointHash::Sha256));
    assert_eq!(hash(&pkcs1(12)), Some(EndPointHash::Sha384));
    assert_eq!(hash(&pkcs1(13)), Some(EndPointHash::Sha512));
    // MD5 and SHA-1 signatures bind with SHA-256 (RFC 5929 §4.1).
    assert_eq!(hash(&pkcs1(4)), Some(EndPointHash::Sha256));
    assert_eq!(hash(&pkcs1(5)), Some(EndPointHash::Sha256));
    assert_eq!(
        hash(&cert_with(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01])),
        Some(EndPointHash::Sha256)
    );
    assert_eq!(hash(&ecdsa(2)), Some(EndPointHash::Sha256));
    assert_eq!(hash(&ecdsa(3)), Some(EndPointHash::Sha384));
    assert_eq!(hash(&ecdsa(4)), Some(EndPointHash::Sha512));
    // RSA-PSS and Ed25519 name no single hash: no binding.
    assert_eq!(hash(&pkcs1(10)), None);
    assert_eq!(hash(&cert_with(&[0x2b, 0x65, 0x70])), None);
    let cert = ecdsa(3);
    assert_eq!(
        server_end_point_of(&cert),
        Some(sha2::Sha384::digest(&cert).to_vec())
    );
    // Cut short or not DER at all: nothing, and no panic.
    for n in 0..cert.len() {
        assert_eq!(server_end_point_of(&cert[..n]), None, "{n}");
    }
    assert_eq!(
        server_end_point_of(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
        None
    );
    assert_eq!(server_end_point_of(b"not a certificate"), None);
}

#[test]
fn a_refused_binding_type_is_told_from_refused_credentials() {
    let plus = || {
        Scram::sha256("alice", "pw")
            .unwrap()
            .with_channel_binding(ChannelBinding::TlsServerEndPoint(vec![7; 32]))
            .unwrap()
    };
    // Refused right after the client-first message, which names the
    // binding type.
    let mut m = plus();
    assert_eq!(m.name(), "SCRAM-SHA-256-PLUS");
    let first = m.initial_response().unwrap().unwrap();
    assert!(first.starts_with(b"p=tls-server-end-point,,n=alice,r="));
    assert!(m.binding_refused());
    // The server says so in an e= attribute.
    let mut m = plus();
    m.initial_response().unwrap();
    assert!(m.step(b"e=unsupported-channel-binding-type").is_err());
    assert!(m.binding_refused());
    // A mismatch of the data is no refusal of the type.
    let mut m = plus();
    let first = String::from_utf8(m.initial_response().unwrap().unwrap()).unwrap();
    let nonce = first.split(",r=").nth(1).unwrap().to_string();
    m.step(format!("r={nonce}x,s=c2FsdA==,i=4096").as_bytes())
        .unwrap();
    assert!(m.step(b"e=channel-bindings-dont-match").is_err());
    assert!(!m.binding_refused());
    // Refused after the proof (a wrong password): not the binding.
    let mut m = plus();
    let first = String::from_utf8(m.initial_response().unwrap().unwrap()).unwrap();
    let nonce = first.split(",r=").nth(1).unwrap().to_string();
    m.step(format!("r={nonce}x,s=c2FsdA==,i=4096").as_bytes())
        .unwrap();
    assert!(!m.binding_refused());
    // Without binding there is nothing to refuse.
    let mut m = Scram::sha256("alice", "pw").unwrap();
    m.initial_response().unwrap();
    assert!(!m.binding_refused());
}
