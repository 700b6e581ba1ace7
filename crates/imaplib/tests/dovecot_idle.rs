//! IDLE against a real Dovecot: events as they arrive, a stop signal,
//! re-issuing, and dead or killed connections reported.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imaplib::types::{Typed, Untagged};
use imaplib::{ErrorKind, IdleEnd, IdleOptions, IdleStop, Imap4, Options, TlsConfig};
use support::both::Client;
use support::dovecot::Dovecot;

fn options() -> Options {
    Options::with_timeout(Duration::from_secs(20))
}

/// Over implicit TLS, as a real client would idle.
fn login_tls<C: Client>(server: &Dovecot) -> C {
    let options = Options {
        tls: TlsConfig::new().ca_file(&server.ca_file),
        ..options()
    };
    let mut m = C::ssl_with_options("localhost", server.imaps_port, options).unwrap();
    m.login("alice", "alicepw").unwrap();
    m.select("INBOX", false).unwrap();
    m
}

fn login_port<C: Client>(port: u16) -> C {
    let mut m = C::with_options("127.0.0.1", port, options()).unwrap();
    m.login("alice", "alicepw").unwrap();
    m.select("INBOX", false).unwrap();
    m
}

/// Appends a message from another connection after `delay`; returns when
/// the APPEND completed.
fn append_later(port: u16, delay: Duration) -> std::thread::JoinHandle<Instant> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let mut m = Imap4::with_options("127.0.0.1", port, options()).unwrap();
        m.login("alice", "alicepw").unwrap();
        m.append(None, None, None, "Subject: pushed\r\n\r\nhi\r\n")
            .unwrap();
        let done = Instant::now();
        m.logout().unwrap();
        done
    })
}

both! {
fn exists_arrives_within_a_second() {
    let server = Dovecot::start();
    let mut m: Imap4 = login_tls(&server);
    let writer = append_later(server.imap_port, Duration::from_millis(300));
    let mut seen_at = None;
    let outcome = m
        .idle_with(
            &IdleOptions {
                duration: Some(Duration::from_secs(10)),
                ..Default::default()
            },
            None,
            |ev| {
                if matches!(ev, Typed::Untagged(Untagged::Exists(1))) {
                    seen_at = Some(Instant::now());
                    return true;
                }
                false
            },
        )
        .unwrap();
    let appended = writer.join().unwrap();
    assert_eq!(outcome.end, IdleEnd::Condition);
    let lag = seen_at
        .expect("EXISTS seen")
        .saturating_duration_since(appended);
    println!("EXISTS seen {lag:?} after the APPEND completed");
    assert!(lag < Duration::from_secs(1), "EXISTS took {lag:?}");
    assert!(
        m.noop().unwrap().is_ok(),
        "the connection is usable after DONE"
    );
    m.logout().unwrap();
}
}

both! {
fn flag_change_arrives_as_fetch_and_stop_signal_ends_idle() {
    let server = Dovecot::start();
    server.deliver("alice", "INBOX", b"Subject: one\r\n\r\n1\r\n");
    let mut m: Imap4 = login_port(server.imap_port);
    let port = server.imap_port;
    let stop = IdleStop::new();
    let stopper = stop.clone();
    let saw_flags = Arc::new(AtomicBool::new(false));
    let saw = saw_flags.clone();
    let other = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut o: Imap4 = login_port(port);
        o.store("1", "+FLAGS", "(\\Flagged)").unwrap();
        o.logout().unwrap();
        // Stop once the watcher saw the change (or after 5 s anyway).
        let t = Instant::now();
        while !saw.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        stopper.stop();
    });
    let mut events = Vec::new();
    let outcome = m
        .idle_with(
            &IdleOptions {
                duration: Some(Duration::from_secs(15)),
                ..Default::default()
            },
            Some(&stop),
            |ev| {
                if let Typed::Untagged(Untagged::Fetch(f)) = ev {
                    if f.flags()
                        .is_some_and(|fl| fl.contains("\\Flagged"))
                    {
                        saw_flags.store(true, Ordering::SeqCst);
                    }
                }
                events.push(ev.clone());
                false
            },
        )
        .unwrap();
    other.join().unwrap();
    assert_eq!(outcome.end, IdleEnd::Stopped);
    assert!(
        saw_flags.load(Ordering::SeqCst),
        "no FETCH flag update in {events:?}"
    );
    m.logout().unwrap();
}
}

both! {
fn idle_is_reissued() {
    let server = Dovecot::start();
    let mut m: Imap4 = login_port(server.imap_port);
    let writer = append_later(server.imap_port, Duration::from_millis(900));
    let opts = IdleOptions {
        duration: Some(Duration::from_secs(10)),
        reissue_after: Duration::from_millis(250),
        ..Default::default()
    };
    let outcome = m
        .idle_with(&opts, None, |ev| {
            matches!(ev, Typed::Untagged(Untagged::Exists(_)))
        })
        .unwrap();
    writer.join().unwrap();
    assert_eq!(outcome.end, IdleEnd::Condition);
    assert!(
        outcome.reissued >= 2,
        "re-issued {} times",
        outcome.reissued
    );
    m.logout().unwrap();
}
}

/// A loopback proxy in front of Dovecot that can drop the connection or
/// stop forwarding.
struct Proxy {
    port: u16,
    kill: Arc<AtomicBool>,
    freeze: Arc<AtomicBool>,
}

impl Proxy {
    fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let kill = Arc::new(AtomicBool::new(false));
        let freeze = Arc::new(AtomicBool::new(false));
        let (k, f) = (kill.clone(), freeze.clone());
        std::thread::spawn(move || {
            let (client, _) = listener.accept().unwrap();
            let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server.try_clone().unwrap(), client.try_clone().unwrap()),
            ] {
                let (k, f) = (k.clone(), f.clone());
                std::thread::spawn(move || {
                    from.set_read_timeout(Some(Duration::from_millis(50)))
                        .unwrap();
                    let mut buf = [0u8; 16384];
                    loop {
                        if k.load(Ordering::SeqCst) {
                            let _ = from.shutdown(Shutdown::Both);
                            let _ = to.shutdown(Shutdown::Both);
                            return;
                        }
                        match from.read(&mut buf) {
                            Ok(0) => return,
                            Ok(n) => {
                                if !f.load(Ordering::SeqCst) && to.write_all(&buf[..n]).is_err() {
                                    return;
                                }
                            }
                            Err(_) => {}
                        }
                    }
                });
            }
        });
        Proxy { port, kill, freeze }
    }
}

both! {
fn killed_connection_is_reported() {
    let server = Dovecot::start();
    let proxy = Proxy::start(server.imap_port);
    let mut m: Imap4 = login_port(proxy.port);
    let kill = proxy.kill.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        kill.store(true, Ordering::SeqCst);
    });
    let start = Instant::now();
    let err = m
        .idle_with(
            &IdleOptions {
                duration: Some(Duration::from_secs(30)),
                ..Default::default()
            },
            None,
            |_| false,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "noticed after {:?}",
        start.elapsed()
    );
    assert_eq!(m.noop().unwrap_err().kind(), ErrorKind::Abort);
}
}

both! {
fn silent_connection_is_declared_dead() {
    let server = Dovecot::start();
    let proxy = Proxy::start(server.imap_port);
    let mut m: Imap4 = login_port(proxy.port);
    let freeze = proxy.freeze.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        freeze.store(true, Ordering::SeqCst);
    });
    let opts = IdleOptions {
        duration: Some(Duration::from_secs(30)),
        keepalive: Some(Duration::from_millis(800)),
        ..Default::default()
    };
    let start = Instant::now();
    let err = m.idle_with(&opts, None, |_| false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abort);
    assert!(err.message().contains("connection dead"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
}
}

both! {
fn compress_deflate_end_to_end() {
    let server = Dovecot::start();
    let mut m: Imap4 = login_tls(&server);
    m.unselect().unwrap();
    assert!(m.has_capability("COMPRESS=DEFLATE"));
    let reply = m.compress_deflate().unwrap();
    assert!(reply.is_ok());
    assert!(m.is_compressed());
    assert!(m.compress_deflate().is_err(), "only once");
    assert!(
        m.noop().unwrap().is_ok(),
        "a first command through compression"
    );
    let body: String = (0..2000)
        .map(|i| format!("line {i} of a compressible message\r\n"))
        .collect();
    let message = format!("Subject: squeezed\r\n\r\n{body}");
    assert!(m.append(None, None, None, &message).unwrap().is_ok());
    m.select("INBOX", false).unwrap();
    let reply = m.fetch("1", "(BODY.PEEK[])").unwrap();
    assert_eq!(
        reply.data[0].literal().unwrap().as_ref(),
        message.as_bytes()
    );
    let mut streamed = Vec::new();
    m.uid_fetch_to(1, "BODY.PEEK[]", &mut streamed).unwrap();
    assert_eq!(streamed, message.as_bytes());
    // IDLE works through compression too.
    let writer = append_later(server.imap_port, Duration::from_millis(200));
    let outcome = m
        .idle_with(
            &IdleOptions {
                duration: Some(Duration::from_secs(10)),
                ..Default::default()
            },
            None,
            |ev| matches!(ev, Typed::Untagged(Untagged::Exists(2))),
        )
        .unwrap();
    writer.join().unwrap();
    assert_eq!(outcome.end, IdleEnd::Condition);
    assert_eq!(m.logout().unwrap().typ, imaplib::Status::Bye);
}
}
