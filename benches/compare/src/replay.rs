//! The replay server: a loopback IMAP server that answers LOGIN, SELECT and
//! the rest at once and serves pre-built FETCH responses from memory, so
//! that the client's own cost dominates. Plain TCP or TLS (rustls, with a
//! certificate from a private CA made by the `openssl` command line).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A private CA and a certificate for 127.0.0.1 / localhost signed by it.
pub struct Certs {
    pub ca_file: PathBuf,
    pub server: Arc<rustls::ServerConfig>,
}

impl Certs {
    /// Makes them in `dir` (once; reused when present).
    pub fn make(dir: &Path) -> Certs {
        std::fs::create_dir_all(dir).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("the openssl command");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        if !dir.join("server.pem").exists() {
            std::fs::write(
                dir.join("ext.cnf"),
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
            )
            .unwrap();
            let ec = [
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
            ];
            let mut ca = vec![
                "req",
                "-x509",
                "-new",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3650",
                "-subj",
                "/CN=imaplib bench CA",
            ];
            ca.extend_from_slice(&ec);
            run(&ca);
            let mut req = vec![
                "req",
                "-new",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ];
            req.extend_from_slice(&ec);
            run(&req);
            run(&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "3650",
                "-out",
                "server.pem",
                "-extfile",
                "ext.cnf",
            ]);
        }
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("server.pem"))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        Certs {
            ca_file: dir.join("ca.pem"),
            server: Arc::new(server),
        }
    }
}

/// A rustls client configuration trusting only `ca_file`.
pub fn client_config(ca_file: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// FETCH responses by the command's item list (`(RFC822)`...), without the
/// tagged completion.
pub type Responses = Arc<HashMap<String, Arc<Vec<u8>>>>;

/// Number of messages SELECT announces.
pub const EXISTS: usize = 10_000;

/// Starts a server on a free loopback port (TLS when `tls` is given) and
/// returns the port. Runs until the process exits; one thread per client.
pub fn start(responses: Responses, tls: Option<Arc<rustls::ServerConfig>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(sock) = conn else { continue };
            let _ = sock.set_nodelay(true);
            let responses = responses.clone();
            let tls = tls.clone();
            std::thread::spawn(move || {
                let _ = match tls {
                    None => serve(sock, &responses),
                    Some(cfg) => {
                        let conn = rustls::ServerConnection::new(cfg).unwrap();
                        serve(rustls::StreamOwned::new(conn, sock), &responses)
                    }
                };
            });
        }
    });
    port
}

fn serve<S: Read + Write>(stream: S, responses: &Responses) -> std::io::Result<()> {
    let mut r = BufReader::with_capacity(64 * 1024, stream);
    r.get_mut()
        .write_all(b"* OK [CAPABILITY IMAP4rev1 LITERAL+] replay server ready\r\n")?;
    r.get_mut().flush()?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let mut words = text.splitn(3, ' ');
        let tag = words.next().unwrap_or("*").to_string();
        let mut name = words.next().unwrap_or("").to_ascii_uppercase();
        let mut rest = words.next().unwrap_or("").to_string();
        if name == "UID" {
            let mut w = rest.splitn(2, ' ');
            name = w.next().unwrap_or("").to_ascii_uppercase();
            rest = w.next().unwrap_or("").to_string();
        }
        let out = r.get_mut();
        match name.as_str() {
            "CAPABILITY" => write!(out, "* CAPABILITY IMAP4rev1 LITERAL+\r\n{tag} OK done\r\n")?,
            "LOGIN" => write!(
                out,
                "{tag} OK [CAPABILITY IMAP4rev1 LITERAL+] logged in\r\n"
            )?,
            "SELECT" | "EXAMINE" => write!(
                out,
                "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n\
                 * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] ok\r\n\
                 * {EXISTS} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n\
                 * OK [UIDNEXT {}] next\r\n{tag} OK [READ-WRITE] selected\r\n",
                EXISTS + 1
            )?,
            "FETCH" => {
                // The item list is what follows the message set.
                let items = rest.split_once(' ').map(|(_, i)| i).unwrap_or("");
                match responses.get(items) {
                    Some(resp) => {
                        out.write_all(resp)?;
                        write!(out, "{tag} OK FETCH completed\r\n")?;
                    }
                    None => write!(out, "{tag} NO no such workload: {items}\r\n")?,
                }
            }
            "LOGOUT" => {
                write!(out, "* BYE logging out\r\n{tag} OK bye\r\n")?;
                out.flush()?;
                return Ok(());
            }
            _ => write!(out, "{tag} OK {name} done\r\n")?,
        }
        out.flush()?;
    }
}
