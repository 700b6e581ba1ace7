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

mod binding;
mod exchange;
mod oauth;
mod plain;
mod scram;
#[cfg(test)]
mod tests;

pub(crate) use binding::TlsBindings;
pub(crate) use exchange::{choose_login, AutoLogin, Exchange};
pub use oauth::{OAuthBearer, OAuthError, XOAuth2};
pub use plain::{CramMd5, Login, Plain};
pub use scram::{ChannelBinding, Scram, ScramHash};

pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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

pub(crate) type SResult<T> = std::result::Result<T, SaslError>;

// ----- SASLprep -------------------------------------------------------------------

/// SASLprep (RFC 4013) of a user name or password: the stringprep profile
/// (mapping, NFKC normalisation, prohibited characters, bidirectional
/// text, unassigned code points), done by the `stringprep` crate.
pub fn saslprep(input: &str) -> SResult<String> {
    stringprep::saslprep(input)
        .map(|s| s.into_owned())
        .map_err(|e| SaslError::BadCredentials(format!("SASLprep refuses it: {e}")))
}

/// A password or token, kept out of `Debug` output.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
