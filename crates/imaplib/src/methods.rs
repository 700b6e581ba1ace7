//! The plain imaplib methods, defined once for both clients.
//!
//! Each entry names a method, its parameters, and the command it sends
//! (built by [`imaplib_proto::command::build`], which also says how the
//! reply is shaped). `__imaplib_simple_commands!(blocking_methods)` expands
//! the list into blocking methods, `(async_methods)` into async ones;
//! methods with logic of their own (LOGIN, AUTHENTICATE, IDLE, STARTTLS...)
//! are written in each client.

/// The list. Invoke with the path of a generator macro. Exported (hidden)
/// so that the tests can build a client of their own from it.
#[doc(hidden)]
#[macro_export]
macro_rules! __imaplib_simple_commands {
    ($($gen:tt)+) => {
        $($gen)+! {
            /// CAPABILITY: the CAPABILITY data; also refreshes the
            /// capabilities.
            capability() => build::capability();
            /// CHECK.
            check() => build::check();
            /// CLOSE: expunges and deselects; the state is AUTH afterwards
            /// whatever the server said.
            close() => build::close();
            /// COPY message_set new_mailbox.
            copy(message_set: impl AsRef<[u8]>, new_mailbox: impl AsRef<[u8]>)
                => build::copy(message_set.as_ref(), new_mailbox.as_ref());
            /// CREATE mailbox.
            create(mailbox: impl AsRef<[u8]>) => build::create(mailbox.as_ref());
            /// DELETE mailbox.
            delete(mailbox: impl AsRef<[u8]>) => build::delete(mailbox.as_ref());
            /// DELETEACL mailbox who (RFC 4314).
            deleteacl(mailbox: impl AsRef<[u8]>, who: impl AsRef<[u8]>)
                => build::deleteacl(mailbox.as_ref(), who.as_ref());
            /// EXAMINE mailbox: SELECT read-only.
            examine(mailbox: impl AsRef<[u8]>) => build::select(mailbox.as_ref(), true);
            /// EXPUNGE: the EXPUNGE data.
            expunge() => build::expunge();
            /// FETCH message_set message_parts: the FETCH data, literals as
            /// `(header, literal)` pairs.
            fetch(message_set: impl AsRef<[u8]>, message_parts: impl AsRef<[u8]>)
                => build::fetch(message_set.as_ref(), message_parts.as_ref());
            /// GETACL mailbox: the ACL data.
            getacl(mailbox: impl AsRef<[u8]>) => build::getacl(mailbox.as_ref());
            /// GETANNOTATION mailbox entry attribute: the ANNOTATION data.
            getannotation(mailbox: impl AsRef<[u8]>, entry: impl AsRef<[u8]>, attribute: impl AsRef<[u8]>)
                => build::getannotation(mailbox.as_ref(), entry.as_ref(), attribute.as_ref());
            /// GETQUOTA root: the QUOTA data.
            getquota(root: impl AsRef<[u8]>) => build::getquota(root.as_ref());
            /// GETQUOTAROOT mailbox: `[QUOTAROOT list, QUOTA list]`, each a
            /// `Data::List`.
            getquotaroot(mailbox: impl AsRef<[u8]>) => build::getquotaroot(mailbox.as_ref());
            /// LIST directory pattern (imaplib's defaults: `""` and `*`).
            list(directory: Option<&str>, pattern: Option<&str>)
                => build::list(directory.unwrap_or("\"\"").as_bytes(), pattern.unwrap_or("*").as_bytes());
            /// LSUB directory pattern.
            lsub(directory: Option<&str>, pattern: Option<&str>)
                => build::lsub(directory.unwrap_or("\"\"").as_bytes(), pattern.unwrap_or("*").as_bytes());
            /// MOVE message_set new_mailbox (RFC 6851).
            r#move(message_set: impl AsRef<[u8]>, new_mailbox: impl AsRef<[u8]>)
                => build::move_(message_set.as_ref(), new_mailbox.as_ref());
            /// MYRIGHTS mailbox: the MYRIGHTS data.
            myrights(mailbox: impl AsRef<[u8]>) => build::myrights(mailbox.as_ref());
            /// NAMESPACE: the NAMESPACE data.
            namespace() => build::namespace();
            /// NOOP.
            noop() => build::noop();
            /// PARTIAL (obsolete): the FETCH data.
            partial(message_num: impl AsRef<[u8]>, message_part: impl AsRef<[u8]>, start: impl AsRef<[u8]>, length: impl AsRef<[u8]>)
                => build::partial(message_num.as_ref(), message_part.as_ref(), start.as_ref(), length.as_ref());
            /// PROXYAUTH user.
            proxyauth(user: impl AsRef<[u8]>) => build::proxyauth(user.as_ref());
            /// RENAME oldmailbox newmailbox.
            rename(oldmailbox: impl AsRef<[u8]>, newmailbox: impl AsRef<[u8]>)
                => build::rename(oldmailbox.as_ref(), newmailbox.as_ref());
            /// SELECT mailbox (INBOX if empty), or EXAMINE when `readonly`:
            /// the EXISTS data. Raises `readonly` if a writable SELECT got a
            /// read-only mailbox.
            select(mailbox: impl AsRef<[u8]>, readonly: bool) => build::select(mailbox.as_ref(), readonly);
            /// SETACL mailbox who what.
            setacl(mailbox: impl AsRef<[u8]>, who: impl AsRef<[u8]>, what: impl AsRef<[u8]>)
                => build::setacl(mailbox.as_ref(), who.as_ref(), what.as_ref());
            /// SETANNOTATION args...: the ANNOTATION data.
            setannotation(args: impl IntoIterator<Item = impl AsRef<[u8]>>) => build::setannotation(args);
            /// SETQUOTA root limits: the QUOTA data.
            setquota(root: impl AsRef<[u8]>, limits: impl AsRef<[u8]>)
                => build::setquota(root.as_ref(), limits.as_ref());
            /// SORT sort_criteria charset criteria... (RFC 5256): the SORT
            /// data.
            sort(sort_criteria: impl AsRef<[u8]>, charset: &str, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>)
                => build::sort(sort_criteria.as_ref(), charset, criteria);
            /// STATUS mailbox names: the STATUS data.
            status(mailbox: impl AsRef<[u8]>, names: impl AsRef<[u8]>)
                => build::status(mailbox.as_ref(), names.as_ref());
            /// STORE message_set command flags: the FETCH data.
            store(message_set: impl AsRef<[u8]>, command: impl AsRef<[u8]>, flags: impl AsRef<[u8]>)
                => build::store(message_set.as_ref(), command.as_ref(), flags.as_ref());
            /// SUBSCRIBE mailbox.
            subscribe(mailbox: impl AsRef<[u8]>) => build::subscribe(mailbox.as_ref());
            /// THREAD algorithm charset criteria... (RFC 5256): the THREAD
            /// data.
            thread(threading_algorithm: impl AsRef<[u8]>, charset: &str, criteria: impl IntoIterator<Item = impl AsRef<[u8]>>)
                => build::thread(threading_algorithm.as_ref(), charset, criteria);
            /// UID command args...: the SEARCH, SORT or THREAD data for those
            /// commands, the FETCH data otherwise.
            uid(command: &str, args: impl IntoIterator<Item = impl AsRef<[u8]>>) => build::uid(command, args);
            /// UNSELECT (RFC 3691): back to AUTH without expunging.
            unselect() => build::unselect();
            /// UNSUBSCRIBE mailbox.
            unsubscribe(mailbox: impl AsRef<[u8]>) => build::unsubscribe(mailbox.as_ref());
        }
    };
}

/// Generates blocking methods: `pub fn name(&mut self, ...) -> Result<Reply>`.
macro_rules! blocking_methods {
    ($( $(#[$doc:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) => $build:expr ; )*) => {
        $(
            $(#[$doc])*
            pub fn $name(&mut self $(, $arg: $ty)*) -> $crate::Result<imaplib_proto::Reply> {
                self.run_command($build)
            }
        )*
    };
}

/// Generates async methods: `pub async fn name(&mut self, ...) -> Result<Reply>`.
#[allow(unused_macros)]
macro_rules! async_methods {
    ($( $(#[$doc:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) => $build:expr ; )*) => {
        $(
            $(#[$doc])*
            pub async fn $name(&mut self $(, $arg: $ty)*) -> $crate::Result<imaplib_proto::Reply> {
                self.run_command($build).await
            }
        )*
    };
}

/// Generates the plain commands as operations on [`crate::engine::Conn`],
/// for the operations that use them.
macro_rules! conn_commands {
    ($( $(#[$doc:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) => $build:expr ; )*) => {
        $(
            $(#[$doc])*
            #[allow(dead_code)]
            pub(crate) async fn $name(&mut self $(, $arg: $ty)*) -> $crate::Result<imaplib_proto::Reply> {
                self.run($build).await
            }
        )*
    };
}

#[allow(unused_imports)]
pub(crate) use {async_methods, blocking_methods, conn_commands};
