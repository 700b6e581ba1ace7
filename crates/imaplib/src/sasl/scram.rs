//! SCRAM (RFC 5802, RFC 7677) with optional channel binding.

use std::fmt;

use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Digest;

use super::{
    saslprep, Mechanism, SResult, SaslError, Secret, B64, DEFAULT_MAX_ITERATIONS,
    DEFAULT_MIN_ITERATIONS,
};

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    /// SHA-1 (RFC 5802).
    Sha1,
    /// SHA-256 (RFC 7677).
    Sha256,
}

impl ScramHash {
    pub(super) fn mechanism(self) -> &'static str {
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

    /// `Hi(password, salt, i)` (RFC 5802 §2.2): PBKDF2 with HMAC, one
    /// block (the `pbkdf2` crate).
    pub(super) fn salted_password(
        self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> SResult<Vec<u8>> {
        Ok(match self {
            ScramHash::Sha1 => {
                pbkdf2::pbkdf2_hmac_array::<sha1::Sha1, 20>(password, salt, iterations).to_vec()
            }
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(password, salt, iterations).to_vec()
            }
        })
    }
}

pub(super) fn hmac_bytes<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> SResult<Vec<u8>> {
    let mut mac = <M as KeyInit>::new_from_slice(key)
        .map_err(|_| SaslError::BadCredentials("unusable HMAC key".into()))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

/// `saslname` (RFC 5802 §7): `,` and `=` escaped as `=2C` and `=3D`.
pub(super) fn saslname(name: &str) -> String {
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
    /// output ([`TLS_EXPORTER_LABEL`](super::TLS_EXPORTER_LABEL), no context, [`TLS_EXPORTER_LEN`](super::TLS_EXPORTER_LEN)
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

pub(super) enum ScramState {
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
/// default [`DEFAULT_MIN_ITERATIONS`](super::DEFAULT_MIN_ITERATIONS)..=[`DEFAULT_MAX_ITERATIONS`](super::DEFAULT_MAX_ITERATIONS)); the
/// server's signature (`v=`) is verified, and an OK without it is an error.
/// The user name and password go through [`saslprep`](super::saslprep).
pub struct Scram {
    hash: ScramHash,
    name: String,
    user: String,
    password: Secret,
    binding: ChannelBinding,
    pub(super) client_nonce: String,
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
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&signature[..], expected)) {
            return Err(SaslError::ServerSignature);
        }
        Ok(())
    }
}

pub(super) fn random_nonce() -> SResult<String> {
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
