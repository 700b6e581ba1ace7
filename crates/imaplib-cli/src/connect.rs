//! Connecting and logging in, shared by every subcommand: the `--url` /
//! `--host` / `--stream` options, TLS settings, where the password comes
//! from, and LOGIN or AUTHENTICATE.

use std::fmt;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};
use imaplib::{Imap4, Options, Proxy, Reply, State, TlsConfig};

use crate::exit::{describe, CliError, CliResult, Exit};

/// How long connecting, or any read or write, may take when `--timeout` is
/// not given.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Mechanisms `--auth` knows how to answer.
pub const MECHANISMS: &[&str] = &["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"];

/// The connection options every subcommand takes.
#[derive(Args, Debug, Clone, Default)]
pub struct ConnectArgs {
    /// Server URL (RFC 5092): `imap://` or `imaps://`, user, host, port,
    /// mailbox.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Connection",
        help = "Server URL: imap://[USER[;AUTH=MECH]@]HOST[:PORT][/MAILBOX] or imaps://... \
                (implicit TLS). Never put a password in it"
    )]
    pub url: Option<String>,
    /// Server host name or address (instead of --url).
    #[arg(long, global = true, value_name = "HOST", help_heading = "Connection")]
    pub host: Option<String>,
    /// Server port (default 993 with --tls, else 143).
    #[arg(long, global = true, value_name = "PORT", help_heading = "Connection")]
    pub port: Option<u16>,
    /// Implicit TLS from the first byte (IMAPS, port 993).
    #[arg(long, global = true, help_heading = "Connection")]
    pub tls: bool,
    /// Plain connection upgraded with STARTTLS; fails if the server
    /// does not offer it or refuses.
    #[arg(long, global = true, help_heading = "Connection")]
    pub starttls: bool,
    /// User name to log in as.
    #[arg(long, global = true, value_name = "USER", help_heading = "Connection")]
    pub user: Option<String>,
    /// Read the password from this environment variable.
    #[arg(long, global = true, value_name = "VAR", help_heading = "Connection")]
    pub password_env: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub password_file: Option<PathBuf>,
    /// Run this shell command and use the first line of its output as the
    /// password (or, with --auth XOAUTH2/OAUTHBEARER, the token), as
    /// mbsync's PassCmd: e.g. 'pass show mail' or an OAuth token helper.
    #[arg(long, global = true, value_name = "CMD", help_heading = "Connection")]
    pub password_command: Option<String>,
    /// Log in with AUTHENTICATE MECH instead of LOGIN: PLAIN, LOGIN,
    /// CRAM-MD5, XOAUTH2 or OAUTHBEARER (the password is the token).
    #[arg(long, global = true, value_name = "MECH", help_heading = "Connection")]
    pub auth: Option<String>,
    /// Talk IMAP to this shell command's stdin/stdout instead of the network
    /// (imaplib's IMAP4_stream), e.g. a preauthenticated server.
    #[arg(
        long,
        global = true,
        value_name = "COMMAND",
        help_heading = "Connection"
    )]
    pub stream: Option<String>,
    /// Also trust the CA certificates in this PEM file.
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub ca_file: Option<PathBuf>,
    /// Check the server certificate against NAME instead of the host.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub tls_server_name: Option<String>,
    /// DANGEROUS: accept any TLS certificate (anyone on the path can read
    /// and change the session, password included).
    #[arg(long, global = true, help_heading = "Connection")]
    pub insecure: bool,
    /// Give up when connecting or any read or write takes longer (default
    /// 60; in `imap shell`, no limit once logged in unless given).
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        help_heading = "Connection"
    )]
    pub timeout: Option<f64>,
    /// Reach the server through this proxy (TCP, STARTTLS and TLS; the
    /// proxy resolves the server's name, TLS runs end to end).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        help_heading = "Connection",
        help = "Proxy: socks5://[USER@]HOST[:PORT] or http://[USER@]HOST[:PORT]. Without it, \
                ALL_PROXY / all_proxy is used unless NO_PROXY / no_proxy names the server"
    )]
    pub proxy: Option<String>,
    /// Read the proxy's password from this environment variable.
    #[arg(long, global = true, value_name = "VAR", help_heading = "Connection")]
    pub proxy_password_env: Option<String>,
    /// Print the protocol trace to stderr (-vv: more); passwords and
    /// AUTHENTICATE responses are hidden.
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Connection")]
    pub verbose: u8,
}

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A child process speaking IMAP on stdin/stdout.
    Stream(String),
    /// A TCP server.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// How TLS is used.
        tls: TlsMode,
    },
}

/// How TLS is used on a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS.
    Plain,
    /// STARTTLS after the greeting.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// The connection options, checked and combined with the URL.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Where to connect.
    pub target: Target,
    /// Who to log in as.
    pub user: Option<String>,
    /// The AUTHENTICATE mechanism, upper case; `None` for LOGIN.
    pub auth: Option<String>,
    /// The mailbox named in the URL.
    pub mailbox: Option<String>,
    /// The proxy to connect through, if any.
    pub proxy: Option<Proxy>,
    args: ConnectArgs,
}

/// A password or token; never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An `imap://` or `imaps://` URL (RFC 5092, without IMAP URL commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapUrl {
    /// `imaps://`.
    pub tls: bool,
    /// The user, percent-decoded.
    pub user: Option<String>,
    /// `;AUTH=MECH`, upper case (`*` means any and is dropped).
    pub auth: Option<String>,
    /// The host (IPv6 addresses without brackets).
    pub host: String,
    /// The port, if given.
    pub port: Option<u16>,
    /// The mailbox, percent-decoded (UTF-8).
    pub mailbox: Option<String>,
}

/// Parses an IMAP URL.
pub fn parse_url(url: &str) -> Result<ImapUrl, String> {
    let lower = url.to_ascii_lowercase();
    let (tls, rest) = if lower.starts_with("imaps://") {
        (true, &url[8..])
    } else if lower.starts_with("imap://") {
        (false, &url[7..])
    } else {
        return Err(format!(
            "URL {url:?} does not start with imap:// or imaps://"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let (mut user, mut auth) = (None, None);
    if let Some(info) = userinfo {
        if info.contains(':') {
            return Err(
                "put no password in the URL: use --password-env, --password-file \
                        or the prompt"
                    .into(),
            );
        }
        let (name, mech) = match info.to_ascii_lowercase().find(";auth=") {
            Some(i) => (&info[..i], Some(&info[i + 6..])),
            None => (info, None),
        };
        if !name.is_empty() {
            user = Some(percent_decode(name)?);
        }
        auth = mech
            .filter(|m| *m != "*" && !m.is_empty())
            .map(|m| percent_decode(m).map(|m| m.to_ascii_uppercase()))
            .transpose()?;
    }
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let end = v6
            .find(']')
            .ok_or_else(|| format!("URL {url:?}: unclosed '[' in the host"))?;
        let after = &v6[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("URL {url:?}: unexpected text after the host")),
        };
        (v6[..end].to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("URL {url:?} names no host"));
    }
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("URL {url:?}: bad port {p:?}"))
        })
        .transpose()?;
    let mailbox = match path {
        Some(p) => {
            let p = p.split(['?', ';']).next().unwrap_or_default();
            let p = p.strip_suffix('/').unwrap_or(p);
            if p.is_empty() {
                None
            } else {
                Some(percent_decode(p)?)
            }
        }
        None => None,
    };
    Ok(ImapUrl {
        tls,
        user,
        auth,
        host,
        port,
        mailbox,
    })
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in {s:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} does not decode to UTF-8"))
}

impl ConnectArgs {
    /// Checks the options against each other and against the URL. With
    /// `later_tls`, TLS options are accepted on a plain connection (for the
    /// shell's `starttls`).
    pub fn resolve_with(&self, later_tls: bool) -> CliResult<Resolved> {
        let a = self;
        let url = a
            .url
            .as_deref()
            .map(parse_url)
            .transpose()
            .map_err(CliError::usage)?;
        if a.tls && a.starttls {
            return Err(CliError::usage("--tls and --starttls exclude each other"));
        }
        if let Some(mech) = &a.auth {
            if !MECHANISMS.contains(&mech.to_ascii_uppercase().as_str()) {
                return Err(CliError::usage(format!(
                    "--auth {mech}: unsupported mechanism (use one of {})",
                    MECHANISMS.join(", ")
                )));
            }
        }
        if let Some(t) = a.timeout {
            if !(t.is_finite() && t > 0.0 && t < 1e9) {
                return Err(CliError::usage(format!(
                    "--timeout {t}: give a positive number of seconds"
                )));
            }
        }
        let sources = [
            a.password_env.is_some(),
            a.password_file.is_some(),
            a.password_command.is_some(),
        ];
        if sources.iter().filter(|&&given| given).count() > 1 {
            return Err(CliError::usage(
                "--password-env, --password-file and --password-command exclude each other",
            ));
        }
        let tls_options = a.ca_file.is_some() || a.insecure || a.tls_server_name.is_some();
        let (target, mut user, mut auth, mailbox) = if let Some(cmd) = &a.stream {
            if url.is_some() || a.host.is_some() || a.port.is_some() || a.tls || a.starttls {
                return Err(CliError::usage(
                    "--stream talks to a child process: it takes no --url, --host, --port, \
                     --tls or --starttls",
                ));
            }
            if tls_options {
                return Err(CliError::usage(
                    "--ca-file, --tls-server-name and --insecure need a TLS connection, \
                     not --stream",
                ));
            }
            (Target::Stream(cmd.clone()), None, None, None)
        } else if let Some(u) = url {
            if a.host.is_some() || a.port.is_some() {
                return Err(CliError::usage(
                    "give the server either as --url or as --host/--port, not both",
                ));
            }
            if a.tls && !u.tls {
                return Err(CliError::usage(
                    "--tls contradicts an imap:// URL: write imaps:// instead",
                ));
            }
            if a.starttls && u.tls {
                return Err(CliError::usage(
                    "--starttls contradicts an imaps:// URL (already TLS)",
                ));
            }
            let tls = if u.tls {
                TlsMode::Implicit
            } else if a.starttls {
                TlsMode::StartTls
            } else {
                TlsMode::Plain
            };
            let port = u.port.unwrap_or(if u.tls { 993 } else { 143 });
            (
                Target::Tcp {
                    host: u.host,
                    port,
                    tls,
                },
                u.user,
                u.auth,
                u.mailbox,
            )
        } else if let Some(host) = &a.host {
            let tls = if a.tls {
                TlsMode::Implicit
            } else if a.starttls {
                TlsMode::StartTls
            } else {
                TlsMode::Plain
            };
            let port = a.port.unwrap_or(if a.tls { 993 } else { 143 });
            if port == 0 {
                return Err(CliError::usage("--port 0 is not a port"));
            }
            (
                Target::Tcp {
                    host: host.clone(),
                    port,
                    tls,
                },
                None,
                None,
                None,
            )
        } else {
            return Err(CliError::usage(
                "say where the server is: --url imaps://USER@HOST/, --host HOST, or \
                 --stream 'COMMAND'",
            ));
        };
        if let Target::Tcp {
            tls: TlsMode::Plain,
            ..
        } = target
        {
            if tls_options && !later_tls {
                return Err(CliError::usage(
                    "--ca-file, --tls-server-name and --insecure need --tls, --starttls or \
                     an imaps:// URL",
                ));
            }
        }
        if let Some(u) = &a.user {
            if user.as_deref().is_some_and(|v| v != u) {
                return Err(CliError::usage("the URL and --user name different users"));
            }
            user = Some(u.clone());
        }
        if let Some(m) = &a.auth {
            auth = Some(m.to_ascii_uppercase());
        }
        if let Some(path) = &a.ca_file {
            if !path.is_file() {
                return Err(CliError::usage(format!(
                    "--ca-file {}: no such file",
                    path.display()
                )));
            }
        }
        let proxy = match &target {
            Target::Tcp { host, .. } => self.proxy_for(host, |var| std::env::var(var).ok())?,
            Target::Stream(_) if a.proxy.is_some() || a.proxy_password_env.is_some() => {
                return Err(CliError::usage(
                    "--proxy and --proxy-password-env need a network connection, not --stream",
                ))
            }
            Target::Stream(_) => None,
        };
        Ok(Resolved {
            target,
            user,
            auth,
            mailbox,
            proxy,
            args: a.clone(),
        })
    }

    /// The proxy for `host`: `--proxy`, else `ALL_PROXY` (or `all_proxy`)
    /// unless `NO_PROXY` (or `no_proxy`) names the host; the password from
    /// `--proxy-password-env`. `env` reads a variable (lower case first).
    fn proxy_for(
        &self,
        host: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> CliResult<Option<Proxy>> {
        let var = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|n| env(n).filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
        };
        let (source, url) = match &self.proxy {
            Some(url) => ("--proxy".to_string(), url.clone()),
            None => match var(["all_proxy", "ALL_PROXY"]) {
                Some((name, url)) => {
                    let skip = var(["no_proxy", "NO_PROXY"])
                        .is_some_and(|(_, list)| no_proxy_matches(&list, host));
                    if skip {
                        return Ok(None);
                    }
                    (name.to_string(), url)
                }
                None if self.proxy_password_env.is_some() => {
                    return Err(CliError::usage(
                        "--proxy-password-env needs a proxy: give --proxy or set ALL_PROXY",
                    ))
                }
                None => return Ok(None),
            },
        };
        let mut proxy = Proxy::parse(url.trim())
            .map_err(|e| CliError::usage(format!("{source}: {}", e.message())))?;
        if self.proxy.is_some()
            && proxy
                .credentials
                .as_ref()
                .is_some_and(|(_, p)| !p.is_empty())
        {
            return Err(CliError::usage(
                "put no password in --proxy: use --proxy-password-env",
            ));
        }
        if let Some(var) = &self.proxy_password_env {
            let password = env(var).ok_or_else(|| {
                CliError::usage(format!(
                    "--proxy-password-env {var}: the variable is not set"
                ))
            })?;
            let Some((user, _)) = proxy.credentials.take() else {
                return Err(CliError::usage(format!(
                    "--proxy-password-env: name the proxy user in {source} (USER@HOST)"
                )));
            };
            proxy.credentials = Some((user, password));
        }
        Ok(Some(proxy))
    }
}

/// True when the `NO_PROXY` list names `host`: `*`, the host itself, or a
/// domain it is in (`example.org` and `.example.org` both cover
/// `mail.example.org`). Ports in the list are ignored; case does not count.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    list.split([',', ' ']).map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let mut entry = entry.to_ascii_lowercase();
        if let Some(v6) = entry.strip_prefix('[') {
            entry = v6.split(']').next().unwrap_or_default().to_string();
        } else if entry.matches(':').count() == 1 {
            entry = entry.split(':').next().unwrap_or_default().to_string();
        }
        let entry = entry.trim_start_matches('.').trim_end_matches('.');
        !entry.is_empty()
            && (host == entry
                || host
                    .strip_suffix(entry)
                    .is_some_and(|rest| rest.ends_with('.')))
    })
}

#[cfg(test)]
mod proxy_tests {
    use super::*;

    fn args(proxy: Option<&str>, password_env: Option<&str>) -> ConnectArgs {
        ConnectArgs {
            proxy: proxy.map(str::to_string),
            proxy_password_env: password_env.map(str::to_string),
            ..ConnectArgs::default()
        }
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn no_proxy_lists() {
        for (list, host, want) in [
            ("*", "a.b", true),
            ("example.org", "mail.example.org", true),
            (".example.org", "mail.example.org", true),
            ("example.org", "badexample.org", false),
            ("localhost,127.0.0.1:143", "127.0.0.1", true),
            ("[::1]", "::1", true),
            ("MAIL.example.org.", "mail.example.org", true),
            ("", "x", false),
        ] {
            assert_eq!(no_proxy_matches(list, host), want, "{list:?} {host:?}");
        }
    }

    #[test]
    fn the_proxy_comes_from_the_flag_or_the_environment() {
        let a = args(Some("socks5://u@p:1"), Some("PW"));
        let p = a.proxy_for("h", env(&[("PW", "secret")])).unwrap().unwrap();
        assert_eq!(p.credentials, Some(("u".into(), "secret".into())));
        assert!(args(Some("socks5://u:pw@p"), None)
            .proxy_for("h", env(&[]))
            .is_err());
        assert!(args(Some("socks5://p"), Some("PW"))
            .proxy_for("h", env(&[("PW", "x")]))
            .is_err());
        let vars = [("ALL_PROXY", "http://q:8"), ("NO_PROXY", "corp.example")];
        let p = args(None, None)
            .proxy_for("h", env(&vars))
            .unwrap()
            .unwrap();
        assert_eq!((p.host.as_str(), p.port), ("q", 8));
        assert!(args(None, None)
            .proxy_for("imap.corp.example", env(&vars))
            .unwrap()
            .is_none());
        // The lower-case form wins; a password in the environment is fine.
        let vars = [
            ("all_proxy", "socks5://u:pw@low"),
            ("ALL_PROXY", "http://up"),
        ];
        let p = args(None, None)
            .proxy_for("h", env(&vars))
            .unwrap()
            .unwrap();
        assert_eq!(p.host, "low");
        assert_eq!(p.credentials, Some(("u".into(), "pw".into())));
        assert!(args(None, None).proxy_for("h", env(&[])).unwrap().is_none());
        assert!(args(None, None)
            .proxy_for("h", env(&[("ALL_PROXY", "ftp://x")]))
            .is_err());
    }
}

impl Resolved {
    /// A short description of the server for messages.
    pub fn describe(&self) -> String {
        match &self.target {
            Target::Stream(cmd) => format!("the command {cmd:?}"),
            Target::Tcp { host, port, .. } if host.contains(':') => format!("[{host}]:{port}"),
            Target::Tcp { host, port, .. } => format!("{host}:{port}"),
        }
    }

    /// The library's connection options for these settings.
    fn options(&self) -> Options {
        let mut tls = TlsConfig::new();
        if let Some(ca) = &self.args.ca_file {
            tls = tls.ca_file(ca);
        }
        if let Some(name) = &self.args.tls_server_name {
            tls = tls.server_name(name);
        }
        if self.args.insecure {
            tls = tls.dangerous_accept_invalid_certificates();
        }
        Options {
            timeout: Some(
                self.args
                    .timeout
                    .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64),
            ),
            debug: if self.args.verbose > 0 { 4 } else { 0 },
            tls,
            proxy: self.proxy.clone(),
            ..Options::default()
        }
    }

    /// Connects (and runs STARTTLS when asked); does not log in.
    pub fn connect(&self) -> CliResult<Imap4> {
        if self.args.insecure {
            eprintln!(
                "imap: warning: --insecure: the server's certificate is not checked; anyone \
                 on the path can read and change this session"
            );
        }
        let options = self.options();
        if let (Some(proxy), true) = (&self.proxy, self.args.verbose > 0) {
            // The proxy's URL without its password.
            eprintln!(
                "imap: connecting to {} through the proxy {proxy}",
                self.describe()
            );
        }
        let m = match &self.target {
            Target::Stream(cmd) => Imap4::stream_with_options(cmd, options)
                .map_err(|e| CliError::connect(&format!("cannot talk to {cmd:?}"), &e))?,
            Target::Tcp { host, port, tls } => {
                let context = format!("cannot connect to {}", self.describe());
                let mut m = if *tls == TlsMode::Implicit {
                    Imap4::ssl_with_options(host, *port, options)
                } else {
                    Imap4::with_options(host, *port, options)
                }
                .map_err(|e| CliError::connect(&context, &e))?;
                if *tls == TlsMode::StartTls {
                    m.starttls(None)
                        .map_err(|e| CliError::connect(&format!("{context}: STARTTLS"), &e))?;
                }
                m
            }
        };
        Ok(m)
    }

    /// True when the connection is not encrypted and leaves this machine.
    fn exposed(&self) -> bool {
        match &self.target {
            Target::Tcp {
                host,
                tls: TlsMode::Plain,
                ..
            } => {
                let loopback = host.eq_ignore_ascii_case("localhost")
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                !loopback
            }
            _ => false,
        }
    }

    /// Reads the password: `--password-env`, `--password-file`, or a
    /// hidden prompt when there is a terminal.
    pub fn password(&self, user: &str) -> CliResult<Secret> {
        if let Some(var) = &self.args.password_env {
            return match std::env::var(var) {
                Ok(v) => Ok(Secret(v)),
                Err(std::env::VarError::NotPresent) => Err(CliError::usage(format!(
                    "--password-env {var}: the environment variable is not set"
                ))),
                Err(std::env::VarError::NotUnicode(_)) => Err(CliError::usage(format!(
                    "--password-env {var}: the value is not valid UTF-8"
                ))),
            };
        }
        if let Some(path) = &self.args.password_file {
            let text = std::fs::read(path).map_err(|e| {
                CliError::local(format!(
                    "cannot read --password-file {}: {e}",
                    path.display()
                ))
            })?;
            let text = String::from_utf8(text).map_err(|_| {
                CliError::usage(format!(
                    "--password-file {}: not valid UTF-8",
                    path.display()
                ))
            })?;
            let first = text.split('\n').next().unwrap_or_default();
            return Ok(Secret(
                first.strip_suffix('\r').unwrap_or(first).to_string(),
            ));
        }
        if let Some(cmd) = &self.args.password_command {
            return password_from_command(cmd).map(Secret);
        }
        if std::io::stdin().is_terminal() || std::io::stderr().is_terminal() {
            let prompt = format!("Password for {user} on {}: ", self.describe());
            return rpassword::prompt_password(prompt)
                .map(Secret)
                .map_err(|e| CliError::usage(format!("cannot read the password: {e}")));
        }
        Err(CliError::usage(
            "no password: give --password-env VAR, --password-file FILE or \
             --password-command CMD (there is no terminal to ask on)",
        ))
    }

    /// Logs in unless the server already did (PREAUTH). Without a user:
    /// an error when `required`, else nothing happens.
    pub fn login(&self, m: &mut Imap4, required: bool) -> CliResult<()> {
        if m.state() != State::NonAuth {
            return Ok(());
        }
        let Some(user) = self.user.as_deref() else {
            if required {
                return Err(CliError::usage(
                    "the server asks for a login: give --user USER (or USER@ in the URL)",
                ));
            }
            return Ok(());
        };
        let password = self.password(user)?;
        if self.exposed() {
            eprintln!(
                "imap: warning: sending the password to {} without TLS (use --starttls or \
                 imaps://)",
                self.describe()
            );
        }
        authenticate(m, self.auth.as_deref(), user, &password)
            .map(|_| ())
            .map_err(|e| match e.kind() {
                imaplib::ErrorKind::Error => CliError::new(
                    Exit::Auth,
                    format!("authentication failed for {user}: {}", describe(&e)),
                ),
                _ => CliError::imap("connection lost while logging in", &e),
            })
    }

    /// True when `--timeout` was given.
    pub fn has_timeout(&self) -> bool {
        self.args.timeout.is_some()
    }

    /// The credentials for the shell's `authenticate MECH`.
    pub fn credentials(&self) -> CliResult<(String, Secret)> {
        let user = self.user.clone().ok_or_else(|| {
            CliError::usage("authenticate needs --user USER (or USER@ in the URL)")
        })?;
        let password = self.password(&user)?;
        Ok((user, password))
    }
}

/// Logs in with LOGIN (`mech` = `None`) or AUTHENTICATE `mech`.
pub fn authenticate(
    m: &mut Imap4,
    mech: Option<&str>,
    user: &str,
    password: &Secret,
) -> imaplib::Result<Reply> {
    let Some(mech) = mech else {
        return m.login(user, password.expose());
    };
    let mech = mech.to_ascii_uppercase();
    if !m.has_capability(&format!("AUTH={mech}")) {
        let offered: Vec<&str> = m
            .capabilities()
            .iter()
            .filter_map(|c| c.strip_prefix("AUTH="))
            .collect();
        return Err(imaplib::Error::error(format!(
            "the server does not offer AUTH={mech} (it offers: {})",
            if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(" ")
            }
        )));
    }
    let pw = password.expose().to_string();
    let user = user.to_string();
    match mech.as_str() {
        "CRAM-MD5" => m.login_cram_md5(&user, &pw),
        "PLAIN" => m.authenticate("PLAIN", move |_| {
            Some(format!("\0{user}\0{pw}").into_bytes())
        }),
        "LOGIN" => {
            let mut step = 0;
            m.authenticate("LOGIN", move |challenge| {
                step += 1;
                let wants_user = challenge.to_ascii_lowercase().starts_with(b"user");
                if wants_user || (step == 1 && !challenge.to_ascii_lowercase().starts_with(b"pass"))
                {
                    Some(user.clone().into_bytes())
                } else {
                    Some(pw.clone().into_bytes())
                }
            })
        }
        "XOAUTH2" => {
            let mut first = true;
            m.authenticate("XOAUTH2", move |_| {
                // A second challenge carries the server's error report: an
                // empty answer makes it finish with NO.
                let answer = if first {
                    format!("user={user}\x01auth=Bearer {pw}\x01\x01").into_bytes()
                } else {
                    Vec::new()
                };
                first = false;
                Some(answer)
            })
        }
        "OAUTHBEARER" => {
            let mut first = true;
            m.authenticate("OAUTHBEARER", move |_| {
                let answer = if first {
                    format!("n,a={user},\x01auth=Bearer {pw}\x01\x01").into_bytes()
                } else {
                    b"\x01".to_vec()
                };
                first = false;
                Some(answer)
            })
        }
        other => Err(imaplib::Error::error(format!(
            "unsupported mechanism {other} (use one of {})",
            MECHANISMS.join(", ")
        ))),
    }
}

/// Runs `cmd` with `sh -c` (its stderr passed through, no stdin) and
/// returns the first line of what it printed. A command that fails, or
/// prints nothing, is an error naming its exit status, never the output.
fn password_from_command(cmd: &str) -> CliResult<String> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| CliError::local(format!("--password-command: cannot run sh: {e}")))?;
    if !out.status.success() {
        return Err(CliError::usage(format!(
            "--password-command failed ({})",
            out.status
        )));
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|_| CliError::usage("--password-command: the output is not valid UTF-8"))?;
    let first = text.split('\n').next().unwrap_or_default();
    let first = first.strip_suffix('\r').unwrap_or(first);
    if first.is_empty() {
        return Err(CliError::usage(
            "--password-command printed no password on its first line",
        ));
    }
    Ok(first.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("imaps://alice@mail.example.org/INBOX").unwrap();
        assert_eq!(
            u,
            ImapUrl {
                tls: true,
                user: Some("alice".into()),
                auth: None,
                host: "mail.example.org".into(),
                port: None,
                mailbox: Some("INBOX".into()),
            }
        );
        let u =
            parse_url("IMAP://bob%40example.org;AUTH=cram-md5@[::1]:1143/Sent%20Items/").unwrap();
        assert!(!u.tls);
        assert_eq!(u.user.as_deref(), Some("bob@example.org"));
        assert_eq!(u.auth.as_deref(), Some("CRAM-MD5"));
        assert_eq!(u.host, "::1");
        assert_eq!(u.port, Some(1143));
        assert_eq!(u.mailbox.as_deref(), Some("Sent Items"));
        let u = parse_url("imap://h:143/Entw%C3%BCrfe;UIDVALIDITY=5").unwrap();
        assert_eq!(u.mailbox.as_deref(), Some("Entwürfe"));
        let u = parse_url("imap://;AUTH=*@h").unwrap();
        assert_eq!((u.user, u.auth), (None, None));
    }

    #[test]
    fn bad_urls() {
        for bad in [
            "http://h/",
            "imap://",
            "imap://u:pw@h/",
            "imap://h:x/",
            "imap://h:0/",
            "imap://[::1/",
            "imap://h/%zz",
            "imap://h/%ff",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert!(parse_url("imap://u:pw@h/")
            .unwrap_err()
            .contains("no password"));
    }

    fn args(f: impl FnOnce(&mut ConnectArgs)) -> CliResult<Resolved> {
        let mut a = ConnectArgs::default();
        f(&mut a);
        a.resolve_with(false)
    }

    #[test]
    fn resolves_targets() {
        let r = args(|a| {
            a.host = Some("h".into());
            a.tls = true;
        })
        .unwrap();
        assert_eq!(
            r.target,
            Target::Tcp {
                host: "h".into(),
                port: 993,
                tls: TlsMode::Implicit
            }
        );
        let r = args(|a| {
            a.url = Some("imap://u@h".into());
            a.starttls = true;
        })
        .unwrap();
        assert_eq!(
            r.target,
            Target::Tcp {
                host: "h".into(),
                port: 143,
                tls: TlsMode::StartTls
            }
        );
        assert_eq!(r.user.as_deref(), Some("u"));
        let r = args(|a| a.stream = Some("cat".into())).unwrap();
        assert_eq!(r.target, Target::Stream("cat".into()));
    }

    #[test]
    fn rejects_contradictions() {
        type Tweak = Box<dyn FnOnce(&mut ConnectArgs)>;
        let cases: Vec<Tweak> = vec![
            Box::new(|_| {}),
            Box::new(|a| {
                a.host = Some("h".into());
                a.tls = true;
                a.starttls = true;
            }),
            Box::new(|a| {
                a.stream = Some("x".into());
                a.host = Some("h".into());
            }),
            Box::new(|a| {
                a.url = Some("imap://h".into());
                a.host = Some("h".into());
            }),
            Box::new(|a| {
                a.url = Some("imap://h".into());
                a.tls = true;
            }),
            Box::new(|a| {
                a.host = Some("h".into());
                a.insecure = true;
            }),
            Box::new(|a| {
                a.host = Some("h".into());
                a.auth = Some("GSSAPI".into());
            }),
            Box::new(|a| {
                a.host = Some("h".into());
                a.timeout = Some(-1.0);
            }),
            Box::new(|a| {
                a.url = Some("imap://x@h".into());
                a.user = Some("y".into());
            }),
        ];
        for f in cases {
            assert_eq!(args(f).unwrap_err().exit, Exit::Usage);
        }
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret("pw".into())), "Secret(***)");
    }
}
