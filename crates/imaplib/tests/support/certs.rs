//! Certificates for TLS tests, made with the `openssl` command line once per
//! test process: a private CA the client is told to trust, and server
//! identities that are good, self-signed, issued by an unknown CA, issued for
//! another host name, or expired.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// OpenSSL configuration: extensions of CA and leaf certificates, and a
/// minimal `openssl ca` setup (used for the expired certificate, whose
/// dates `openssl x509 -req` cannot set).
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = imaplib hostile test

[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer

[self_signed_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash

[other_host_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:imap.example.org
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer

[ca]
default_ca = test_ca

[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any_name
unique_subject = no

[any_name]
commonName = supplied
";

/// The certificates of one test process.
pub struct Certs {
    dir: PathBuf,
    /// A certificate for 127.0.0.1 / localhost issued by the trusted CA.
    pub good: Arc<ServerConfig>,
    /// The same certificate, speaking TLS 1.2 only.
    pub good_tls12: Arc<ServerConfig>,
    /// A certificate for 127.0.0.1 / localhost that signs itself.
    pub self_signed: Arc<ServerConfig>,
    /// A certificate for 127.0.0.1 / localhost issued by a CA the client
    /// does not know.
    pub unknown_ca: Arc<ServerConfig>,
    /// A certificate for `imap.example.org` only, issued by the trusted CA.
    pub wrong_host: Arc<ServerConfig>,
    /// A certificate for 127.0.0.1 / localhost issued by the trusted CA,
    /// valid only in January 2020.
    pub expired: Arc<ServerConfig>,
}

impl Certs {
    /// The certificates, made on first use.
    pub fn get() -> &'static Certs {
        static CERTS: OnceLock<Certs> = OnceLock::new();
        CERTS.get_or_init(Certs::make)
    }

    /// The DER bytes of the `good` certificate.
    pub fn good_cert_der(&self) -> Vec<u8> {
        CertificateDer::pem_file_iter(self.dir.join("good.pem"))
            .and_then(|mut it| it.next().expect("a certificate"))
            .expect("good.pem")
            .as_ref()
            .to_vec()
    }

    /// The PEM file of the CA the client should trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn make() -> Certs {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_dirs(base);
        let dir = base.join(format!("hostile-certs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the certificate directory");
        fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).unwrap();
        fs::write(dir.join("index.txt"), "").unwrap();
        fs::write(dir.join("serial"), "1000\n").unwrap();
        let ec: &[&str] = &[
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let req = |args: &[&str]| {
            let mut all = vec!["req", "-config", "openssl.cnf"];
            all.extend_from_slice(args);
            all.extend_from_slice(ec);
            openssl(&dir, &all);
        };
        let sign = |csr: &str, ca: &str, ext: &str, out: &str| {
            openssl(
                &dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    csr,
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-days",
                    "3650",
                    "-out",
                    out,
                    "-extfile",
                    "openssl.cnf",
                    "-extensions",
                    ext,
                ],
            );
        };
        // The trusted CA and a CA nobody trusts.
        for (name, cn) in [("ca", "imaplib hostile CA"), ("other-ca", "Unknown CA")] {
            req(&[
                "-x509",
                "-new",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
                "-days",
                "3650",
                "-subj",
                &format!("/CN={cn}"),
                "-extensions",
                "ca_ext",
            ]);
        }
        // One key and request for the leaf certificates issued by a CA.
        req(&[
            "-new",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ]);
        sign("leaf.csr", "ca", "leaf_ext", "good.pem");
        sign("leaf.csr", "other-ca", "leaf_ext", "unknown-ca.pem");
        sign("leaf.csr", "ca", "other_host_ext", "wrong-host.pem");
        openssl(
            &dir,
            &[
                "ca",
                "-config",
                "openssl.cnf",
                "-batch",
                "-notext",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-in",
                "leaf.csr",
                "-out",
                "expired.pem",
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20200201000000Z",
                "-extfile",
                "openssl.cnf",
                "-extensions",
                "leaf_ext",
            ],
        );
        req(&[
            "-x509",
            "-new",
            "-keyout",
            "self-signed.key",
            "-out",
            "self-signed.pem",
            "-days",
            "3650",
            "-subj",
            "/CN=localhost",
            "-extensions",
            "self_signed_ext",
        ]);
        let config = |cert: &str, key: &str| server_config(&dir.join(cert), &dir.join(key));
        Certs {
            good: config("good.pem", "leaf.key"),
            good_tls12: server_config_with(
                &dir.join("good.pem"),
                &dir.join("leaf.key"),
                &[&rustls::version::TLS12],
            ),
            self_signed: config("self-signed.pem", "self-signed.key"),
            unknown_ca: config("unknown-ca.pem", "leaf.key"),
            wrong_host: config("wrong-host.pem", "leaf.key"),
            expired: config("expired.pem", "leaf.key"),
            dir,
        }
    }
}

/// A rustls server configuration presenting `cert` (PEM) with `key`.
fn server_config(cert: &Path, key: &Path) -> Arc<ServerConfig> {
    server_config_with(cert, key, rustls::DEFAULT_VERSIONS)
}

/// [`server_config`] speaking only the TLS `versions` given.
fn server_config_with(
    cert: &Path,
    key: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<_, _>>())
        .unwrap_or_else(|e| panic!("reading {}: {e}", cert.display()));
    let key = PrivateKeyDer::from_pem_file(key)
        .unwrap_or_else(|e| panic!("reading {}: {e}", key.display()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    Arc::new(config)
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run openssl ({e}); scripts/install-deps.sh installs it")
        });
    assert!(
        out.status.success(),
        "openssl {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Removes certificate directories left by test processes that are gone.
fn remove_stale_dirs(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("hostile-certs-") else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}
