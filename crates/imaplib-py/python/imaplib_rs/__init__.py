"""imaplib_rs: Python's imaplib on a Rust IMAP engine.

``import imaplib_rs as imaplib`` gives imaplib's classes, functions and
constants; ``imaplib_rs.install()`` makes ``import imaplib`` return this
module, for libraries built on imaplib. The work is done by the native
``_IMAP4`` class; this file only declares what Python requires to be
written in Python: the classes with imaplib's constructors and their
nested exception classes.
"""

import sys as _sys

from ._native import (  # noqa: F401
    AllowedVersions,
    Commands,
    CRLF,
    IMAP4_PORT,
    IMAP4_SSL_PORT,
    Int2AP,
    Internaldate2tuple,
    ParseFlags,
    Time2Internaldate,
    _IMAP4,
    Idler as _Idler,
    _default_ssl_context,
    __version__,
    install,
)

__all__ = ["IMAP4", "IMAP4_stream", "Internaldate2tuple",
           "Int2AP", "ParseFlags", "Time2Internaldate",
           "IMAP4_SSL"]

Debug = 0

if _sys.version_info >= (3, 14):
    Idler = _Idler
_MAXLINE = 1000000


class IMAP4(_IMAP4):
    """IMAP4 client over TCP: ``IMAP4(host='', port=IMAP4_PORT,
    timeout=None)``; ``proxy='socks5://host:port'`` (or ``http://``)
    connects through a proxy."""

    class error(Exception): pass    # Logical errors - debug required
    class abort(error): pass        # Service errors - close and retry
    class readonly(abort): pass     # Mailbox status changed to READ-ONLY

    def __init__(self, host='', port=IMAP4_PORT, timeout=None, *, proxy=None):
        self._init(host, port, timeout, proxy)

    if _sys.version_info >= (3, 14):
        class _responsetimeout(TimeoutError): pass

        idle = _IMAP4._idle


class IMAP4_SSL(IMAP4):
    """IMAP4 client over TLS. Without ``ssl_context``, the certificate and
    host name are verified (``_default_ssl_context()``, which is
    ``ssl.create_default_context()``); pass
    ``ssl_context=ssl._create_unverified_context()`` to turn that off."""

    if _sys.version_info < (3, 12):
        def __init__(self, host='', port=IMAP4_SSL_PORT, keyfile=None,
                     certfile=None, ssl_context=None, timeout=None, *,
                     proxy=None):
            if ssl_context is not None and keyfile is not None:
                raise ValueError("ssl_context and keyfile arguments are "
                                 "mutually exclusive")
            if ssl_context is not None and certfile is not None:
                raise ValueError("ssl_context and certfile arguments are "
                                 "mutually exclusive")
            if keyfile is not None or certfile is not None:
                import warnings
                warnings.warn("keyfile and certfile are deprecated, use a "
                              "custom ssl_context instead",
                              DeprecationWarning, 2)
            self.keyfile = keyfile
            self.certfile = certfile
            if ssl_context is None:
                ssl_context = _default_ssl_context()
                if certfile:
                    ssl_context.load_cert_chain(certfile, keyfile)
            self.ssl_context = ssl_context
            IMAP4.__init__(self, host, port, timeout, proxy=proxy)
    else:
        def __init__(self, host='', port=IMAP4_SSL_PORT, *, ssl_context=None,
                     timeout=None, proxy=None):
            if ssl_context is None:
                ssl_context = _default_ssl_context()
            self.ssl_context = ssl_context
            IMAP4.__init__(self, host, port, timeout, proxy=proxy)

    _create_socket = _IMAP4._ssl_create_socket

    def open(self, host='', port=IMAP4_SSL_PORT, timeout=None):
        IMAP4.open(self, host, port, timeout)


class IMAP4_stream(IMAP4):
    """IMAP4 client over a child process's stdin/stdout:
    ``IMAP4_stream(command)``."""

    def __init__(self, command):
        self.command = command
        IMAP4.__init__(self)

    open = _IMAP4._stream_open
    read = _IMAP4._stream_read
    readline = _IMAP4._stream_readline
    send = _IMAP4._stream_send
    shutdown = _IMAP4._stream_shutdown
