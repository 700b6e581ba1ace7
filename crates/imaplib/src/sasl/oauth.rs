//! XOAUTH2 and OAUTHBEARER, and the JSON error a server sends.

use std::fmt;

use super::scram::saslname;
use super::{Mechanism, SResult, SaslError, Secret};

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
        let members: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(challenge)
            .map_err(|why| {
                SaslError::Malformed(format!("the OAuth error is not a JSON object: {why}"))
            })?;
        let mut e = OAuthError::default();
        for (key, value) in members {
            // Strings as they are; a number (an HTTP status) as written.
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                _ => continue,
            };
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
