//! One AUTHENTICATE exchange, and how `login_auto` chooses.

use imaplib_proto::command::build;
use imaplib_proto::{Command, ProtoError, Reply, Session};

use base64::Engine as _;

use super::{ChannelBinding, Mechanism, Plain, SaslError, Scram, ScramHash, TlsBindings, B64};
use crate::error::{Error, Result};

/// One AUTHENTICATE exchange: the clients move the bytes, this decides what
/// they are.
pub(crate) struct Exchange<'a> {
    mech: &'a mut dyn Mechanism,
    name: String,
    /// The initial response, when it waits for the server's first challenge
    /// (no SASL-IR).
    pending_initial: Option<Vec<u8>>,
    /// Why the client cancelled the exchange.
    pub(super) cancelled: Option<SaslError>,
}

impl<'a> Exchange<'a> {
    /// Prepares the exchange and the AUTHENTICATE command to send (with the
    /// initial response on the command line when `sasl_ir`).
    pub(crate) fn start(
        mech: &'a mut dyn Mechanism,
        sasl_ir: bool,
    ) -> Result<(Exchange<'a>, Command)> {
        let name = mech.name().to_ascii_uppercase();
        if name.is_empty()
            || name.len() > 20
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(Error::error(format!(
                "{name:?} is not a SASL mechanism name"
            )));
        }
        let initial = mech
            .initial_response()
            .map_err(|e| Error::error(format!("{name}: {e}")).with_source(e))?;
        let (cmd, pending_initial) = match initial {
            Some(ir) if sasl_ir => (build::authenticate_ir(&name, Some(&ir)), None),
            other => (build::authenticate(&name), other),
        };
        let exchange = Exchange {
            mech,
            name,
            pending_initial,
            cancelled: None,
        };
        Ok((exchange, cmd))
    }

    /// The line that answers a continuation request whose text is `text`:
    /// a base64 response, or `*` to cancel.
    pub(crate) fn respond(&mut self, text: &[u8]) -> Vec<u8> {
        if self.cancelled.is_some() {
            return b"*".to_vec();
        }
        if let Some(initial) = self.pending_initial.take() {
            // The server's first challenge of a client-first mechanism is
            // empty (RFC 4422 §5); its text does not matter.
            return B64.encode(initial).into_bytes();
        }
        let outcome = match B64.decode(text.trim_ascii()) {
            Ok(challenge) => self.mech.step(&challenge),
            Err(_) => Err(SaslError::Malformed("the challenge is not base64".into())),
        };
        match outcome {
            Ok(response) => B64.encode(response).into_bytes(),
            Err(e) => {
                self.cancelled = Some(e);
                b"*".to_vec()
            }
        }
    }

    /// The outcome, once the server's tagged reply came. An error when the
    /// server refused (with what the client or the mechanism knows of why),
    /// and an `abort` when it accepted but the mechanism could not verify it
    /// (the caller must drop the connection).
    pub(crate) fn complete(self, result: std::result::Result<Reply, ProtoError>) -> Result<Reply> {
        let name = self.name;
        match result {
            Err(refused) => {
                if let Some(e) = self.cancelled {
                    let text = format!("{name} authentication cancelled: {e}");
                    return Err(Error::error(text).with_source(e));
                }
                let err = Error::from(refused);
                match self.mech.server_error() {
                    Some(why) => Err(Error::new(
                        err.kind(),
                        format!("{} ({name}: {why})", err.message()),
                    )
                    .with_source(why)),
                    None => Err(err),
                }
            }
            Ok(reply) => {
                if let Some(e) = self.cancelled {
                    let text = format!(
                        "the server accepted a {name} authentication the client cancelled ({e}); \
                         the connection is not trusted"
                    );
                    return Err(Error::abort(text).with_source(e));
                }
                if let Err(e) = self.mech.finish(None) {
                    let text = format!(
                        "the server accepted {name} but {e}; the connection is not trusted"
                    );
                    return Err(Error::abort(text).with_source(e));
                }
                Ok(reply)
            }
        }
    }
}

/// How [`crate::Imap4::login_auto`] logs in.
pub(crate) enum AutoLogin {
    /// AUTHENTICATE with SCRAM; a `-PLUS` one may be retried without
    /// binding ([`LoginPlan::retry_after`]).
    Scram(Box<Scram>),
    /// AUTHENTICATE PLAIN.
    Plain(Box<Plain>),
    /// The LOGIN command.
    Login,
}

/// What [`crate::Imap4::login_auto`] tries: a first way in and, when that
/// is a `-PLUS` mechanism, the same hash without binding if (and only if)
/// the server refuses the binding type and offers that mechanism too.
pub(crate) struct LoginPlan {
    pub(crate) first: AutoLogin,
    retry: Option<Scram>,
}

impl LoginPlan {
    /// The mechanism to try after `first` failed with `err`, if any: only
    /// after a refusal (never after an `abort`), only when the refusal was
    /// of the binding type, and only once.
    pub(crate) fn retry_after(&mut self, err: &Error) -> Option<Scram> {
        let AutoLogin::Scram(first) = &self.first else {
            return None;
        };
        if err.is_abort() || !first.binding_refused() {
            return None;
        }
        let retry = self.retry.take()?;
        tracing::info!(
            target: "imaplib::sasl",
            "the server refused {} with {} binding ({}); trying {} without channel binding",
            first.name(),
            first.channel_binding().type_name().unwrap_or("no"),
            err.message(),
            retry.name()
        );
        Some(retry)
    }
}

/// The strongest way to log in that both sides offer: SCRAM-SHA-256-PLUS
/// or SCRAM-SHA-1-PLUS over TLS (bound with `tls-exporter` under TLS 1.3,
/// `tls-server-end-point` otherwise) > SCRAM-SHA-256 > SCRAM-SHA-1 > PLAIN
/// (over TLS, or when the server does not say LOGINDISABLED) > the LOGIN
/// command (unless LOGINDISABLED). A password never goes out in cleartext
/// to a server that says LOGINDISABLED.
pub(crate) fn choose_login(
    session: &Session,
    tls: bool,
    bindings: TlsBindings,
    user: &str,
    password: &str,
) -> Result<LoginPlan> {
    let offers = |m: &str| session.has_capability(&format!("AUTH={m}"));
    let sasl_err = |e: SaslError| Error::error(e.to_string()).with_source(e);
    let binding = if tls { bindings.preferred() } else { None };
    let plan = |first: AutoLogin, retry: Option<Scram>| {
        match &first {
            AutoLogin::Scram(m) => tracing::debug!(
                target: "imaplib::sasl",
                "login_auto: {}{}",
                m.name(),
                m.channel_binding()
                    .type_name()
                    .map(|t| format!(" with {t} binding"))
                    .unwrap_or_default()
            ),
            AutoLogin::Plain(_) => {
                tracing::debug!(target: "imaplib::sasl", "login_auto: PLAIN")
            }
            AutoLogin::Login => tracing::debug!(target: "imaplib::sasl", "login_auto: LOGIN"),
        }
        Ok(LoginPlan { first, retry })
    };
    let hashes = [ScramHash::Sha256, ScramHash::Sha1];
    if let Some(binding) = &binding {
        for hash in hashes {
            if offers(&format!("{}-PLUS", hash.mechanism())) {
                let first = Scram::new(hash, user, password)
                    .and_then(|m| m.with_channel_binding(binding.clone()))
                    .map_err(sasl_err)?;
                // After a refused binding type the server is told the
                // client binds no more (`n`): with `y` a server that
                // offers -PLUS would take the retry for a downgrade.
                let retry = if offers(hash.mechanism()) {
                    Some(Scram::new(hash, user, password).map_err(sasl_err)?)
                } else {
                    None
                };
                return plan(AutoLogin::Scram(Box::new(first)), retry);
            }
        }
    }
    // `y` tells a server that binds that its -PLUS offer went missing.
    let server_binds = offers("SCRAM-SHA-256-PLUS") || offers("SCRAM-SHA-1-PLUS");
    let flag = if binding.is_some() && !server_binds {
        ChannelBinding::SupportedNotUsed
    } else {
        ChannelBinding::None
    };
    for hash in hashes {
        if offers(hash.mechanism()) {
            let m = Scram::new(hash, user, password)
                .and_then(|m| m.with_channel_binding(flag.clone()))
                .map_err(sasl_err)?;
            return plan(AutoLogin::Scram(Box::new(m)), None);
        }
    }
    let login_disabled = session.has_capability("LOGINDISABLED");
    if offers("PLAIN") && (tls || !login_disabled) {
        let m = Plain::new(user, password).map_err(sasl_err)?;
        return plan(AutoLogin::Plain(Box::new(m)), None);
    }
    if !login_disabled {
        return plan(AutoLogin::Login, None);
    }
    Err(Error::error(if tls {
        "the server says LOGINDISABLED and offers no mechanism this client supports"
    } else {
        "the server says LOGINDISABLED and offers no SCRAM mechanism: the password would \
         go out in cleartext; use STARTTLS first"
    }))
}
