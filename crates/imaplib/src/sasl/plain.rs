//! PLAIN, LOGIN and CRAM-MD5.

use hmac::Hmac;

use super::scram::hmac_bytes;
use super::{Mechanism, SResult, SaslError, Secret};

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

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
