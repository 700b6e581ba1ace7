//! TLS settings (rustls). Certificates are verified by default, against the
//! platform's roots and the bundled webpki roots, plus any CA files given.
//! Turning verification off takes an explicitly named call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// How to set up TLS for implicit TLS (port 993) and STARTTLS.
#[derive(Clone, Default)]
pub struct TlsConfig {
    ca_files: Vec<PathBuf>,
    no_default_roots: bool,
    client_cert: Option<(PathBuf, PathBuf)>,
    insecure: bool,
    server_name: Option<String>,
    custom: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_files", &self.ca_files)
            .field("no_default_roots", &self.no_default_roots)
            .field("client_cert", &self.client_cert.as_ref().map(|c| &c.0))
            .field("insecure", &self.insecure)
            .field("server_name", &self.server_name)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

impl TlsConfig {
    /// Verification against the platform's and webpki's roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the CA certificates in this PEM file.
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.ca_files.push(path.as_ref().to_path_buf());
        self
    }

    /// Trusts only the CA files given, not the platform's or webpki's roots.
    pub fn only_given_cas(mut self) -> Self {
        self.no_default_roots = true;
        self
    }

    /// Presents a client certificate (imaplib's `certfile` and `keyfile`,
    /// both PEM).
    pub fn client_cert(mut self, certfile: impl AsRef<Path>, keyfile: impl AsRef<Path>) -> Self {
        self.client_cert = Some((
            certfile.as_ref().to_path_buf(),
            keyfile.as_ref().to_path_buf(),
        ));
        self
    }

    /// Checks the certificate against this name instead of the host
    /// connected to.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Uses a rustls configuration built by the caller, as is.
    pub fn rustls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.custom = Some(config);
        self
    }

    /// **Turns certificate verification off.** Anyone on the path can then
    /// read and change the session, passwords included. For tests against
    /// servers with throwaway certificates only.
    pub fn dangerous_accept_invalid_certificates(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// True if verification was turned off.
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    pub(crate) fn name_for(&self, host: &str) -> Result<ServerName<'static>> {
        let name = self.server_name.as_deref().unwrap_or(host);
        let name = name.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(name.to_string())
            .map_err(|_| Error::error(format!("invalid TLS server name: {name:?}")))
    }

    pub(crate) fn build(&self) -> Result<Arc<ClientConfig>> {
        if let Some(c) = &self.custom {
            return Ok(c.clone());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::error(format!("TLS setup: {e}")))?;
        let builder = if self.insecure {
            tracing::warn!(target: "imaplib::tls", "TLS certificate verification is turned off");
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            if !self.no_default_roots {
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            for path in &self.ca_files {
                let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
                    Error::error(format!("reading CA file {}: {e}", path.display()))
                })?;
                let mut n = 0;
                for cert in certs {
                    let cert = cert.map_err(|e| {
                        Error::error(format!("reading CA file {}: {e}", path.display()))
                    })?;
                    roots
                        .add(cert)
                        .map_err(|e| Error::error(format!("CA file {}: {e}", path.display())))?;
                    n += 1;
                }
                if n == 0 {
                    return Err(Error::error(format!(
                        "CA file {} holds no certificate",
                        path.display()
                    )));
                }
            }
            builder.with_root_certificates(roots)
        };
        let config = match &self.client_cert {
            Some((cert, key)) => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .and_then(|it| it.collect::<std::result::Result<_, _>>())
                    .map_err(|e| {
                        Error::error(format!("reading certfile {}: {e}", cert.display()))
                    })?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| Error::error(format!("reading keyfile {}: {e}", key.display())))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::error(format!("client certificate: {e}")))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

/// Accepts any certificate (but still checks handshake signatures, so the
/// session keys are at least bound to the presented key).
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Describes a TLS failure in words, naming the certificate problem.
pub(crate) fn describe_tls_error(err: &std::io::Error) -> String {
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            let why = match cert {
                rustls::CertificateError::UnknownIssuer => {
                    "certificate signed by an unknown authority (self-signed or untrusted CA)"
                        .to_string()
                }
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => {
                    "certificate is not valid for this host name".to_string()
                }
                rustls::CertificateError::Expired
                | rustls::CertificateError::ExpiredContext { .. } => {
                    "certificate has expired".to_string()
                }
                rustls::CertificateError::NotValidYet
                | rustls::CertificateError::NotValidYetContext { .. } => {
                    "certificate is not valid yet".to_string()
                }
                rustls::CertificateError::Revoked => "certificate has been revoked".to_string(),
                other => format!("invalid certificate: {other:?}"),
            };
            format!("TLS certificate verification failed: {why}")
        }
        Some(other) => format!("TLS handshake failed: {other}"),
        None => format!("TLS handshake failed: {err}"),
    }
}
