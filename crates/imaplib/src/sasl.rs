//! SASL authentication (RFC 4422) for IMAP's AUTHENTICATE command (RFC 3501
//! §6.2.2, RFC 9051 §6.2.2), with an initial response on the command line
//! where the server announces SASL-IR (RFC 4959).
//!
//! Each mechanism is a sans-IO state machine implementing [`Mechanism`]: it
//! is given decoded challenges and returns raw responses; the clients do the
//! base64 and the I/O ([`crate::Imap4::authenticate_sasl`],
//! [`crate::Imap4::login_auto`] and their async twins).
//!
//! | mechanism | type | specification |
//! |---|---|---|
//! | `PLAIN` | [`Plain`] | RFC 4616 |
//! | `LOGIN` | [`Login`] | draft-murchison-sasl-login |
//! | `CRAM-MD5` | [`CramMd5`] | RFC 2195 |
//! | `XOAUTH2` | [`XOAuth2`] | Google's and Microsoft's XOAUTH2 protocol |
//! | `OAUTHBEARER` | [`OAuthBearer`] | RFC 7628 |
//! | `SCRAM-SHA-1`, `SCRAM-SHA-256` | [`Scram`] | RFC 5802, RFC 7677 |
//! | `SCRAM-SHA-1-PLUS`, `SCRAM-SHA-256-PLUS` | [`Scram`] with [`ChannelBinding::TlsExporter`] or [`ChannelBinding::TlsServerEndPoint`] | RFC 5802, RFC 9266, RFC 5929 |
//!
//! Passwords and tokens never appear in `Debug` output, in errors, or in
//! protocol traces (responses are sent as secrets).
//!
//! ```no_run
//! use imaplib::sasl::Scram;
//!
//! let mut m = imaplib::Imap4::ssl("imap.example.org", 993)?;
//! let mut scram = Scram::sha256("user", "password")?;
//! m.authenticate_sasl(&mut scram)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use imaplib_proto::command::build;
use imaplib_proto::{Command, ProtoError, Reply, Session};
use sha2::Digest;

use crate::error::{Error, Result};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Fewest SCRAM iterations accepted by default (RFC 7677 §4: at least 4096).
pub const DEFAULT_MIN_ITERATIONS: u32 = 4096;
/// Most SCRAM iterations accepted by default: a larger count from a server
/// would make the client spend seconds of CPU per login.
pub const DEFAULT_MAX_ITERATIONS: u32 = 100_000;

/// The TLS exporter label of the `tls-exporter` channel binding (RFC 9266 §2).
pub const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";
/// Length of the `tls-exporter` channel-binding data (RFC 9266 §2).
pub const TLS_EXPORTER_LEN: usize = 32;

// ----- the mechanism interface ------------------------------------------------

/// A SASL mechanism, client side, as a state machine without I/O.
///
/// The client calls [`Mechanism::initial_response`] once before sending
/// AUTHENTICATE, [`Mechanism::step`] for each server challenge (decoded from
/// base64), and [`Mechanism::finish`] when the server says OK. An error from
/// any of them cancels the exchange (the client answers `*`) or, from
/// `finish`, means the server was not verified.
pub trait Mechanism: Send {
    /// The mechanism's name as sent in AUTHENTICATE (`SCRAM-SHA-256`).
    fn name(&self) -> &str;

    /// The client's first message, for mechanisms that speak first (RFC
    /// 4422 §5): sent on the command line under SASL-IR, else as the answer
    /// to the server's first (empty) challenge. `Ok(None)` for mechanisms
    /// where the server speaks first (LOGIN, CRAM-MD5).
    fn initial_response(&mut self) -> std::result::Result<Option<Vec<u8>>, SaslError>;

    /// The response to a server challenge.
    fn step(&mut self, challenge: &[u8]) -> std::result::Result<Vec<u8>, SaslError>;

    /// Called when the server accepted the authentication, with the
    /// additional data of the success, if the protocol carried any (IMAP
    /// sends it as a last challenge instead, so this is usually `None`). A
    /// mechanism that authenticates the server (SCRAM) fails here when the
    /// server never proved itself.
    fn finish(&mut self, final_data: Option<&[u8]>) -> std::result::Result<(), SaslError>;

    /// What the server explained in a challenge before refusing (the JSON
    /// error of OAUTHBEARER and XOAUTH2); attached to the error the client
    /// raises on the refusal.
    fn server_error(&self) -> Option<SaslError> {
        None
    }
}

/// Why a SASL exchange failed on the client side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslError {
    /// A user name, password or token cannot be used (a prohibited
    /// character, a separator of the mechanism's format, an empty password).
    BadCredentials(String),
    /// The server's challenge does not follow the mechanism's format.
    Malformed(String),
    /// The server sent a challenge where the mechanism expects none.
    UnexpectedChallenge,
    /// SCRAM: the server's nonce does not extend the client's.
    NonceMismatch,
    /// SCRAM: the server asked for an iteration count outside the bounds.
    IterationCount {
        /// The count the server sent.
        count: u32,
        /// Fewest accepted.
        min: u32,
        /// Most accepted.
        max: u32,
    },
    /// SCRAM: the server's signature (`v=`) is wrong: it does not know the
    /// password, or someone is in the middle.
    ServerSignature,
    /// SCRAM: the server accepted without sending its signature.
    MissingServerSignature,
    /// SCRAM: the server reported an error (`e=`, RFC 5802 §7).
    Server(String),
    /// SCRAM-PLUS: no usable channel binding.
    ChannelBinding(String),
    /// The server's OAuth error (OAUTHBEARER, XOAUTH2).
    OAuth(OAuthError),
    /// The OS random source failed.
    Random(String),
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslError::BadCredentials(why) => write!(f, "unusable credentials: {why}"),
            SaslError::Malformed(why) => write!(f, "malformed server challenge: {why}"),
            SaslError::UnexpectedChallenge => f.write_str("unexpected server challenge"),
            SaslError::NonceMismatch => {
                f.write_str("the server's nonce does not extend the client's nonce")
            }
            SaslError::IterationCount { count, min, max } => write!(
                f,
                "the server asked for {count} iterations, outside the accepted {min}..={max}"
            ),
            SaslError::ServerSignature => {
                f.write_str("the server's signature is wrong: the server is not verified")
            }
            SaslError::MissingServerSignature => {
                f.write_str("the server accepted without proving it knows the password")
            }
            SaslError::Server(e) => write!(f, "the server reported an error: {e}"),
            SaslError::ChannelBinding(why) => write!(f, "channel binding: {why}"),
            SaslError::OAuth(e) => write!(f, "{e}"),
            SaslError::Random(why) => write!(f, "no random numbers: {why}"),
        }
    }
}

impl std::error::Error for SaslError {}

type SResult<T> = std::result::Result<T, SaslError>;

// ----- SASLprep -------------------------------------------------------------------

/// A minimal SASLprep (RFC 4013) of a user name or password.
///
/// Done: the mapping step (non-ASCII spaces, table C.1.2 of RFC 3454, become
/// U+0020; characters "commonly mapped to nothing", table B.1, are removed)
/// and the prohibition step (tables C.1.2 after mapping, C.2.1 and C.2.2
/// control characters, C.3 private use, C.4 non-characters, C.6, C.7, C.8
/// and C.9 are refused; C.5 surrogates cannot occur in a Rust string).
///
/// Not done: NFKC normalisation, the bidirectional-text check and the
/// refusal of unassigned code points. A string that is not already in NFKC
/// is used as given, which is what a server that does not normalise (many
/// do not) compares against; for ASCII strings the result is exactly
/// SASLprep's.
pub fn saslprep(input: &str) -> SResult<String> {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if is_non_ascii_space(c) {
            out.push(' ');
        } else if !is_mapped_to_nothing(c) {
            if let Some(table) = prohibited(c) {
                return Err(SaslError::BadCredentials(format!(
                    "character U+{:04X} is prohibited by SASLprep ({table})",
                    u32::from(c)
                )));
            }
            out.push(c);
        }
    }
    Ok(out)
}

/// RFC 3454 table C.1.2.
fn is_non_ascii_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200B}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

/// RFC 3454 table B.1.
fn is_mapped_to_nothing(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{1806}'
            | '\u{180B}'..='\u{180D}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

/// The RFC 3454 table that prohibits `c`, if any.
fn prohibited(c: char) -> Option<&'static str> {
    let n = u32::from(c);
    let table = match c {
        '\u{0}'..='\u{1F}' | '\u{7F}' => "C.2.1 ASCII control",
        '\u{80}'..='\u{9F}'
        | '\u{06DD}'
        | '\u{070F}'
        | '\u{180E}'
        | '\u{200C}'
        | '\u{200D}'
        | '\u{2028}'
        | '\u{2029}'
        | '\u{2060}'..='\u{2063}'
        | '\u{206A}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFC}'
        | '\u{1D173}'..='\u{1D17A}' => "C.2.2 non-ASCII control",
        '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}' => {
            "C.3 private use"
        }
        '\u{FDD0}'..='\u{FDEF}' => "C.4 non-character",
        _ if n & 0xFFFE == 0xFFFE => "C.4 non-character",
        '\u{FFFD}' => "C.6 inappropriate for plain text",
        '\u{2FF0}'..='\u{2FFB}' => "C.7 inappropriate for canonical representation",
        '\u{0340}' | '\u{0341}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' => {
            "C.8 change display properties"
        }
        '\u{E0001}' | '\u{E0020}'..='\u{E007F}' => "C.9 tagging",
        _ => return None,
    };
    Some(table)
}

// ----- PLAIN, LOGIN, CRAM-MD5 ----------------------------------------------------

/// A password or token, kept out of `Debug` output.
#[derive(Clone)]
struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// PLAIN (RFC 4616): `authzid NUL authcid NUL password` in one message.
/// The server prepares the strings (RFC 4616 §2); the client sends them as
/// given, refusing NUL.
#[derive(Debug, Clone)]
pub struct Plain {
    authzid: String,
    user: String,
    password: Secret,
    sent: bool,
}

impl Plain {
    /// PLAIN as `user` with `password`, no authorization identity.
    pub fn new(user: &str, password: &str) -> SResult<Plain> {
        Self::with_authzid(None, user, password)
    }

    /// PLAIN acting as `authzid` (when given and non-empty), authenticated
    /// as `user` with `password`.
    pub fn with_authzid(authzid: Option<&str>, user: &str, password: &str) -> SResult<Plain> {
        let authzid = authzid.unwrap_or_default();
        for (what, value) in [
            ("the authorization identity", authzid),
            ("the user name", user),
            ("the password", password),
        ] {
            if value.contains('\0') {
                return Err(SaslError::BadCredentials(format!("{what} contains NUL")));
            }
        }
        if user.is_empty() {
            return Err(SaslError::BadCredentials("the user name is empty".into()));
        }
        Ok(Plain {
            authzid: authzid.to_string(),
            user: user.to_string(),
            password: Secret(password.as_bytes().to_vec()),
            sent: false,
        })
    }
}

impl Mechanism for Plain {
    fn name(&self) -> &str {
        "PLAIN"
    }

    fn initial_response(&mut self) -> SResult<Option<Vec<u8>>> {
        let mut out = Vec::with_capacity(self.authzid.len() + self.user.len() + 2);
        out.extend_from_slice(self.authzid.as_bytes());
        out.push(0);
        out.extend_from_slice(self.user.as_bytes());
        out.push(0);
        out.extend_from_slice(&self.password.0);
        self.sent = true;
        Ok(Some(out))
    }

    fn step(&mut self, _challenge: &[u8]) -> SResult<Vec<u8>> {
        Err(SaslError::UnexpectedChallenge)
    }

    fn finish(&mut self, _final_data: Option<&[u8]>) -> SResult<()> {
        Ok(())
    }
}

/// LOGIN (draft-murchison-sasl-login): the user name, then the password,
/// each in answer to a server prompt.
#[derive(Debug, Clone)]
pub struct Login {
    user: String,
    password: Secret,
    steps: u8,
}

impl Login {
    /// LOGIN as `user` with `password`.
    pub fn new(user: &str, password: &str) -> Login {
        Login {
            user: user.to_string(),
            password: Secret(password.as_bytes().to_vec()),
            steps: 0,
        }
    }
}

impl Mechanism for Login {
    fn name(&self) -> &str {
        "LOGIN"
    }

    fn initial_response(&mut self) -> SResult<Option<Vec<u8>>> {
        Ok(None)
    }

    fn step(&mut self, _challenge: &[u8]) -> SResult<Vec<u8>> {
        self.steps += 1;
        match self.steps {
            1 => Ok(self.user.as_bytes().to_vec()),
            2 => Ok(self.password.0.clone()),
            _ => Err(SaslError::UnexpectedChallenge),
        }
    }

    fn finish(&mut self, _final_data: Option<&[u8]>) -> SResult<()> {
        Ok(())
    }
}

/// CRAM-MD5 (RFC 2195): `user HMAC-MD5(password, challenge)` in hex.
#[derive(Debug, Clone)]
pub struct CramMd5 {
    user: String,
    password: Secret,
    answered: bool,
}

impl CramMd5 {
    /// CRAM-MD5 as `user` with `password`.
    pub fn new(user: &str, password: &str) -> CramMd5 {
        CramMd5 {
            user: user.to_string(),
            password: Secret(password.as_bytes().to_vec()),
            answered: false,
        }
    }
}

impl Mechanism for CramMd5 {
    fn name(&self) -> &str {
        "CRAM-MD5"
    }

    fn initial_response(&mut self) -> SResult<Option<Vec<u8>>> {
        Ok(None)
    }

    fn step(&mut self, challenge: &[u8]) -> SResult<Vec<u8>> {
        if self.answered {
            return Err(SaslError::UnexpectedChallenge);
        }
        if challenge.is_empty() {
            return Err(SaslError::Malformed("empty CRAM-MD5 challenge".into()));
        }
        self.answered = true;
        let digest = hmac_bytes::<Hmac<md5::Md5>>(&self.password.0, &[challenge])?;
        let mut out = self.user.as_bytes().to_vec();
        out.push(b' ');
        out.extend_from_slice(hex(&digest).as_bytes());
        Ok(out)
    }

    fn finish(&mut self, _final_data: Option<&[u8]>) -> SResult<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ----- OAuth: XOAUTH2 and OAUTHBEARER ---------------------------------------------

/// The error a server reports in an OAuth challenge (RFC 7628 §3.2.2), as a
/// JSON object such as `{"status":"invalid_token","scope":"mail",
/// "openid-configuration":"https://example.com/.well-known/openid-configuration"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthError {
    /// `status`: an RFC 6749 error code (`invalid_token`) or, from XOAUTH2
    /// servers, an HTTP status (`401`). Empty when missing.
    pub status: String,
    /// `scope`: the scope a token needs.
    pub scope: Option<String>,
    /// `openid-configuration`: where to discover the authorization server.
    pub openid_configuration: Option<String>,
    /// `schemes` (XOAUTH2): the token schemes the server accepts.
    pub schemes: Option<String>,
}

impl OAuthError {
    /// Decodes the server's JSON error challenge.
    pub fn from_json(challenge: &[u8]) -> SResult<OAuthError> {
        let members = json::object_strings(challenge).map_err(|why| {
            SaslError::Malformed(format!("the OAuth error is not a JSON object: {why}"))
        })?;
        let mut e = OAuthError::default();
        for (key, value) in members {
            match key.as_str() {
                "status" => e.status = value,
                "scope" => e.scope = Some(value),
                "openid-configuration" => e.openid_configuration = Some(value),
                "schemes" => e.schemes = Some(value),
                _ => {}
            }
        }
        Ok(e)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OAuth error status {:?}", self.status)?;
        if let Some(scope) = &self.scope {
            write!(f, ", scope {scope:?}")?;
        }
        if let Some(conf) = &self.openid_configuration {
            write!(f, ", openid-configuration {conf:?}")?;
        }
        Ok(())
    }
}

fn check_token_part(what: &str, value: &str) -> SResult<()> {
    if value.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(SaslError::BadCredentials(format!(
            "{what} contains a control character"
        )));
    }
    Ok(())
}

/// The server's OAuth error challenge: decoded and remembered; the answer
/// is `answer` (what each mechanism must send so the server can finish).
fn oauth_error_step(
    failure: &mut Option<SaslError>,
    challenge: &[u8],
    answer: &[u8],
) -> SResult<Vec<u8>> {
    if failure.is_some() {
        return Err(SaslError::UnexpectedChallenge);
    }
    *failure = Some(match OAuthError::from_json(challenge) {
        Ok(e) => SaslError::OAuth(e),
        Err(e) => e,
    });
    Ok(answer.to_vec())
}

/// XOAUTH2 (Google, Microsoft): `user=USER ^A auth=Bearer TOKEN ^A ^A`. On
/// failure the server sends a JSON error as a challenge; the client answers
/// with an empty response and the error is kept ([`Mechanism::server_error`]).
#[derive(Debug, Clone)]
pub struct XOAuth2 {
    user: String,
    token: Secret,
    failure: Option<SaslError>,
}

impl XOAuth2 {
    /// XOAUTH2 as `user` with the OAuth 2.0 access token `token`.
    pub fn new(user: &str, token: &str) -> SResult<XOAuth2> {
        check_token_part("the user name", user)?;
        check_token_part("the token", token)?;
        Ok(XOAuth2 {
            user: user.to_string(),
            token: Secret(token.as_bytes().to_vec()),
            failure: None,
        })
    }
}

impl Mechanism for XOAuth2 {
    fn name(&self) -> &str {
        "XOAUTH2"
    }

    fn initial_response(&mut self) -> SResult<Option<Vec<u8>>> {
        let mut out = format!("user={}\x01auth=Bearer ", self.user).into_bytes();
        out.extend_from_slice(&self.token.0);
        out.extend_from_slice(b"\x01\x01");
        Ok(Some(out))
    }

    fn step(&mut self, challenge: &[u8]) -> SResult<Vec<u8>> {
        oauth_error_step(&mut self.failure, challenge, b"")
    }

    fn finish(&mut self, _final_data: Option<&[u8]>) -> SResult<()> {
        Ok(())
    }

    fn server_error(&self) -> Option<SaslError> {
        self.failure.clone()
    }
}

/// OAUTHBEARER (RFC 7628): a GS2 header with the optional authorization
/// identity, then `host`, `port` and `auth=Bearer TOKEN` key-value pairs.
/// On failure the server sends a JSON error as a challenge; the client
/// answers with the single byte `0x01` (RFC 7628 §3.2.3) and the error is
/// kept ([`Mechanism::server_error`]).
#[derive(Debug, Clone)]
pub struct OAuthBearer {
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    token: Secret,
    failure: Option<SaslError>,
}

impl OAuthBearer {
    /// OAUTHBEARER with the bearer token `token`, acting as `user` when
    /// given (the GS2 `a=` authorization identity, which most servers want).
    pub fn new(user: Option<&str>, token: &str) -> SResult<OAuthBearer> {
        if let Some(u) = user {
            check_token_part("the user name", u)?;
        }
        check_token_part("the token", token)?;
        Ok(OAuthBearer {
            user: user.map(str::to_string),
            host: None,
            port: None,
            token: Secret(token.as_bytes().to_vec()),
            failure: None,
        })
    }

    /// Adds the `host` and `port` pairs (the server the client connected
    /// to), which some servers check.
    pub fn with_host(mut self, host: &str, port: u16) -> SResult<OAuthBearer> {
        check_token_part("the host name", host)?;
        self.host = Some(host.to_string());
        self.port = Some(port);
        Ok(self)
    }
}

impl Mechanism for OAuthBearer {
    fn name(&self) -> &str {
        "OAUTHBEARER"
    }

    fn initial_response(&mut self) -> SResult<Option<Vec<u8>>> {
        let mut out = String::from("n,");
        if let Some(user) = &self.user {
            out.push_str("a=");
            out.push_str(&saslname(user));
        }
        out.push_str(",\x01");
        if let Some(host) = &self.host {
            out.push_str(&format!("host={host}\x01"));
        }
        if let Some(port) = self.port {
            out.push_str(&format!("port={port}\x01"));
        }
        out.push_str("auth=Bearer ");
        let mut out = out.into_bytes();
        out.extend_from_slice(&self.token.0);
        out.extend_from_slice(b"\x01\x01");
        Ok(Some(out))
    }

    fn step(&mut self, challenge: &[u8]) -> SResult<Vec<u8>> {
        oauth_error_step(&mut self.failure, challenge, b"\x01")
    }

    fn finish(&mut self, _final_data: Option<&[u8]>) -> SResult<()> {
        Ok(())
    }

    fn server_error(&self) -> Option<SaslError> {
        self.failure.clone()
    }
}

/// A tiny reader for the one JSON shape SASL servers send: an object whose
/// interesting members are strings. Other values are skipped; nesting is
/// bounded.
mod json {
    const MAX_DEPTH: usize = 16;

    type JResult<T> = std::result::Result<T, &'static str>;

    /// The string-valued members of a JSON object, in order.
    pub(super) fn object_strings(input: &[u8]) -> JResult<Vec<(String, String)>> {
        let mut p = Parser { s: input, i: 0 };
        p.ws();
        let mut out = Vec::new();
        p.object(0, Some(&mut out))?;
        p.ws();
        if p.i != p.s.len() {
            return Err("trailing bytes after the object");
        }
        Ok(out)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }

        fn ws(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                self.i += 1;
            }
        }

        fn eat(&mut self, b: u8) -> JResult<()> {
            if self.peek() == Some(b) {
                self.i += 1;
                Ok(())
            } else {
                Err("unexpected character")
            }
        }

        fn object(
            &mut self,
            depth: usize,
            mut out: Option<&mut Vec<(String, String)>>,
        ) -> JResult<()> {
            if depth > MAX_DEPTH {
                return Err("nested too deeply");
            }
            self.eat(b'{')?;
            self.ws();
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Ok(());
            }
            loop {
                self.ws();
                let key = self.string()?;
                self.ws();
                self.eat(b':')?;
                self.ws();
                if self.peek() == Some(b'"') {
                    let value = self.string()?;
                    if let Some(out) = out.as_deref_mut() {
                        out.push((key, value));
                    }
                } else {
                    self.skip_value(depth + 1)?;
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        return Ok(());
                    }
                    _ => return Err("expected ',' or '}'"),
                }
            }
        }

        fn array(&mut self, depth: usize) -> JResult<()> {
            if depth > MAX_DEPTH {
                return Err("nested too deeply");
            }
            self.eat(b'[')?;
            self.ws();
            if self.peek() == Some(b']') {
                self.i += 1;
                return Ok(());
            }
            loop {
                self.ws();
                self.skip_value(depth + 1)?;
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b']') => {
                        self.i += 1;
                        return Ok(());
                    }
                    _ => return Err("expected ',' or ']'"),
                }
            }
        }

        fn skip_value(&mut self, depth: usize) -> JResult<()> {
            match self.peek() {
                Some(b'"') => self.string().map(drop),
                Some(b'{') => self.object(depth, None),
                Some(b'[') => self.array(depth),
                Some(b't') => self.word(b"true"),
                Some(b'f') => self.word(b"false"),
                Some(b'n') => self.word(b"null"),
                Some(b'-' | b'0'..=b'9') => {
                    let start = self.i;
                    while matches!(
                        self.peek(),
                        Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                    ) {
                        self.i += 1;
                    }
                    if self.i == start {
                        Err("bad number")
                    } else {
                        Ok(())
                    }
                }
                _ => Err("expected a value"),
            }
        }

        fn word(&mut self, w: &[u8]) -> JResult<()> {
            if self.s[self.i..].starts_with(w) {
                self.i += w.len();
                Ok(())
            } else {
                Err("bad literal")
            }
        }

        fn hex4(&mut self) -> JResult<u32> {
            let digits = self.s.get(self.i..self.i + 4).ok_or("short \\u escape")?;
            if !digits.iter().all(u8::is_ascii_hexdigit) {
                return Err("bad \\u escape");
            }
            let text = std::str::from_utf8(digits).map_err(|_| "bad \\u escape")?;
            let n = u32::from_str_radix(text, 16).map_err(|_| "bad \\u escape")?;
            self.i += 4;
            Ok(n)
        }

        fn string(&mut self) -> JResult<String> {
            self.eat(b'"')?;
            let mut out: Vec<u8> = Vec::new();
            loop {
                let b = self.peek().ok_or("unterminated string")?;
                self.i += 1;
                match b {
                    b'"' => break,
                    b'\\' => {
                        let e = self.peek().ok_or("unterminated escape")?;
                        self.i += 1;
                        let c = match e {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let hi = self.hex4()?;
                                let code = if (0xD800..0xDC00).contains(&hi) {
                                    if !self.s[self.i..].starts_with(b"\\u") {
                                        return Err("lone surrogate");
                                    }
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err("bad surrogate pair");
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    hi
                                };
                                char::from_u32(code).ok_or("bad \\u escape")?
                            }
                            _ => return Err("bad escape"),
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    0..=0x1f => return Err("control character in a string"),
                    _ => out.push(b),
                }
            }
            String::from_utf8(out).map_err(|_| "string is not UTF-8")
        }
    }
}

// ----- SCRAM ------------------------------------------------------------------------

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    /// SHA-1 (RFC 5802).
    Sha1,
    /// SHA-256 (RFC 7677).
    Sha256,
}

impl ScramHash {
    fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> SResult<Vec<u8>> {
        match self {
            ScramHash::Sha1 => hmac_bytes::<Hmac<sha1::Sha1>>(key, parts),
            ScramHash::Sha256 => hmac_bytes::<Hmac<sha2::Sha256>>(key, parts),
        }
    }

    /// `Hi(password, salt, i)` (RFC 5802 §2.2): PBKDF2 with HMAC, one block.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> SResult<Vec<u8>> {
        match self {
            ScramHash::Sha1 => pbkdf2_one_block::<Hmac<sha1::Sha1>>(password, salt, iterations),
            ScramHash::Sha256 => pbkdf2_one_block::<Hmac<sha2::Sha256>>(password, salt, iterations),
        }
    }
}

fn hmac_bytes<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> SResult<Vec<u8>> {
    let mut mac = <M as KeyInit>::new_from_slice(key)
        .map_err(|_| SaslError::BadCredentials("unusable HMAC key".into()))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

/// PBKDF2 (RFC 8018 §5.2) with the HMAC `M`, output one hash long.
fn pbkdf2_one_block<M: Mac + KeyInit + Clone>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> SResult<Vec<u8>> {
    let prf = <M as KeyInit>::new_from_slice(password)
        .map_err(|_| SaslError::BadCredentials("unusable password".into()))?;
    let mut mac = prf.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u = mac.finalize().into_bytes();
    let mut out = u.to_vec();
    for _ in 1..iterations {
        let mut mac = prf.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes();
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    Ok(out)
}

/// Equal contents, compared in time that does not depend on where they
/// differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `saslname` (RFC 5802 §7): `,` and `=` escaped as `=2C` and `=3D`.
fn saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// The channel binding a SCRAM exchange uses (RFC 5802 §6, RFC 9266).
#[derive(Clone, PartialEq, Eq, Default)]
pub enum ChannelBinding {
    /// No channel binding: the GS2 flag `n` (the client cannot bind, e.g.
    /// no TLS).
    #[default]
    None,
    /// The client could bind but the server does not offer a `-PLUS`
    /// mechanism: the GS2 flag `y`, so that a server that does support
    /// binding detects that its `-PLUS` offer was stripped.
    SupportedNotUsed,
    /// `tls-exporter` channel binding (RFC 9266) with this data, which the
    /// mechanism name then ends in `-PLUS`. The data is the TLS exporter's
    /// output ([`TLS_EXPORTER_LABEL`], no context, [`TLS_EXPORTER_LEN`]
    /// bytes): see [`crate::Imap4::channel_binding`].
    TlsExporter(Vec<u8>),
    /// `tls-server-end-point` channel binding (RFC 5929 §4) with this data:
    /// the hash of the server's certificate (see
    /// [`crate::Imap4::tls_server_end_point`]). The mechanism name then ends
    /// in `-PLUS`. Servers that predate RFC 9266 offer this one.
    TlsServerEndPoint(Vec<u8>),
}

impl ChannelBinding {
    /// The channel-binding type's name as SCRAM sends it (`tls-exporter`),
    /// or `None` when nothing is bound.
    pub fn type_name(&self) -> Option<&'static str> {
        match self {
            ChannelBinding::None | ChannelBinding::SupportedNotUsed => None,
            ChannelBinding::TlsExporter(_) => Some("tls-exporter"),
            ChannelBinding::TlsServerEndPoint(_) => Some("tls-server-end-point"),
        }
    }

    fn data(&self) -> Option<&[u8]> {
        match self {
            ChannelBinding::None | ChannelBinding::SupportedNotUsed => None,
            ChannelBinding::TlsExporter(d) | ChannelBinding::TlsServerEndPoint(d) => Some(d),
        }
    }
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelBinding::None => f.write_str("None"),
            ChannelBinding::SupportedNotUsed => f.write_str("SupportedNotUsed"),
            ChannelBinding::TlsExporter(d) => write!(f, "TlsExporter({} bytes)", d.len()),
            ChannelBinding::TlsServerEndPoint(d) => {
                write!(f, "TlsServerEndPoint({} bytes)", d.len())
            }
        }
    }
}

enum ScramState {
    /// Nothing sent yet.
    Start,
    /// The client-first message was produced.
    FirstSent { client_first_bare: String },
    /// The client-final message was produced; the server must prove it
    /// knows the password with this signature.
    FinalSent { server_signature: Vec<u8> },
    /// The server's signature was verified.
    Verified,
    /// The exchange failed; nothing more is answered.
    Failed,
}

/// SCRAM (RFC 5802) with SHA-1 or SHA-256 (RFC 7677), optionally with
/// `tls-exporter` (RFC 9266) or `tls-server-end-point` (RFC 5929) channel
/// binding (the `-PLUS` mechanisms).
///
/// The client nonce comes from the OS random source unless given
/// ([`Scram::with_client_nonce`]); the server's nonce must extend it; the
/// iteration count must lie within bounds ([`Scram::with_iteration_limits`],
/// default [`DEFAULT_MIN_ITERATIONS`]..=[`DEFAULT_MAX_ITERATIONS`]); the
/// server's signature (`v=`) is verified, and an OK without it is an error.
/// The user name and password go through [`saslprep`].
pub struct Scram {
    hash: ScramHash,
    name: String,
    user: String,
    password: Secret,
    binding: ChannelBinding,
    client_nonce: String,
    min_iterations: u32,
    max_iterations: u32,
    state: ScramState,
    /// The server's `e=` error, if it sent one.
    server_said: Option<String>,
}

impl fmt::Debug for Scram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scram")
            .field("name", &self.name)
            .field("user", &self.user)
            .field("binding", &self.binding)
            .field("min_iterations", &self.min_iterations)
            .field("max_iterations", &self.max_iterations)
            .finish_non_exhaustive()
    }
}

impl Scram {
    /// SCRAM with `hash`, as `user` with `password`, no channel binding.
    pub fn new(hash: ScramHash, user: &str, password: &str) -> SResult<Scram> {
        let user = saslprep(user)?;
        let password = saslprep(password)?;
        if user.is_empty() {
            return Err(SaslError::BadCredentials("the user name is empty".into()));
        }
        if password.is_empty() {
            return Err(SaslError::BadCredentials("the password is empty".into()));
        }
        Ok(Scram {
            hash,
            name: hash.mechanism().to_string(),
            user,
            password: Secret(password.into_bytes()),
            binding: ChannelBinding::None,
            client_nonce: random_nonce()?,
            min_iterations: DEFAULT_MIN_ITERATIONS,
            max_iterations: DEFAULT_MAX_ITERATIONS,
            state: ScramState::Start,
            server_said: None,
        })
    }

    /// SCRAM-SHA-1 (RFC 5802).
    pub fn sha1(user: &str, password: &str) -> SResult<Scram> {
        Self::new(ScramHash::Sha1, user, password)
    }

    /// SCRAM-SHA-256 (RFC 7677).
    pub fn sha256(user: &str, password: &str) -> SResult<Scram> {
        Self::new(ScramHash::Sha256, user, password)
    }

    /// SCRAM-SHA-256-PLUS with `tls-exporter` channel binding (RFC 9266).
    /// `binding` is the TLS exporter output
    /// ([`crate::Imap4::channel_binding`]); `None` (no TLS 1.3) is an error.
    pub fn sha256_plus(user: &str, password: &str, binding: Option<Vec<u8>>) -> SResult<Scram> {
        let data = binding.ok_or_else(|| {
            SaslError::ChannelBinding(
                "no tls-exporter data: the connection does not run over TLS 1.3".into(),
            )
        })?;
        Self::sha256(user, password)?.with_channel_binding(ChannelBinding::TlsExporter(data))
    }

    /// Sets the channel binding; [`ChannelBinding::TlsExporter`] and
    /// [`ChannelBinding::TlsServerEndPoint`] turn the mechanism into its
    /// `-PLUS` variant. Empty binding data is refused.
    pub fn with_channel_binding(mut self, binding: ChannelBinding) -> SResult<Scram> {
        self.name = self.hash.mechanism().to_string();
        if let (Some(kind), Some(data)) = (binding.type_name(), binding.data()) {
            if data.is_empty() {
                return Err(SaslError::ChannelBinding(format!(
                    "the {kind} data is empty"
                )));
            }
            self.name.push_str("-PLUS");
        }
        self.binding = binding;
        Ok(self)
    }

    /// The hash function.
    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// The channel binding in use.
    pub fn channel_binding(&self) -> &ChannelBinding {
        &self.binding
    }

    /// After a failed exchange: true when the failure is the server's
    /// refusal of the channel-binding type, not of the credentials. That is
    /// a `-PLUS` exchange that the server refused before answering the
    /// client's first message (which names the binding type), or whose
    /// `e=` says `unsupported-channel-binding-type` or
    /// `channel-binding-not-supported` (RFC 5802 §7). A mismatch of the
    /// binding data (`channel-bindings-dont-match`) is not one: it is what
    /// binding exists to detect.
    pub fn binding_refused(&self) -> bool {
        if self.binding.type_name().is_none() {
            return false;
        }
        if let Some(e) = &self.server_said {
            return e == "unsupported-channel-binding-type" || e == "channel-binding-not-supported";
        }
        matches!(self.state, ScramState::FirstSent { .. })
    }

    /// Uses `nonce` as the client nonce instead of a random one (for tests
    /// and known-answer checks; a fixed nonce in production defeats replay
    /// protection). It must be non-empty printable ASCII without `,`.
    pub fn with_client_nonce(mut self, nonce: &str) -> SResult<Scram> {
        if nonce.is_empty()
            || !nonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err(SaslError::BadCredentials(
                "a SCRAM nonce is printable ASCII without ','".into(),
            ));
        }
        self.client_nonce = nonce.to_string();
        Ok(self)
    }

    /// Accepts iteration counts from `min` to `max` (the server picks the
    /// count; a small one weakens the stored password's protection, a huge
    /// one costs CPU time). `min` is at least 1.
    pub fn with_iteration_limits(mut self, min: u32, max: u32) -> Scram {
        self.min_iterations = min.max(1);
        self.max_iterations = max;
        self
    }

    /// The GS2 header (RFC 5802 §7): channel-binding flag, no authzid.
    fn gs2_header(&self) -> &'static str {
        match self.binding {
            ChannelBinding::None => "n,,",
            ChannelBinding::SupportedNotUsed => "y,,",
            ChannelBinding::TlsExporter(_) => "p=tls-exporter,,",
            ChannelBinding::TlsServerEndPoint(_) => "p=tls-server-end-point,,",
        }
    }

    /// Keeps a server error (`e=...`) and returns it as the failure.
    fn server_error_value(&mut self, e: &str) -> SaslError {
        let e: String = e.chars().take(200).collect();
        self.server_said = Some(e.clone());
        SaslError::Server(e)
    }

    fn server_first(&mut self, client_first_bare: &str, challenge: &[u8]) -> SResult<Vec<u8>> {
        let text = std::str::from_utf8(challenge)
            .map_err(|_| SaslError::Malformed("server-first-message is not UTF-8".into()))?;
        if let Some(e) = text.strip_prefix("e=") {
            // Not RFC 5802's place for it, but servers refusing the
            // client's first message say why here.
            return Err(self.server_error_value(e));
        }
        let mut attrs = text.split(',');
        let mut next = |key: &str| -> SResult<&str> {
            let attr = attrs.next().unwrap_or_default();
            if attr.starts_with("m=") {
                return Err(SaslError::Malformed(
                    "the server requires an unsupported SCRAM extension (m=)".into(),
                ));
            }
            attr.strip_prefix(key)
                .ok_or_else(|| SaslError::Malformed(format!("server-first-message lacks {key}")))
        };
        let nonce = next("r=")?;
        let salt = next("s=")?;
        let iterations = next("i=")?;
        if nonce.len() <= self.client_nonce.len()
            || !nonce.starts_with(&self.client_nonce)
            || !nonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err(SaslError::NonceMismatch);
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| SaslError::Malformed("the salt is not base64".into()))?;
        if salt.is_empty() {
            return Err(SaslError::Malformed("the salt is empty".into()));
        }
        let count: u32 = if !iterations.is_empty() && iterations.bytes().all(|b| b.is_ascii_digit())
        {
            iterations.parse().unwrap_or(u32::MAX)
        } else {
            return Err(SaslError::Malformed(
                "the iteration count is not a number".into(),
            ));
        };
        if count < self.min_iterations || count > self.max_iterations {
            return Err(SaslError::IterationCount {
                count,
                min: self.min_iterations,
                max: self.max_iterations,
            });
        }

        let mut cbind_input = self.gs2_header().as_bytes().to_vec();
        if let Some(data) = self.binding.data() {
            cbind_input.extend_from_slice(data);
        }
        let without_proof = format!("c={},r={nonce}", B64.encode(&cbind_input));
        let auth_message = format!("{client_first_bare},{text},{without_proof}");

        let h = self.hash;
        let salted = h.salted_password(&self.password.0, &salt, count)?;
        let client_key = h.hmac(&salted, &[b"Client Key"])?;
        let stored_key = h.hash(&client_key);
        let client_signature = h.hmac(&stored_key, &[auth_message.as_bytes()])?;
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = h.hmac(&salted, &[b"Server Key"])?;
        let server_signature = h.hmac(&server_key, &[auth_message.as_bytes()])?;
        self.state = ScramState::FinalSent { server_signature };
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    fn server_final(&mut self, expected: &[u8], data: &[u8]) -> SResult<()> {
        let text = std::str::from_utf8(data)
            .map_err(|_| SaslError::Malformed("server-final-message is not UTF-8".into()))?;
        let first = text.split(',').next().unwrap_or_default();
        if let Some(e) = first.strip_prefix("e=") {
            return Err(self.server_error_value(e));
        }
        let Some(v) = first.strip_prefix("v=") else {
            return Err(SaslError::MissingServerSignature);
        };
        let signature = B64.decode(v).map_err(|_| SaslError::ServerSignature)?;
        if !constant_time_eq(&signature, expected) {
            return Err(SaslError::ServerSignature);
        }
        Ok(())
    }
}

fn random_nonce() -> SResult<String> {
    let mut bytes = [0u8; 18];
    getrandom::getrandom(&mut bytes).map_err(|e| SaslError::Random(e.to_string()))?;
    Ok(B64.encode(bytes))
}

impl Mechanism for Scram {
    fn name(&self) -> &str {
        &self.name
    }

    fn initial_response(&mut self) -> SResult<Option<Vec<u8>>> {
        let bare = format!("n={},r={}", saslname(&self.user), self.client_nonce);
        let message = format!("{}{bare}", self.gs2_header());
        self.state = ScramState::FirstSent {
            client_first_bare: bare,
        };
        Ok(Some(message.into_bytes()))
    }

    fn step(&mut self, challenge: &[u8]) -> SResult<Vec<u8>> {
        let state = std::mem::replace(&mut self.state, ScramState::Failed);
        match state {
            ScramState::FirstSent { client_first_bare } => {
                self.server_first(&client_first_bare, challenge)
            }
            ScramState::FinalSent { server_signature } => {
                self.server_final(&server_signature, challenge)?;
                self.state = ScramState::Verified;
                Ok(Vec::new())
            }
            ScramState::Start | ScramState::Verified | ScramState::Failed => {
                Err(SaslError::UnexpectedChallenge)
            }
        }
    }

    fn finish(&mut self, final_data: Option<&[u8]>) -> SResult<()> {
        let state = std::mem::replace(&mut self.state, ScramState::Failed);
        match (state, final_data) {
            (ScramState::Verified, _) => {
                self.state = ScramState::Verified;
                Ok(())
            }
            (ScramState::FinalSent { server_signature }, Some(data)) => {
                self.server_final(&server_signature, data)?;
                self.state = ScramState::Verified;
                Ok(())
            }
            _ => Err(SaslError::MissingServerSignature),
        }
    }
}

// ----- channel binding from rustls ------------------------------------------------

/// The `tls-exporter` channel-binding data (RFC 9266) of a TLS connection:
/// the exporter's output for [`TLS_EXPORTER_LABEL`], no context,
/// [`TLS_EXPORTER_LEN`] bytes. `None` unless the handshake is complete and
/// the connection runs TLS 1.3: RFC 9266 allows TLS 1.2 only with the
/// extended master secret, which rustls does not report.
pub(crate) fn tls_exporter(conn: &rustls::ClientConnection) -> Option<Vec<u8>> {
    if conn.is_handshaking() || conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return None;
    }
    conn.export_keying_material(vec![0u8; TLS_EXPORTER_LEN], TLS_EXPORTER_LABEL, None)
        .ok()
}

/// The `tls-server-end-point` channel-binding data (RFC 5929 §4) of a TLS
/// connection: the hash of the server's certificate as received, with the
/// hash function of the certificate's signature (SHA-256 where that is MD5
/// or SHA-1). `None` before the handshake ends, and for certificates whose
/// signature names no single hash (Ed25519, RSA-PSS), for which RFC 5929
/// leaves the binding undefined.
pub(crate) fn tls_server_end_point(conn: &rustls::ClientConnection) -> Option<Vec<u8>> {
    if conn.is_handshaking() {
        return None;
    }
    let cert = conn.peer_certificates()?.first()?;
    server_end_point_of(cert.as_ref())
}

/// [`tls_server_end_point`] of a DER certificate.
fn server_end_point_of(cert: &[u8]) -> Option<Vec<u8>> {
    let hash = certificate_signature_hash(cert)?;
    Some(match hash {
        EndPointHash::Sha256 => sha2::Sha256::digest(cert).to_vec(),
        EndPointHash::Sha384 => sha2::Sha384::digest(cert).to_vec(),
        EndPointHash::Sha512 => sha2::Sha512::digest(cert).to_vec(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndPointHash {
    Sha256,
    Sha384,
    Sha512,
}

/// One DER element at the start of `input`: its tag, its contents and what
/// follows it. `None` when it is cut short or its length is not DER's.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The hash RFC 5929 §4.1 picks for a certificate, from the OID of its
/// `signatureAlgorithm` (`Certificate ::= SEQUENCE { tbsCertificate,
/// signatureAlgorithm, signatureValue }`).
fn certificate_signature_hash(cert: &[u8]) -> Option<EndPointHash> {
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    let (tag, certificate, _) = der_element(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, _tbs, rest) = der_element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, algorithm, _) = der_element(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, oid, _) = der_element(algorithm)?;
    if tag != OID {
        return None;
    }
    // 1.2.840.113549.1.1.x (PKCS #1) and 1.2.840.10045.4.x (ECDSA).
    const PKCS1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    if let Some(&[n]) = oid.strip_prefix(PKCS1) {
        return match n {
            // md2, md5, sha1 WithRSAEncryption: SHA-256 instead.
            2 | 4 | 5 => Some(EndPointHash::Sha256),
            11 | 14 => Some(EndPointHash::Sha256), // sha256, sha224
            12 => Some(EndPointHash::Sha384),
            13 => Some(EndPointHash::Sha512),
            _ => None,
        };
    }
    if oid == ECDSA_SHA1 {
        return Some(EndPointHash::Sha256);
    }
    if let Some(&[n]) = oid.strip_prefix(ECDSA_SHA2) {
        return match n {
            1 | 2 => Some(EndPointHash::Sha256), // ecdsa-with-SHA224, -SHA256
            3 => Some(EndPointHash::Sha384),
            4 => Some(EndPointHash::Sha512),
            _ => None,
        };
    }
    None
}

/// The channel-binding data a TLS connection offers SCRAM.
#[derive(Clone, Default)]
pub(crate) struct TlsBindings {
    /// `tls-exporter` (TLS 1.3 only).
    pub(crate) exporter: Option<Vec<u8>>,
    /// `tls-server-end-point`.
    pub(crate) server_end_point: Option<Vec<u8>>,
}

impl TlsBindings {
    pub(crate) fn of(conn: &rustls::ClientConnection) -> TlsBindings {
        TlsBindings {
            exporter: tls_exporter(conn),
            server_end_point: tls_server_end_point(conn),
        }
    }

    /// The binding a `-PLUS` mechanism uses: `tls-exporter`, the default
    /// for TLS 1.3 (RFC 9266 §3), else `tls-server-end-point`.
    fn preferred(self) -> Option<ChannelBinding> {
        self.exporter
            .map(ChannelBinding::TlsExporter)
            .or(self.server_end_point.map(ChannelBinding::TlsServerEndPoint))
    }
}

// ----- what the clients share --------------------------------------------------------

/// One AUTHENTICATE exchange: the clients move the bytes, this decides what
/// they are.
pub(crate) struct Exchange<'a> {
    mech: &'a mut dyn Mechanism,
    name: String,
    /// The initial response, when it waits for the server's first challenge
    /// (no SASL-IR).
    pending_initial: Option<Vec<u8>>,
    /// Why the client cancelled the exchange.
    cancelled: Option<SaslError>,
}

impl<'a> Exchange<'a> {
    /// Prepares the exchange and the AUTHENTICATE command to send (with the
    /// initial response on the command line when `sasl_ir`).
    pub(crate) fn start(
        mech: &'a mut dyn Mechanism,
        sasl_ir: bool,
    ) -> Result<(Exchange<'a>, Command)> {
        let name = mech.name().to_ascii_uppercase();
        if name.is_empty()
            || name.len() > 20
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(Error::error(format!(
                "{name:?} is not a SASL mechanism name"
            )));
        }
        let initial = mech
            .initial_response()
            .map_err(|e| Error::error(format!("{name}: {e}")).with_source(e))?;
        let (cmd, pending_initial) = match initial {
            Some(ir) if sasl_ir => (build::authenticate_ir(&name, Some(&ir)), None),
            other => (build::authenticate(&name), other),
        };
        let exchange = Exchange {
            mech,
            name,
            pending_initial,
            cancelled: None,
        };
        Ok((exchange, cmd))
    }

    /// The line that answers a continuation request whose text is `text`:
    /// a base64 response, or `*` to cancel.
    pub(crate) fn respond(&mut self, text: &[u8]) -> Vec<u8> {
        if self.cancelled.is_some() {
            return b"*".to_vec();
        }
        if let Some(initial) = self.pending_initial.take() {
            // The server's first challenge of a client-first mechanism is
            // empty (RFC 4422 §5); its text does not matter.
            return B64.encode(initial).into_bytes();
        }
        let outcome = match B64.decode(text.trim_ascii()) {
            Ok(challenge) => self.mech.step(&challenge),
            Err(_) => Err(SaslError::Malformed("the challenge is not base64".into())),
        };
        match outcome {
            Ok(response) => B64.encode(response).into_bytes(),
            Err(e) => {
                self.cancelled = Some(e);
                b"*".to_vec()
            }
        }
    }

    /// The outcome, once the server's tagged reply came. An error when the
    /// server refused (with what the client or the mechanism knows of why),
    /// and an `abort` when it accepted but the mechanism could not verify it
    /// (the caller must drop the connection).
    pub(crate) fn complete(self, result: std::result::Result<Reply, ProtoError>) -> Result<Reply> {
        let name = self.name;
        match result {
            Err(refused) => {
                if let Some(e) = self.cancelled {
                    let text = format!("{name} authentication cancelled: {e}");
                    return Err(Error::error(text).with_source(e));
                }
                let err = Error::from(refused);
                match self.mech.server_error() {
                    Some(why) => Err(Error::new(
                        err.kind(),
                        format!("{} ({name}: {why})", err.message()),
                    )
                    .with_source(why)),
                    None => Err(err),
                }
            }
            Ok(reply) => {
                if let Some(e) = self.cancelled {
                    let text = format!(
                        "the server accepted a {name} authentication the client cancelled ({e}); \
                         the connection is not trusted"
                    );
                    return Err(Error::abort(text).with_source(e));
                }
                if let Err(e) = self.mech.finish(None) {
                    let text = format!(
                        "the server accepted {name} but {e}; the connection is not trusted"
                    );
                    return Err(Error::abort(text).with_source(e));
                }
                Ok(reply)
            }
        }
    }
}

/// How [`crate::Imap4::login_auto`] logs in.
pub(crate) enum AutoLogin {
    /// AUTHENTICATE with SCRAM; a `-PLUS` one may be retried without
    /// binding ([`LoginPlan::retry_after`]).
    Scram(Box<Scram>),
    /// AUTHENTICATE PLAIN.
    Plain(Box<Plain>),
    /// The LOGIN command.
    Login,
}

/// What [`crate::Imap4::login_auto`] tries: a first way in and, when that
/// is a `-PLUS` mechanism, the same hash without binding if (and only if)
/// the server refuses the binding type and offers that mechanism too.
pub(crate) struct LoginPlan {
    pub(crate) first: AutoLogin,
    retry: Option<Scram>,
}

impl LoginPlan {
    /// The mechanism to try after `first` failed with `err`, if any: only
    /// after a refusal (never after an `abort`), only when the refusal was
    /// of the binding type, and only once.
    pub(crate) fn retry_after(&mut self, err: &Error) -> Option<Scram> {
        let AutoLogin::Scram(first) = &self.first else {
            return None;
        };
        if err.is_abort() || !first.binding_refused() {
            return None;
        }
        let retry = self.retry.take()?;
        tracing::info!(
            target: "imaplib::sasl",
            "the server refused {} with {} binding ({}); trying {} without channel binding",
            first.name(),
            first.channel_binding().type_name().unwrap_or("no"),
            err.message(),
            retry.name()
        );
        Some(retry)
    }
}

/// The strongest way to log in that both sides offer: SCRAM-SHA-256-PLUS
/// or SCRAM-SHA-1-PLUS over TLS (bound with `tls-exporter` under TLS 1.3,
/// `tls-server-end-point` otherwise) > SCRAM-SHA-256 > SCRAM-SHA-1 > PLAIN
/// (over TLS, or when the server does not say LOGINDISABLED) > the LOGIN
/// command (unless LOGINDISABLED). A password never goes out in cleartext
/// to a server that says LOGINDISABLED.
pub(crate) fn choose_login(
    session: &Session,
    tls: bool,
    bindings: TlsBindings,
    user: &str,
    password: &str,
) -> Result<LoginPlan> {
    let offers = |m: &str| session.has_capability(&format!("AUTH={m}"));
    let sasl_err = |e: SaslError| Error::error(e.to_string()).with_source(e);
    let binding = if tls { bindings.preferred() } else { None };
    let plan = |first: AutoLogin, retry: Option<Scram>| {
        match &first {
            AutoLogin::Scram(m) => tracing::debug!(
                target: "imaplib::sasl",
                "login_auto: {}{}",
                m.name(),
                m.channel_binding()
                    .type_name()
                    .map(|t| format!(" with {t} binding"))
                    .unwrap_or_default()
            ),
            AutoLogin::Plain(_) => {
                tracing::debug!(target: "imaplib::sasl", "login_auto: PLAIN")
            }
            AutoLogin::Login => tracing::debug!(target: "imaplib::sasl", "login_auto: LOGIN"),
        }
        Ok(LoginPlan { first, retry })
    };
    let hashes = [ScramHash::Sha256, ScramHash::Sha1];
    if let Some(binding) = &binding {
        for hash in hashes {
            if offers(&format!("{}-PLUS", hash.mechanism())) {
                let first = Scram::new(hash, user, password)
                    .and_then(|m| m.with_channel_binding(binding.clone()))
                    .map_err(sasl_err)?;
                // After a refused binding type the server is told the
                // client binds no more (`n`): with `y` a server that
                // offers -PLUS would take the retry for a downgrade.
                let retry = if offers(hash.mechanism()) {
                    Some(Scram::new(hash, user, password).map_err(sasl_err)?)
                } else {
                    None
                };
                return plan(AutoLogin::Scram(Box::new(first)), retry);
            }
        }
    }
    // `y` tells a server that binds that its -PLUS offer went missing.
    let server_binds = offers("SCRAM-SHA-256-PLUS") || offers("SCRAM-SHA-1-PLUS");
    let flag = if binding.is_some() && !server_binds {
        ChannelBinding::SupportedNotUsed
    } else {
        ChannelBinding::None
    };
    for hash in hashes {
        if offers(hash.mechanism()) {
            let m = Scram::new(hash, user, password)
                .and_then(|m| m.with_channel_binding(flag.clone()))
                .map_err(sasl_err)?;
            return plan(AutoLogin::Scram(Box::new(m)), None);
        }
    }
    let login_disabled = session.has_capability("LOGINDISABLED");
    if offers("PLAIN") && (tls || !login_disabled) {
        let m = Plain::new(user, password).map_err(sasl_err)?;
        return plan(AutoLogin::Plain(Box::new(m)), None);
    }
    if !login_disabled {
        return plan(AutoLogin::Login, None);
    }
    Err(Error::error(if tls {
        "the server says LOGINDISABLED and offers no mechanism this client supports"
    } else {
        "the server says LOGINDISABLED and offers no SCRAM mechanism: the password would \
         go out in cleartext; use STARTTLS first"
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(OAuthError::from_json(deep.as_bytes()).is_err());
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
}
