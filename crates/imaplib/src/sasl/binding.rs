//! The channel-binding data of a TLS connection (RFC 9266, RFC 5929).

use sha2::Digest;

use super::{ChannelBinding, TLS_EXPORTER_LABEL, TLS_EXPORTER_LEN};

/// The `tls-exporter` channel-binding data (RFC 9266) of a TLS connection:
/// the exporter's output for [`TLS_EXPORTER_LABEL`](super::TLS_EXPORTER_LABEL), no context,
/// [`TLS_EXPORTER_LEN`](super::TLS_EXPORTER_LEN) bytes. `None` unless the handshake is complete and
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
pub(super) fn server_end_point_of(cert: &[u8]) -> Option<Vec<u8>> {
    let hash = certificate_signature_hash(cert)?;
    Some(match hash {
        EndPointHash::Sha256 => sha2::Sha256::digest(cert).to_vec(),
        EndPointHash::Sha384 => sha2::Sha384::digest(cert).to_vec(),
        EndPointHash::Sha512 => sha2::Sha512::digest(cert).to_vec(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndPointHash {
    Sha256,
    Sha384,
    Sha512,
}

/// One DER element at the start of `input`: its tag, its contents and what
/// follows it. `None` when it is cut short or its length is not DER's.
pub(super) fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
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
pub(super) fn certificate_signature_hash(cert: &[u8]) -> Option<EndPointHash> {
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
    pub(super) fn preferred(self) -> Option<ChannelBinding> {
        self.exporter
            .map(ChannelBinding::TlsExporter)
            .or(self.server_end_point.map(ChannelBinding::TlsServerEndPoint))
    }
}
