//! TLS settings (rustls). Certificates are verified by default, against the
//! platform's roots and the bundled webpki roots, plus any CA files given.
//! Turning verification off takes an explicitly named call.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, OtherError,
    RootCertStore, SignatureScheme,
};

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
            if roots.is_empty() {
                return Err(Error::error(
                    "TLS setup: no trusted certificate authority (give a CA file, or do not \
                     call only_given_cas)",
                ));
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::error(format!("TLS setup: {e}")))?;
            // Still rustls' own verification; the wrapper only names a
            // self-signed certificate as such when it is refused.
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ExplainedVerifier(webpki)))
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

/// rustls' WebPKI verification, unchanged, except that a certificate refused
/// for an unknown issuer which turns out to be issued by itself is reported
/// as [`SelfSigned`], so the error can say so.
#[derive(Debug)]
struct ExplainedVerifier(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ExplainedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| match e {
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
                    if intermediates.is_empty() && is_self_issued(end_entity) =>
                {
                    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
                        Arc::new(SelfSigned),
                    )))
                }
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.0.root_hint_subjects()
    }
}

/// The server's certificate is issued by itself and is not a trusted root.
#[derive(Debug)]
struct SelfSigned;

impl std::fmt::Display for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("self-signed certificate")
    }
}

impl std::error::Error for SelfSigned {}

/// True when a DER certificate's issuer and subject names are the same
/// (RFC 5280 §4.1: a self-issued certificate). False when the DER cannot be
/// read.
fn is_self_issued(cert: &[u8]) -> bool {
    issuer_and_subject(cert).is_some_and(|(issuer, subject)| issuer == subject)
}

/// The issuer and subject `Name`s (raw DER) of a certificate.
fn issuer_and_subject(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (0x30, certificate, _) = der_element(cert)? else {
        return None;
    };
    let (0x30, tbs, _) = der_element(certificate)? else {
        return None;
    };
    // [0] version (optional), serialNumber, signature, issuer, validity, subject.
    let (tag, _, after_version) = der_element(tbs)?;
    let fields = if tag == 0xa0 { after_version } else { tbs };
    let (_, _, rest) = der_element(fields)?;
    let (_, _, rest) = der_element(rest)?;
    let (_, issuer, rest) = der_element(rest)?;
    let (_, _, rest) = der_element(rest)?;
    let (_, subject, _) = der_element(rest)?;
    Some((issuer, subject))
}

/// Splits one DER element off `input`: its tag, its contents and what
/// follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// A name from a certificate as rustls reports it (`DnsName("a.b")`,
/// `IpAddress(1.2.3.4)`), without the wrapping.
fn presented_name(name: &str) -> &str {
    for (open, close) in [("DnsName(\"", "\")"), ("IpAddress(", ")")] {
        if let Some(inner) = name.strip_prefix(open).and_then(|n| n.strip_suffix(close)) {
            return inner;
        }
    }
    name
}

/// A certificate time, for error messages.
fn show_time(t: &UnixTime) -> String {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{} s after 1970", t.as_secs()))
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
                    "certificate signed by an unknown authority (not issued by a trusted \
                     certificate authority)"
                        .to_string()
                }
                rustls::CertificateError::Other(other) if other.0.is::<SelfSigned>() => {
                    "certificate is self-signed (signed by an unknown authority: itself)"
                        .to_string()
                }
                rustls::CertificateError::NotValidForName => {
                    "certificate is not valid for this host name".to_string()
                }
                rustls::CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                } => {
                    format!(
                        "certificate is not valid for this host name ({}); it is for {}",
                        expected.to_str(),
                        if presented.is_empty() {
                            "no name".to_string()
                        } else {
                            presented
                                .iter()
                                .map(|n| presented_name(n))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    )
                }
                rustls::CertificateError::Expired => "certificate has expired".to_string(),
                rustls::CertificateError::ExpiredContext { time, not_after } => format!(
                    "certificate has expired (valid until {}, now {})",
                    show_time(not_after),
                    show_time(time)
                ),
                rustls::CertificateError::NotValidYet => "certificate is not valid yet".to_string(),
                rustls::CertificateError::NotValidYetContext { time, not_before } => format!(
                    "certificate is not valid yet (valid from {}, now {})",
                    show_time(not_before),
                    show_time(time)
                ),
                rustls::CertificateError::Revoked => "certificate has been revoked".to_string(),
                other => format!("invalid certificate: {other:?}"),
            };
            format!("TLS certificate verification failed: {why}")
        }
        Some(other) => format!("TLS handshake failed: {other}"),
        None => format!("TLS handshake failed: {err}"),
    }
}
