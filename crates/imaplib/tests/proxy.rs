//! Connecting through proxies, on both clients: real ones started by the
//! tests (`microsocks` for SOCKS5, `tinyproxy` for HTTP CONNECT) carrying
//! plain, STARTTLS and TLS connections to Dovecot, and scripted proxies for
//! what real ones will not do (refusals, wrong credentials, malformed,
//! truncated or stalled answers, a greeting in the same segment as the
//! proxy's answer, and a certificate checked against the IMAP server's
//! name).

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use imaplib::{Options, Proxy, ProxyFailure, TlsConfig};
use support::both::Client;
use support::certs::Certs;
use support::dovecot::Dovecot;
use support::proxies::{free_port, microsocks, tinyproxy};

fn options(proxy: Proxy) -> Options {
    Options {
        proxy: Some(proxy),
        ..Options::with_timeout(Duration::from_secs(20))
    }
}

// ----- real proxies ----------------------------------------------------------

/// Logs in over plain TCP, STARTTLS and implicit TLS through `proxy`, and
/// selects INBOX each time.
fn three_ways<C: Client + 'static>(server: &Dovecot, proxy: &Proxy) {
    let tls = TlsConfig::new().ca_file(&server.ca_file);
    let (user, pass) = Dovecot::users()[0];

    let mut m = C::with_options("127.0.0.1", server.imap_port, options(proxy.clone()))
        .unwrap_or_else(|e| panic!("plain through {proxy}: {e}"));
    m.login(user, pass).unwrap();
    assert_eq!(m.select("INBOX", false).unwrap().typ, imaplib::Status::Ok);

    let tls_opts = Options {
        tls: tls.clone(),
        ..options(proxy.clone())
    };
    let mut m = C::with_options("127.0.0.1", server.imap_port, tls_opts.clone()).unwrap();
    starttls(&mut m);
    m.login(user, pass).unwrap();
    assert_eq!(m.select("INBOX", false).unwrap().typ, imaplib::Status::Ok);

    let mut m = C::ssl_with_options("127.0.0.1", server.imaps_port, tls_opts)
        .unwrap_or_else(|e| panic!("TLS through {proxy}: {e}"));
    m.login(user, pass).unwrap();
    assert_eq!(m.select("INBOX", false).unwrap().typ, imaplib::Status::Ok);
}

/// STARTTLS on either client (the trait has no such method).
fn starttls<C: Client + 'static>(m: &mut C) {
    let any: &mut dyn std::any::Any = m;
    if let Some(b) = any.downcast_mut::<imaplib::Imap4>() {
        b.starttls(None).expect("STARTTLS");
        return;
    }
    #[cfg(feature = "tokio")]
    if let Some(a) = any.downcast_mut::<support::both::AsyncClient>() {
        a.starttls(None).expect("STARTTLS");
        return;
    }
    unreachable!("an unknown client");
}

both! {
    fn socks5_carries_plain_starttls_and_tls_to_dovecot() {
        let server = Dovecot::start();
        let open = microsocks(None);
        three_ways::<Imap4>(&server, &Proxy::socks5("127.0.0.1", open.port));
        // The proxy resolves the server's name.
        let mut m = Imap4::with_options("localhost", server.imap_port,
            options(Proxy::socks5("127.0.0.1", open.port))).unwrap();
        m.noop().unwrap();

        let locked = microsocks(Some(("proxyuser", "proxy pw")));
        let good = Proxy::socks5("127.0.0.1", locked.port).with_credentials("proxyuser", "proxy pw");
        three_ways::<Imap4>(&server, &good);
        for proxy in [
            Proxy::socks5("127.0.0.1", locked.port),
            Proxy::socks5("127.0.0.1", locked.port).with_credentials("proxyuser", "wrong"),
        ] {
            let e = Imap4::with_options("127.0.0.1", server.imap_port, options(proxy.clone()))
                .expect_err("refused credentials");
            assert_eq!(e.proxy_failure(), Some(ProxyFailure::Credentials), "{proxy}: {e}");
            assert!(e.is_abort());
        }
        // Nothing listens on the target port: the proxy says so.
        let e = Imap4::with_options("127.0.0.1", free_port(), options(Proxy::socks5("127.0.0.1", open.port)))
            .expect_err("no server");
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Target), "{e}");
    }
}

both! {
    fn http_connect_carries_plain_starttls_and_tls_to_dovecot() {
        let server = Dovecot::start();
        let open = tinyproxy(None);
        three_ways::<Imap4>(&server, &Proxy::http("127.0.0.1", open.port));

        let locked = tinyproxy(Some(("proxyuser", "proxypw")));
        let good = Proxy::http("127.0.0.1", locked.port).with_credentials("proxyuser", "proxypw");
        three_ways::<Imap4>(&server, &good);
        for proxy in [
            Proxy::http("127.0.0.1", locked.port),
            Proxy::http("127.0.0.1", locked.port).with_credentials("proxyuser", "wrong"),
        ] {
            let e = Imap4::with_options("127.0.0.1", server.imap_port, options(proxy.clone()))
                .expect_err("refused credentials");
            assert_eq!(e.proxy_failure(), Some(ProxyFailure::Credentials), "{proxy}: {e}");
            assert!(e.message().contains("(407 ") || e.message().contains("(401 "), "{e}");
        }
        let e = Imap4::with_options("127.0.0.1", free_port(), options(Proxy::http("127.0.0.1", open.port)))
            .expect_err("no server");
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Target), "{e}");
    }
}

// ----- scripted proxies ------------------------------------------------------

/// A proxy that serves one connection with `script` on a thread.
fn scripted<F>(script: F) -> (u16, JoinHandle<()>)
where
    F: FnOnce(TcpStream) + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        script(conn)
    });
    (port, handle)
}

fn read_n(conn: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    conn.read_exact(&mut buf).expect("the client's bytes");
    buf
}

/// Reads a SOCKS5 greeting and CONNECT request (no authentication) and
/// returns the requested host and port.
fn socks5_request(conn: &mut TcpStream) -> (String, u16) {
    let head = read_n(conn, 2);
    assert_eq!(head[0], 5);
    let methods = read_n(conn, head[1] as usize);
    assert!(methods.contains(&0));
    conn.write_all(&[5, 0]).unwrap();
    let req = read_n(conn, 4);
    assert_eq!(&req[..3], &[5, 1, 0]);
    assert_eq!(req[3], 3, "the name goes to the proxy, not an address");
    let len = read_n(conn, 1)[0] as usize;
    let host = String::from_utf8(read_n(conn, len)).unwrap();
    let port = read_n(conn, 2);
    (host, u16::from_be_bytes([port[0], port[1]]))
}

fn http_request(conn: &mut TcpStream) -> String {
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\n") {
        got.extend(read_n(conn, 1));
    }
    String::from_utf8(got).unwrap()
}

fn connect_err<C: Client>(port: u16, proxy: Proxy, wait: Duration) -> imaplib::Error {
    let opts = Options {
        connect_timeout: Some(wait),
        ..options(proxy)
    };
    match C::with_options("imap.example.org", 143, opts) {
        Ok(_) => panic!("connected through a failing proxy on {port}"),
        Err(e) => e,
    }
}

both! {
    fn a_greeting_in_the_proxys_segment_is_not_lost() {
        let (port, proxy) = scripted(|mut conn| {
            let (host, port) = socks5_request(&mut conn);
            assert_eq!((host.as_str(), port), ("imap.example.org", 143));
            // Reply, greeting and nothing else, in one write.
            conn.write_all(b"\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x8f* OK [CAPABILITY IMAP4rev1] hi\r\n")
                .unwrap();
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                line.extend(read_n(&mut conn, 1));
            }
            let tag = String::from_utf8_lossy(&line).split(' ').next().unwrap().to_string();
            assert!(String::from_utf8_lossy(&line).ends_with("NOOP\r\n"), "{line:?}");
            conn.write_all(format!("{tag} OK done\r\n").as_bytes()).unwrap();
        });
        let mut m = Imap4::with_options("imap.example.org", 143, options(Proxy::socks5("127.0.0.1", port)))
            .expect("greeted through the proxy");
        assert_eq!(m.capabilities(), ["IMAP4REV1"]);
        m.noop().unwrap();
        proxy.join().unwrap();

        let (port, proxy) = scripted(|mut conn| {
            let req = http_request(&mut conn);
            assert!(req.starts_with("CONNECT imap.example.org:143 HTTP/1.1\r\n"), "{req}");
            assert!(req.contains("Proxy-Authorization: Basic dTpw\r\n"), "{req}");
            conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n* OK [CAPABILITY IMAP4rev1] hi\r\n")
                .unwrap();
            let _ = conn.read(&mut [0u8; 1]);
        });
        let proxy_cfg = Proxy::http("127.0.0.1", port).with_credentials("u", "p");
        let m = Imap4::with_options("imap.example.org", 143, options(proxy_cfg)).expect("greeted");
        assert_eq!(m.capabilities(), ["IMAP4REV1"]);
        drop(m);
        proxy.join().unwrap();
    }
}

both! {
    fn proxy_failures_are_told_apart() {
        let wait = Duration::from_secs(5);
        type Script = Box<dyn FnOnce(TcpStream) + Send>;
        let cases: Vec<(&str, Proxy, Script, ProxyFailure)> = vec![
            ("SOCKS5 refusal", Proxy::socks5("127.0.0.1", 0), Box::new(|mut c: TcpStream| {
                socks5_request(&mut c);
                c.write_all(&[5, 2, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
            }), ProxyFailure::Target),
            ("SOCKS5 wrong credentials", Proxy::socks5("127.0.0.1", 0).with_credentials("u", "bad"),
             Box::new(|mut c: TcpStream| {
                assert_eq!(read_n(&mut c, 4), [5, 2, 0, 2]);
                c.write_all(&[5, 2]).unwrap();
                assert_eq!(read_n(&mut c, 7), [1, 1, b'u', 3, b'b', b'a', b'd']);
                c.write_all(&[1, 1]).unwrap();
            }), ProxyFailure::Credentials),
            ("SOCKS5 wants a login", Proxy::socks5("127.0.0.1", 0), Box::new(|mut c: TcpStream| {
                read_n(&mut c, 3);
                c.write_all(&[5, 0xff]).unwrap();
            }), ProxyFailure::Credentials),
            ("an IMAP server, not a proxy", Proxy::socks5("127.0.0.1", 0), Box::new(|mut c: TcpStream| {
                c.write_all(b"* OK IMAP4rev1 ready\r\n").unwrap();
                let _ = c.read(&mut [0u8; 64]);
            }), ProxyFailure::Protocol),
            ("SOCKS5 truncated", Proxy::socks5("127.0.0.1", 0), Box::new(|mut c: TcpStream| {
                socks5_request(&mut c);
                c.write_all(&[5, 0, 0]).unwrap();
            }), ProxyFailure::Protocol),
            ("HTTP 407", Proxy::http("127.0.0.1", 0), Box::new(|mut c: TcpStream| {
                http_request(&mut c);
                c.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                    Proxy-Authenticate: Basic realm=\"x\"\r\n\r\n").unwrap();
            }), ProxyFailure::Credentials),
            ("HTTP 403", Proxy::http("127.0.0.1", 0), Box::new(|mut c: TcpStream| {
                http_request(&mut c);
                c.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").unwrap();
            }), ProxyFailure::Target),
            ("not HTTP", Proxy::http("127.0.0.1", 0), Box::new(|mut c: TcpStream| {
                http_request(&mut c);
                c.write_all(b"\x05\x00garbage\r\n\r\n").unwrap();
            }), ProxyFailure::Protocol),
            ("HTTP truncated", Proxy::http("127.0.0.1", 0), Box::new(|mut c: TcpStream| {
                http_request(&mut c);
                c.write_all(b"HTTP/1.1 200 Conn").unwrap();
            }), ProxyFailure::Protocol),
        ];
        for (what, mut proxy, script, want) in cases {
            let (port, handle) = scripted(script);
            proxy.port = port;
            let e = connect_err::<Imap4>(port, proxy, wait);
            assert_eq!(e.proxy_failure(), Some(want), "{what}: {e}");
            assert!(e.is_abort(), "{what}: {e}");
            handle.join().unwrap();
        }

        // Nothing listens where the proxy should be.
        let e = connect_err::<Imap4>(0, Proxy::socks5("127.0.0.1", free_port()), wait);
        assert_eq!(e.proxy_failure(), Some(ProxyFailure::Unreachable), "{e}");
        assert!(e.message().contains("cannot reach the proxy"), "{e}");
    }
}

both! {
    fn a_stalled_proxy_meets_the_connect_timeout() {
        for proxy in [Proxy::socks5("127.0.0.1", 0), Proxy::http("127.0.0.1", 0)] {
            let (port, handle) = scripted(|mut c| {
                // Reads the request, then says nothing until the client leaves.
                let _ = c.read(&mut [0u8; 512]);
                let _ = c.read(&mut [0u8; 512]);
            });
            let started = Instant::now();
            let e = connect_err::<Imap4>(port, Proxy { port, ..proxy }, Duration::from_millis(400));
            let took = started.elapsed();
            assert_eq!(e.proxy_failure(), Some(ProxyFailure::Unreachable), "{e}");
            assert!(e.message().contains("did not answer in time"), "{e}");
            assert!(took >= Duration::from_millis(350) && took < Duration::from_secs(5), "{took:?}");
            handle.join().unwrap();
        }
    }
}

both! {
    fn tls_through_a_proxy_checks_the_servers_name() {
        // The proxy answers for any name and then is the TLS server, whose
        // certificate is for imap.example.org only (the proxy is 127.0.0.1).
        let serve = |expect_ok: bool| {
            scripted(move |mut conn| {
                socks5_request(&mut conn);
                conn.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 1]).unwrap();
                let tls = rustls::ServerConnection::new(Certs::get().wrong_host.clone()).unwrap();
                let mut s = rustls::StreamOwned::new(tls, conn);
                if s.write_all(b"* OK [CAPABILITY IMAP4rev1] tls\r\n").is_ok() && expect_ok {
                    let mut line = Vec::new();
                    let mut b = [0u8; 1];
                    while !line.ends_with(b"\r\n") && s.read(&mut b).unwrap_or(0) == 1 {
                        line.push(b[0]);
                    }
                    let tag = String::from_utf8_lossy(&line).split(' ').next().unwrap().to_string();
                    let _ = s.write_all(format!("{tag} OK noop\r\n").as_bytes());
                    let _ = s.flush();
                }
            })
        };
        let tls = TlsConfig::new().ca_file(Certs::get().ca_file());
        let (port, handle) = serve(true);
        let opts = Options { tls: tls.clone(), ..options(Proxy::socks5("127.0.0.1", port)) };
        let mut m = Imap4::ssl_with_options("imap.example.org", 993, opts).expect("TLS for imap.example.org");
        m.noop().unwrap();
        drop(m);
        handle.join().unwrap();

        let (port, handle) = serve(false);
        let opts = Options { tls, ..options(Proxy::socks5("127.0.0.1", port)) };
        let e = Imap4::ssl_with_options("localhost", 993, opts).expect_err("a certificate for another name");
        assert_eq!(e.proxy_failure(), None, "{e}");
        assert!(e.message().contains("certificate"), "{e}");
        handle.join().unwrap();
    }
}
