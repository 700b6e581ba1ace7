//! Integration tests of the built `imap` binary: against real Dovecot
//! (preauthenticated on stdin/stdout, TCP with STARTTLS, implicit TLS),
//! on the recorded corpus, on bad input, and side by side with Python's
//! imaplib.

#[path = "../../../imaplib/tests/support/dovecot.rs"]
mod dovecot;
#[path = "../../../imaplib/tests/support/proxies.rs"]
mod proxies;
#[path = "../../../imaplib/tests/support/scripted.rs"]
mod scripted;
mod support;

mod copy;
mod decode;
mod errors;
mod fetch;
mod hostile;
mod list;
mod proxy;
mod python;
mod shell;
mod sync;
