//! The operations on the connection itself: STARTTLS, COMPRESS, LOGOUT and
//! imaplib's raw `send`, `read` and `readline`. The link swaps the
//! transport; what is sent, checked and refused is decided here.

use bytes::{Bytes, BytesMut};
use imaplib_proto::command::build;
use imaplib_proto::{Arg, Command, Data, ProtoError, ProtoErrorKind, Reply, Status};

use super::{Conn, Link};
use crate::error::{Error, Result};
use crate::tls::TlsConfig;

impl<L: Link> Conn<'_, L> {
    /// STARTTLS (RFC 3501 §6.2.1) with `tls` (or the connection's TLS
    /// options): fails closed, and reads nothing the server sent in
    /// cleartext after its OK.
    pub(crate) async fn starttls(&mut self, tls: Option<&TlsConfig>) -> Result<Reply> {
        if self.e.tls_active {
            return Err(Error::abort("TLS session already established"));
        }
        // From here on nothing but STARTTLS and LOGOUT goes out in
        // cleartext, even if STARTTLS fails.
        if let Err(e) = self.e.session.require_tls() {
            return Err(self.fail(Error::from(e)));
        }
        if !self.link.is_plain_tcp() {
            return Err(Error::error("STARTTLS needs a TCP connection"));
        }
        let tls = tls.cloned().unwrap_or_else(|| self.e.options.tls.clone());
        let config = tls.build()?;
        let host = if self.e.host.is_empty() {
            "localhost".to_string()
        } else {
            self.e.host.clone()
        };
        let name = tls.name_for(&host)?;
        let reply = self.run(build::starttls()).await?;
        if self.e.session.buffered_input() > 0 {
            let err = self.e.session.tls_established().unwrap_err();
            return Err(self.fail(err.into()));
        }
        let wait = self.e.options.timeout;
        if let Err(e) = self.link.start_tls(config, name, wait).await {
            return Err(self.fail(e));
        }
        self.e.tls_active = true;
        self.e.session.tls_established()?;
        self.refresh_capabilities().await?;
        self.e.set_protocol_version()?;
        Ok(reply)
    }

    /// COMPRESS DEFLATE (RFC 4978): from the server's OK on, both
    /// directions are compressed.
    pub(crate) async fn compress_deflate(&mut self) -> Result<Reply> {
        if !self.has_capability("COMPRESS=DEFLATE") {
            return Err(Error::missing_capability("COMPRESS=DEFLATE"));
        }
        if self.link.is_compressed() {
            return Err(Error::error("compression is already active"));
        }
        let cmd = Command::new("COMPRESS").arg(Arg::Raw(Bytes::from_static(b"DEFLATE")));
        let reply = self.run(cmd).await?;
        if reply.typ == Status::Ok {
            // Whatever followed the OK in the same read is compressed already.
            let pending = self.e.session.take_raw(usize::MAX);
            self.link.start_deflate(&pending);
        }
        Ok(reply)
    }

    /// LOGOUT, then the link closed. As in imaplib, a failure during
    /// logout is returned as `NO` with its text, not raised.
    pub(crate) async fn logout(&mut self) -> Result<Reply> {
        self.e.session.begin_logout();
        let result = self.run(build::logout()).await;
        let _ = self.shutdown().await;
        Ok(result.unwrap_or_else(|e| Reply {
            typ: Status::No,
            data: vec![Data::Line(Bytes::from(e.to_string()))],
        }))
    }

    /// Closes the link; the session is unusable afterwards.
    pub(crate) async fn shutdown(&mut self) -> std::io::Result<()> {
        let r = self.link.shutdown().await;
        self.e.session.set_broken(ProtoError::msg(
            ProtoErrorKind::Unexpected,
            "connection closed",
        ));
        r
    }

    /// imaplib's `send`: raw bytes, nothing checked.
    pub(crate) async fn send(&mut self, data: &[u8]) -> Result<()> {
        let wait = self.e.options.timeout;
        if let Err(e) = self.link.write_all(data, wait).await {
            let err = Error::io("socket error", e);
            return Err(self.fail(err));
        }
        Ok(())
    }

    /// imaplib's `read`: up to `size` raw bytes; those already received
    /// first.
    pub(crate) async fn read(&mut self, size: usize) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(size.min(1 << 20));
        while out.len() < size {
            let got = self.e.session.take_raw(size - out.len());
            if got.is_empty() {
                self.fill().await?;
                continue;
            }
            out.extend_from_slice(&got);
        }
        Ok(out.freeze())
    }

    /// imaplib's `readline`: one raw line up to and including LF, at most
    /// the line limit long.
    pub(crate) async fn readline(&mut self) -> Result<Bytes> {
        let max = self.e.session.limits().max_line;
        let mut out = Vec::new();
        loop {
            let got = self.e.session.take_raw(1);
            if got.is_empty() {
                if out.is_empty() {
                    // Nothing taken yet: a timeout leaves the connection
                    // usable, as a timed-out readline does in imaplib
                    // (programs poll for IDLE responses this way).
                    if !self.read_once(self.e.options.timeout).await? {
                        return Err(Error::abort("socket error: timed out"));
                    }
                } else {
                    self.fill().await?;
                }
                continue;
            }
            out.push(got[0]);
            if got[0] == b'\n' {
                return Ok(Bytes::from(out));
            }
            if out.len() > max {
                return Err(Error::error(format!("got more than {max} bytes")));
            }
        }
    }
}
