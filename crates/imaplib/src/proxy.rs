//! Reaching the server through a proxy: SOCKS5 (RFC 1928, with the
//! username/password method of RFC 1929) and HTTP CONNECT (RFC 9110 §9.3.6,
//! with Basic authentication).
//!
//! The exchange with the proxy is written once, as a byte-in/byte-out
//! machine ([`Handshake`]) that both clients drive over their own TCP
//! socket ([`tunnel`]). Once it completes, the socket carries the IMAP
//! session (and TLS, end to end, checked against the IMAP server's name).
//!
//! The proxy never reads past its own answer: the machine asks for at most
//! the bytes that can still belong to the proxy's reply, so a greeting that
//! follows in the same TCP segment stays in the socket for the IMAP session.
//!
//! The target's host name is sent to the proxy, which resolves it (the
//! `socks5h` behaviour): the client does no DNS lookup of its own.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr};

use base64::Engine as _;

use crate::error::{Error, Result};

/// The kind of proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// SOCKS version 5; the proxy resolves the server's host name.
    Socks5,
    /// An HTTP proxy that tunnels with `CONNECT`.
    Http,
}

/// A proxy to connect through (see [`crate::Options::proxy`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// SOCKS5 or HTTP CONNECT.
    pub kind: ProxyKind,
    /// The proxy's host name or address.
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// User name and password for the proxy, if it wants them.
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish()
    }
}

impl fmt::Display for Proxy {
    /// The proxy as a URL, with the user name but never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Socks5 => "socks5h",
            ProxyKind::Http => "http",
        };
        write!(f, "{scheme}://")?;
        if let Some((user, _)) = &self.credentials {
            write!(f, "{user}@")?;
        }
        write!(f, "{}", host_port(&self.host, self.port))
    }
}

impl Proxy {
    /// A SOCKS5 proxy without credentials.
    pub fn socks5(host: &str, port: u16) -> Proxy {
        Proxy {
            kind: ProxyKind::Socks5,
            host: host.to_string(),
            port,
            credentials: None,
        }
    }

    /// An HTTP CONNECT proxy without credentials.
    pub fn http(host: &str, port: u16) -> Proxy {
        Proxy {
            kind: ProxyKind::Http,
            host: host.to_string(),
            port,
            credentials: None,
        }
    }

    /// The same proxy, logging in with this user name and password.
    pub fn with_credentials(mut self, user: &str, password: &str) -> Proxy {
        self.credentials = Some((user.to_string(), password.to_string()));
        self
    }

    /// Parses a proxy URL: `socks5://`, `socks5h://` (the same here: the
    /// proxy always resolves the server's name) or `http://`, then
    /// `[user[:password]@]host[:port]` with an optional trailing `/`.
    /// User and password are percent-decoded. The port defaults to 1080
    /// for SOCKS5 and 8080 for HTTP.
    pub fn parse(url: &str) -> Result<Proxy> {
        let bad = |why: &str| Error::error(format!("bad proxy URL: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected socks5://, socks5h:// or http://"))?;
        let (kind, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "socks5" | "socks5h" => (ProxyKind::Socks5, 1080),
            "http" => (ProxyKind::Http, 8080),
            other => {
                return Err(bad(&format!(
                    "scheme {other:?} is not socks5, socks5h or http"
                )))
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) || rest.chars().any(char::is_control) {
            return Err(bad("expected only [user[:password]@]host[:port]"));
        }
        let (userinfo, hostport) = match rest.rfind('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("bad host or port"))?;
        let mut proxy = Proxy {
            kind,
            host,
            port: port.unwrap_or(default_port),
            credentials: None,
        };
        if let Some(info) = userinfo {
            let (user, password) = info.split_once(':').unwrap_or((info, ""));
            let user = percent_decode(user).ok_or_else(|| bad("bad percent-encoding"))?;
            let password = percent_decode(password).ok_or_else(|| bad("bad percent-encoding"))?;
            proxy.credentials = Some((user, password));
        }
        Ok(proxy)
    }
}

/// How a proxy failed, so callers can tell it from an IMAP server's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyFailure {
    /// The proxy could not be reached, or did not answer in time.
    Unreachable,
    /// The proxy wants credentials, or refused the ones given.
    Credentials,
    /// The proxy refused to connect to the server, or could not.
    Target,
    /// The proxy answered something that is not SOCKS5 or HTTP, or stopped
    /// in the middle of its answer.
    Protocol,
}

/// `host:port`, with brackets around an IPv6 address.
fn host_port(host: &str, port: u16) -> String {
    if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Splits `host[:port]` (`[v6]` bracketed).
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        h.parse::<Ipv6Addr>().ok()?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':')?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() || host.contains([':', '@', '[', ']', ' ']) && !host.contains("::") {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p != 0)?),
        None => None,
    };
    Some((host.to_string(), port))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The error of a failed proxy exchange: an `abort` marked with `failure`.
pub(crate) fn failure(failure: ProxyFailure, message: String) -> Error {
    Error::abort(message).with_proxy_failure(failure)
}

/// Longest HTTP answer accepted from a proxy (status line and headers).
const MAX_HTTP_ANSWER: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// SOCKS5: waiting for the chosen method (2 bytes).
    Method,
    /// SOCKS5: waiting for the username/password verdict (2 bytes).
    Auth,
    /// SOCKS5: waiting for the CONNECT reply's first 5 bytes.
    ReplyHead,
    /// SOCKS5: waiting for the rest of the bound address and port.
    ReplyTail(usize),
    /// HTTP: reading the answer up to its blank line.
    HttpAnswer,
    Done,
}

/// The exchange with a proxy, without I/O: [`Handshake::output`] is what
/// to send, [`Handshake::wanted`] how much may be read next, and
/// [`Handshake::input`] takes what was read.
pub(crate) struct Handshake {
    proxy: Proxy,
    target: (String, u16),
    stage: Stage,
    out: Vec<u8>,
    got: Vec<u8>,
}

impl Handshake {
    /// Starts the exchange that asks `proxy` for a tunnel to `host:port`.
    pub(crate) fn new(proxy: &Proxy, host: &str, port: u16) -> Result<Handshake> {
        if host.is_empty() || host.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(Error::error(format!(
                "cannot ask a proxy for host {host:?}"
            )));
        }
        let mut hs = Handshake {
            proxy: proxy.clone(),
            target: (host.to_string(), port),
            stage: Stage::Done,
            out: Vec::new(),
            got: Vec::new(),
        };
        match proxy.kind {
            ProxyKind::Socks5 => {
                if host.len() > 255 {
                    return Err(Error::error(
                        "a SOCKS5 proxy takes host names of at most 255 bytes",
                    ));
                }
                if let Some((user, pass)) = &proxy.credentials {
                    if user.is_empty() || user.len() > 255 || pass.len() > 255 {
                        return Err(Error::error(
                            "SOCKS5 user names and passwords are 1 to 255 bytes",
                        ));
                    }
                    // Both methods: the proxy picks username/password or none.
                    hs.out.extend_from_slice(&[5, 2, 0x00, 0x02]);
                } else {
                    hs.out.extend_from_slice(&[5, 1, 0x00]);
                }
                hs.stage = Stage::Method;
            }
            ProxyKind::Http => {
                let target = host_port(host, port);
                let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
                if let Some((user, pass)) = &proxy.credentials {
                    if user.contains(':') || format!("{user}{pass}").chars().any(char::is_control) {
                        return Err(Error::error(
                            "an HTTP proxy user name may not hold ':' or control characters",
                        ));
                    }
                    let token =
                        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                    req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
                }
                req.push_str("\r\n");
                hs.out = req.into_bytes();
                hs.stage = Stage::HttpAnswer;
            }
        }
        Ok(hs)
    }

    /// Bytes to send now (empty when there are none).
    pub(crate) fn output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// How many bytes may be read next without reading past the proxy's
    /// answer; 0 once the tunnel is open.
    pub(crate) fn wanted(&self) -> usize {
        match self.stage {
            Stage::Method | Stage::Auth => 2 - self.got.len(),
            Stage::ReplyHead => 5 - self.got.len(),
            Stage::ReplyTail(n) => n - self.got.len(),
            Stage::HttpAnswer => {
                // Never past the blank line: as many bytes as could still
                // complete "\r\n\r\n".
                let g = &self.got;
                if g.ends_with(b"\r\n\r") {
                    1
                } else if g.ends_with(b"\r\n") {
                    2
                } else if g.ends_with(b"\r") {
                    3
                } else {
                    4
                }
            }
            Stage::Done => 0,
        }
    }

    fn who(&self) -> String {
        let kind = match self.proxy.kind {
            ProxyKind::Socks5 => "SOCKS5 proxy",
            ProxyKind::Http => "HTTP proxy",
        };
        format!("{kind} {}", host_port(&self.proxy.host, self.proxy.port))
    }

    fn target(&self) -> String {
        host_port(&self.target.0, self.target.1)
    }

    /// The end of the input before the answer was complete.
    pub(crate) fn eof(&self) -> Error {
        let what = if self.got.is_empty() && matches!(self.stage, Stage::Method | Stage::HttpAnswer)
        {
            "closed the connection without answering"
        } else {
            "closed the connection in the middle of its answer"
        };
        let kind = if self.stage == Stage::Auth {
            // Some proxies hang up on wrong credentials instead of saying so.
            ProxyFailure::Credentials
        } else {
            ProxyFailure::Protocol
        };
        failure(kind, format!("the {} {what}", self.who()))
    }

    /// Takes bytes read from the proxy (at most [`Handshake::wanted`]).
    pub(crate) fn input(&mut self, data: &[u8]) -> Result<()> {
        if data.len() > self.wanted() {
            return Err(Error::error("proxy handshake: read more than wanted"));
        }
        self.got.extend_from_slice(data);
        if self.stage == Stage::HttpAnswer {
            if self.got.len() >= 5 && !self.got.starts_with(b"HTTP/") {
                return Err(self.not_a_proxy());
            }
            if self.got.ends_with(b"\r\n\r\n") {
                return self.http_answer();
            }
            if self.got.len() > MAX_HTTP_ANSWER {
                return Err(failure(
                    ProxyFailure::Protocol,
                    format!(
                        "the {} sent an answer over {MAX_HTTP_ANSWER} bytes",
                        self.who()
                    ),
                ));
            }
            return Ok(());
        }
        if self.wanted() > 0 {
            return Ok(());
        }
        let got = std::mem::take(&mut self.got);
        self.socks_step(&got)
    }

    fn not_a_proxy(&self) -> Error {
        let protocol = match self.proxy.kind {
            ProxyKind::Socks5 => "SOCKS5",
            ProxyKind::Http => "HTTP",
        };
        let mut msg = format!(
            "the {} answered something that is not {protocol}",
            self.who()
        );
        if self.got.starts_with(b"* ") {
            msg.push_str(" (it looks like an IMAP server)");
        } else if self.got.starts_with(b"HTTP") {
            msg.push_str(" (it looks like an HTTP server)");
        }
        failure(ProxyFailure::Protocol, msg)
    }

    fn socks_step(&mut self, got: &[u8]) -> Result<()> {
        match self.stage {
            Stage::Method => {
                if got[0] != 5 {
                    self.got = got.to_vec();
                    return Err(self.not_a_proxy());
                }
                match got[1] {
                    0x00 => self.socks_connect(),
                    0x02 => match &self.proxy.credentials {
                        Some((user, pass)) => {
                            self.out.push(1);
                            self.out.push(user.len() as u8);
                            self.out.extend_from_slice(user.as_bytes());
                            self.out.push(pass.len() as u8);
                            self.out.extend_from_slice(pass.as_bytes());
                            self.stage = Stage::Auth;
                        }
                        None => return Err(self.not_a_proxy()),
                    },
                    0xff => {
                        let msg = if self.proxy.credentials.is_some() {
                            format!(
                                "the {} accepts none of the login methods offered",
                                self.who()
                            )
                        } else {
                            format!("the {} requires a user name and password", self.who())
                        };
                        return Err(failure(ProxyFailure::Credentials, msg));
                    }
                    m => {
                        return Err(failure(
                            ProxyFailure::Protocol,
                            format!(
                                "the {} chose login method {m}, which was not offered",
                                self.who()
                            ),
                        ))
                    }
                }
            }
            Stage::Auth => {
                // RFC 1929 says version 1; some proxies answer 5. The status
                // is what counts.
                if got[1] != 0 {
                    return Err(failure(
                        ProxyFailure::Credentials,
                        format!("the {} refused the user name or password", self.who()),
                    ));
                }
                self.socks_connect();
            }
            Stage::ReplyHead => {
                if got[0] != 5 {
                    self.got = got.to_vec();
                    return Err(self.not_a_proxy());
                }
                if got[1] != 0 {
                    let why = match got[1] {
                        1 => "general failure",
                        2 => "not allowed by its rules",
                        3 => "network unreachable",
                        4 => "host unreachable",
                        5 => "connection refused",
                        6 => "TTL expired",
                        7 => "command not supported",
                        8 => "address type not supported",
                        _ => "unknown reply code",
                    };
                    return Err(failure(
                        ProxyFailure::Target,
                        format!(
                            "the {} could not connect to {}: {why} (SOCKS5 reply {})",
                            self.who(),
                            self.target(),
                            got[1]
                        ),
                    ));
                }
                // The bound address: its first byte is already here.
                let rest = match got[3] {
                    1 => 4 - 1 + 2,
                    4 => 16 - 1 + 2,
                    3 => usize::from(got[4]) + 2,
                    t => {
                        return Err(failure(
                            ProxyFailure::Protocol,
                            format!(
                                "the {} sent address type {t}, which SOCKS5 does not define",
                                self.who()
                            ),
                        ))
                    }
                };
                self.stage = Stage::ReplyTail(rest);
            }
            Stage::ReplyTail(_) => self.stage = Stage::Done,
            Stage::HttpAnswer | Stage::Done => {}
        }
        Ok(())
    }

    fn socks_connect(&mut self) {
        let (host, port) = &self.target;
        self.out.extend_from_slice(&[5, 1, 0]);
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => {
                self.out.push(1);
                self.out.extend_from_slice(&a.octets());
            }
            Ok(IpAddr::V6(a)) => {
                self.out.push(4);
                self.out.extend_from_slice(&a.octets());
            }
            Err(_) => {
                // The proxy resolves the name (length checked in `new`).
                self.out.push(3);
                self.out.push(host.len() as u8);
                self.out.extend_from_slice(host.as_bytes());
            }
        }
        self.out.extend_from_slice(&port.to_be_bytes());
        self.stage = Stage::ReplyHead;
    }

    fn http_answer(&mut self) -> Result<()> {
        let head = String::from_utf8_lossy(&self.got).into_owned();
        let status_line = head.lines().next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let code = parts.next().and_then(|c| c.parse::<u16>().ok());
        let reason = parts.next().unwrap_or("").trim();
        let Some(code) = code.filter(|_| version.starts_with("HTTP/1.")) else {
            return Err(self.not_a_proxy());
        };
        match code {
            200..=299 => {
                self.stage = Stage::Done;
                Ok(())
            }
            // 407 is the standard answer; tinyproxy answers 401 to wrong
            // credentials.
            401 | 407 => {
                let msg = if self.proxy.credentials.is_some() {
                    format!(
                        "the {} refused the user name or password ({code} {reason})",
                        self.who()
                    )
                } else {
                    format!(
                        "the {} requires a user name and password ({code} {reason})",
                        self.who()
                    )
                };
                Err(failure(ProxyFailure::Credentials, msg))
            }
            _ => Err(failure(
                ProxyFailure::Target,
                format!(
                    "the {} refused to connect to {}: {code} {reason}",
                    self.who(),
                    self.target()
                ),
            )),
        }
    }
}

/// The socket under a proxy exchange, as each client has it.
pub(crate) trait Pipe {
    /// Writes all of `data`.
    fn send(&mut self, data: &[u8]) -> impl Future<Output = io::Result<()>>;
    /// Reads at most `buf.len()` bytes; `Ok(0)` at the end of the stream.
    fn recv(&mut self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>>;
}

/// Asks `proxy`, over `pipe` (connected to it), for a tunnel to
/// `host:port`. On success the pipe carries the server's bytes.
pub(crate) async fn tunnel<P: Pipe>(
    pipe: &mut P,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> Result<()> {
    let mut hs = Handshake::new(proxy, host, port)?;
    tracing::debug!(proxy = %proxy, target = %host_port(host, port), "connecting through a proxy");
    let mut buf = [0u8; 260];
    loop {
        let out = hs.output();
        if !out.is_empty() {
            pipe.send(&out).await.map_err(|e| io_failure(&hs, e))?;
        }
        let want = hs.wanted();
        if want == 0 {
            return Ok(());
        }
        let n = pipe
            .recv(&mut buf[..want.min(260)])
            .await
            .map_err(|e| io_failure(&hs, e))?;
        if n == 0 {
            return Err(hs.eof());
        }
        hs.input(&buf[..n])?;
    }
}

/// The error of a proxy that did not answer in time.
pub(crate) fn timed_out(proxy: &Proxy) -> Error {
    failure(
        ProxyFailure::Unreachable,
        format!("the proxy {proxy} did not answer in time"),
    )
}

fn io_failure(hs: &Handshake, e: io::Error) -> Error {
    let kind = e.kind();
    let mut err = if matches!(kind, io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) {
        timed_out(&hs.proxy)
    } else {
        failure(
            ProxyFailure::Protocol,
            format!("the {} connection failed: {e}", hs.who()),
        )
    };
    err = err.with_source(e);
    err
}

/// The error of a proxy that cannot be reached at all.
pub(crate) fn unreachable(proxy: &Proxy, e: &Error) -> Error {
    failure(
        ProxyFailure::Unreachable,
        format!("cannot reach the proxy {proxy}: {}", e.message()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(hs: &mut Handshake, answer: &[u8]) -> Result<Vec<u8>> {
        let mut sent = hs.output();
        let mut rest = answer;
        while hs.wanted() > 0 {
            if rest.is_empty() {
                return Err(hs.eof());
            }
            let n = hs.wanted().min(rest.len());
            hs.input(&rest[..n])?;
            rest = &rest[n..];
            sent.extend(hs.output());
        }
        Ok(sent)
    }

    #[test]
    fn parses_urls() {
        let p = Proxy::parse("socks5://alice:s%3Acret@proxy.example:1081").unwrap();
        assert_eq!(p.kind, ProxyKind::Socks5);
        assert_eq!((p.host.as_str(), p.port), ("proxy.example", 1081));
        assert_eq!(p.credentials, Some(("alice".into(), "s:cret".into())));
        assert_eq!(p.to_string(), "socks5h://alice@proxy.example:1081");
        assert!(!format!("{p:?}").contains("cret"));
        let p = Proxy::parse("HTTP://[::1]/").unwrap();
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (ProxyKind::Http, "::1", 8080)
        );
        assert_eq!(Proxy::parse("socks5h://h").unwrap().port, 1080);
        for bad in [
            "ftp://h",
            "h:1080",
            "socks5://h:0",
            "socks5://h:x",
            "socks5://h/p",
            "socks5://",
        ] {
            assert!(Proxy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn socks5_without_credentials_sends_the_name() {
        let mut hs = Handshake::new(&Proxy::socks5("p", 1), "imap.example", 993).unwrap();
        let sent = run(&mut hs, &[5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0, 80]).unwrap();
        let mut want = vec![5, 1, 0, 5, 1, 0, 3, 12];
        want.extend_from_slice(b"imap.example");
        want.extend_from_slice(&993u16.to_be_bytes());
        assert_eq!(sent, want);
    }

    #[test]
    fn socks5_with_credentials() {
        let proxy = Proxy::socks5("p", 1).with_credentials("u", "pw");
        let mut hs = Handshake::new(&proxy, "10.0.0.1", 143).unwrap();
        let sent = run(
            &mut hs,
            &[5, 2, 1, 0, 5, 0, 0, 3, 3, b'a', b'b', b'c', 0, 1],
        )
        .unwrap();
        assert_eq!(
            sent,
            [5, 2, 0, 2, 1, 1, b'u', 2, b'p', b'w', 5, 1, 0, 1, 10, 0, 0, 1, 0, 143]
        );
        let mut hs = Handshake::new(&proxy, "h", 143).unwrap();
        let e = run(&mut hs, &[5, 2, 1, 1]).unwrap_err();
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Credentials));
        let mut hs = Handshake::new(&Proxy::socks5("p", 1), "h", 143).unwrap();
        let e = run(&mut hs, &[5, 0xff]).unwrap_err();
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Credentials));
        assert!(e.message().contains("requires a user name"), "{e}");
    }

    #[test]
    fn socks5_failures() {
        let p = Proxy::socks5("p", 1);
        let mut hs = Handshake::new(&p, "h", 143).unwrap();
        let e = run(&mut hs, &[5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Target));
        assert!(e.message().contains("connection refused"), "{e}");
        let mut hs = Handshake::new(&p, "h", 143).unwrap();
        let e = run(&mut hs, b"* OK IMAP").unwrap_err();
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Protocol));
        assert!(e.message().contains("IMAP server"), "{e}");
        let mut hs = Handshake::new(&p, "h", 143).unwrap();
        let e = run(&mut hs, &[5, 0, 5, 0]).unwrap_err();
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Protocol));
        assert!(e.message().contains("middle"), "{e}");
        let mut hs = Handshake::new(&p, "h", 143).unwrap();
        let e = run(&mut hs, &[5, 0, 5, 0, 0, 9, 0]).unwrap_err();
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Protocol));
        assert!(Handshake::new(&p, &"x".repeat(256), 1).is_err());
        assert!(Handshake::new(&p, "a\r\nb", 1).is_err());
    }

    #[test]
    fn http_connect() {
        let proxy = Proxy::http("p", 3128).with_credentials("al", "pw");
        let mut hs = Handshake::new(&proxy, "imap.example", 143).unwrap();
        let greeting = b"* OK ready\r\n";
        let mut answer = b"HTTP/1.1 200 Connection established\r\nX: y\r\n\r\n".to_vec();
        let head = answer.len();
        answer.extend_from_slice(greeting);
        let sent = run(&mut hs, &answer[..head]).unwrap();
        assert_eq!(
            String::from_utf8(sent).unwrap(),
            "CONNECT imap.example:143 HTTP/1.1\r\nHost: imap.example:143\r\n\
             Proxy-Authorization: Basic YWw6cHc=\r\n\r\n"
        );
        assert_eq!(hs.wanted(), 0);
        for (answer, kind) in [
            (
                &b"HTTP/1.0 407 Proxy Authentication Required\r\n\r\n"[..],
                ProxyFailure::Credentials,
            ),
            (b"HTTP/1.1 403 Forbidden\r\n\r\n", ProxyFailure::Target),
            (b"SSH-2.0-OpenSSH\r\n\r\n", ProxyFailure::Protocol),
            (b"HTTP/1.1 20", ProxyFailure::Protocol),
        ] {
            let mut hs = Handshake::new(&Proxy::http("p", 1), "h", 1).unwrap();
            let e = run(&mut hs, answer).unwrap_err();
            assert_eq!(e.proxy_failure(), Some(kind), "{e}");
        }
    }

    #[test]
    fn http_never_reads_past_the_blank_line() {
        let mut hs = Handshake::new(&Proxy::http("p", 1), "h", 1).unwrap();
        let answer = b"HTTP/1.1 200 OK\r\n\r\n* OK";
        let mut i = 0;
        while hs.wanted() > 0 {
            let n = hs.wanted();
            hs.input(&answer[i..i + n]).unwrap();
            i += n;
        }
        assert_eq!(&answer[i..], b"* OK");
    }
}
