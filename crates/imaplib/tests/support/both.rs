//! Running the same test against both clients.
//!
//! [`both!`] turns one test body into two tests: one with the blocking
//! [`imaplib::Imap4`], one (with the `tokio` feature) with [`AsyncClient`],
//! which drives an [`imaplib::AsyncImap4`] on a runtime of its own behind
//! the blocking client's signatures. Inside the body the name `Imap4` is
//! the client under test. `AsyncClient`'s methods are generated from the
//! library's own method lists, so it has every method the two clients
//! share.
#![allow(dead_code)]

/// Two tests from one body: `NAME::blocking` and `NAME::asynchronous`.
#[macro_export]
macro_rules! both {
    ($(#[$attr:meta])* fn $name:ident() $body:block) => {
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn blocking() {
                #[allow(dead_code)]
                type Imap4 = imaplib::Imap4;
                $body
            }

            #[cfg(feature = "tokio")]
            #[test]
            fn asynchronous() {
                #[allow(dead_code)]
                type Imap4 = $crate::support::both::AsyncClient;
                $body
            }
        }
    };
}

/// imaplib's `socket()` where the client has one to show: `Some(true)`
/// when the blocking client has a TCP socket, `Some(false)` when it has
/// none, `None` for the async client (its socket stays inside tokio).
pub fn socket_of(m: &dyn std::any::Any) -> Option<bool> {
    m.downcast_ref::<imaplib::Imap4>()
        .map(|m| m.socket().is_some())
}

/// A client the tests can create whichever it is.
pub trait Client: Sized {
    /// Plain TCP with options.
    fn with_options(host: &str, port: u16, options: imaplib::Options) -> imaplib::Result<Self>;
    /// Implicit TLS with options.
    fn ssl_with_options(host: &str, port: u16, options: imaplib::Options) -> imaplib::Result<Self>;
    /// A child process with options.
    fn stream_with_options(command: &str, options: imaplib::Options) -> imaplib::Result<Self>;
    /// NOOP.
    fn noop(&mut self) -> imaplib::Result<imaplib::Reply>;
    /// SELECT or EXAMINE.
    fn select(&mut self, mailbox: &str, readonly: bool) -> imaplib::Result<imaplib::Reply>;
    /// The capabilities.
    fn capabilities(&self) -> &[String];
    /// LOGIN.
    fn login(&mut self, user: &str, password: &str) -> imaplib::Result<imaplib::Reply>;
    /// imaplib's `untagged_responses`.
    fn untagged_responses(&self) -> &std::collections::HashMap<String, Vec<imaplib::Data>>;
}

/// The trait methods that only forward to the client's own.
macro_rules! forward_client_methods {
    ($t:ty) => {
        fn noop(&mut self) -> imaplib::Result<imaplib::Reply> {
            <$t>::noop(self)
        }
        fn select(&mut self, mailbox: &str, readonly: bool) -> imaplib::Result<imaplib::Reply> {
            <$t>::select(self, mailbox, readonly)
        }
        fn capabilities(&self) -> &[String] {
            <$t>::capabilities(self)
        }
        fn login(&mut self, user: &str, password: &str) -> imaplib::Result<imaplib::Reply> {
            <$t>::login(self, user, password)
        }
        fn untagged_responses(&self) -> &std::collections::HashMap<String, Vec<imaplib::Data>> {
            <$t>::untagged_responses(self)
        }
    };
}

impl Client for imaplib::Imap4 {
    fn with_options(host: &str, port: u16, options: imaplib::Options) -> imaplib::Result<Self> {
        imaplib::Imap4::with_options(host, port, options)
    }
    fn ssl_with_options(host: &str, port: u16, options: imaplib::Options) -> imaplib::Result<Self> {
        imaplib::Imap4::ssl_with_options(host, port, options)
    }
    fn stream_with_options(command: &str, options: imaplib::Options) -> imaplib::Result<Self> {
        imaplib::Imap4::stream_with_options(command, options)
    }
    forward_client_methods!(imaplib::Imap4);
}

#[cfg(feature = "tokio")]
#[allow(unused_imports)]
pub use self::asynchronous::AsyncClient;

#[cfg(feature = "tokio")]
mod asynchronous {
    use std::io::{Read, Write};
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use imaplib::{AsyncImap4, DateInput, Options, Reply, Result};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    /// [`AsyncImap4`] behind blocking signatures.
    pub struct AsyncClient {
        rt: tokio::runtime::Runtime,
        m: AsyncImap4,
    }

    impl std::fmt::Debug for AsyncClient {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.m.fmt(f)
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    }

    macro_rules! facade_methods {
        ($( $(#[$doc:meta])* fn $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty ; )*) => {
            $(
                pub fn $name(&mut self $(, $arg: $ty)*) -> imaplib::Result<$ret> {
                    self.rt.block_on(self.m.$name($($arg),*))
                }
            )*
        };
    }

    macro_rules! facade_simple {
        ($( $(#[$doc:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) => $build:expr ; )*) => {
            $(
                pub fn $name(&mut self $(, $arg: $ty)*) -> imaplib::Result<imaplib::Reply> {
                    self.rt.block_on(self.m.$name($($arg),*))
                }
            )*
        };
    }

    macro_rules! facade_accessors {
        () => {};
        ($(#[$doc:meta])* fn $name:ident (&self $(, $arg:ident : $ty:ty)*) -> $ret:ty ; $($rest:tt)*) => {
            pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.m.$name($($arg),*)
            }
            facade_accessors!($($rest)*);
        };
        ($(#[$doc:meta])* fn $name:ident (&mut self $(, $arg:ident : $ty:ty)*) -> $ret:ty ; $($rest:tt)*) => {
            pub fn $name(&mut self $(, $arg: $ty)*) -> $ret {
                self.m.$name($($arg),*)
            }
            facade_accessors!($($rest)*);
        };
    }

    impl AsyncClient {
        imaplib::__imaplib_methods!(facade_methods);
        imaplib::__imaplib_simple_commands!(facade_simple);
        imaplib::__imaplib_accessors!(facade_accessors);

        fn started(
            connect: impl std::future::Future<Output = Result<AsyncImap4>>,
        ) -> Result<AsyncClient> {
            let rt = runtime();
            let m = rt.block_on(connect)?;
            Ok(AsyncClient { rt, m })
        }

        /// Plain TCP, default options.
        pub fn new(host: &str, port: u16) -> Result<AsyncClient> {
            Self::started(AsyncImap4::new(host, port))
        }

        /// Plain TCP.
        pub fn with_options(host: &str, port: u16, options: Options) -> Result<AsyncClient> {
            Self::started(AsyncImap4::with_options(host, port, options))
        }

        /// Implicit TLS, default options.
        pub fn ssl(host: &str, port: u16) -> Result<AsyncClient> {
            Self::started(AsyncImap4::ssl(host, port))
        }

        /// Implicit TLS.
        pub fn ssl_with_options(host: &str, port: u16, options: Options) -> Result<AsyncClient> {
            Self::started(AsyncImap4::ssl_with_options(host, port, options))
        }

        /// A child process, default options.
        pub fn stream(command: &str) -> Result<AsyncClient> {
            Self::started(AsyncImap4::stream(command))
        }

        /// A child process.
        pub fn stream_with_options(command: &str, options: Options) -> Result<AsyncClient> {
            Self::started(AsyncImap4::stream_with_options(command, options))
        }

        pub fn open(&mut self, host: &str, port: u16) -> Result<()> {
            self.rt.block_on(self.m.open(host, port))
        }

        pub fn run_command(&mut self, cmd: imaplib::imaplib_proto::Command) -> Result<Reply> {
            self.rt.block_on(self.m.run_command(cmd))
        }

        pub fn set_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
            self.m.set_timeout(timeout);
            Ok(())
        }

        pub fn shutdown(&mut self) -> Result<()> {
            self.rt.block_on(self.m.shutdown());
            Ok(())
        }

        pub fn channel_binding(&self) -> Option<Vec<u8>> {
            self.m.channel_binding()
        }

        pub fn tls_server_end_point(&self) -> Option<Vec<u8>> {
            self.m.tls_server_end_point()
        }

        pub fn is_compressed(&self) -> bool {
            self.m.is_compressed()
        }

        pub fn uid_fetch_to(&mut self, uid: u32, item: &str, sink: &mut dyn Write) -> Result<u64> {
            let mut sink = StdWrite(sink);
            self.rt.block_on(self.m.uid_fetch_to(uid, item, &mut sink))
        }

        pub fn append_from(
            &mut self,
            mailbox: Option<&str>,
            flags: Option<&str>,
            date_time: Option<DateInput>,
            source: &mut dyn Read,
            len: u64,
            progress: impl FnMut(u64),
        ) -> Result<Reply> {
            let mut source = StdRead(source);
            let op = self
                .m
                .append_from(mailbox, flags, date_time, &mut source, len, progress);
            self.rt.block_on(op)
        }
    }

    impl super::Client for AsyncClient {
        fn with_options(host: &str, port: u16, options: Options) -> Result<Self> {
            AsyncClient::with_options(host, port, options)
        }
        fn ssl_with_options(host: &str, port: u16, options: Options) -> Result<Self> {
            AsyncClient::ssl_with_options(host, port, options)
        }
        fn stream_with_options(command: &str, options: Options) -> Result<Self> {
            AsyncClient::stream_with_options(command, options)
        }
        forward_client_methods!(AsyncClient);
    }

    /// A blocking writer as tokio's (it never waits).
    struct StdWrite<'a>(&'a mut dyn Write);

    impl AsyncWrite for StdWrite<'_> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(self.0.write(buf))
        }
        fn poll_flush(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Poll::Ready(self.0.flush())
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A blocking reader as tokio's (it never waits).
    struct StdRead<'a>(&'a mut dyn Read);

    impl AsyncRead for StdRead<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = self.0.read(buf.initialize_unfilled())?;
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
    }
}
