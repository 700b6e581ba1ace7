//! Real proxies for tests: `microsocks` (SOCKS5) and `tinyproxy` (HTTP
//! CONNECT) started on free loopback ports and killed on drop.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A proxy daemon, killed on drop.
pub struct Daemon {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A port nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn program(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let path = format!("{dir}/{name}");
        if std::path::Path::new(&path).exists() {
            return path;
        }
    }
    panic!("{name} is not installed: run scripts/install-deps.sh");
}

/// Starts `args` (which listen on `port`) and waits until it accepts.
fn start(args: Vec<String>, port: u16, log: PathBuf) -> Daemon {
    let out = std::fs::File::create(&log).expect("log file");
    let child = Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", args[0]));
    let daemon = Daemon { child, port, log };
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "{} did not listen on {port}: {}",
            args[0],
            std::fs::read_to_string(&daemon.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "proxy-{}-{name}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `microsocks` on a free port, with a user and password when given.
pub fn microsocks(credentials: Option<(&str, &str)>) -> Daemon {
    let port = free_port();
    let mut args = vec![
        program("microsocks"),
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
    ];
    if let Some((user, pass)) = credentials {
        args.extend(["-u".into(), user.into(), "-P".into(), pass.into()]);
    }
    start(args, port, scratch("microsocks").join("log"))
}

/// `tinyproxy` on a free port, with Basic authentication when given.
pub fn tinyproxy(credentials: Option<(&str, &str)>) -> Daemon {
    let port = free_port();
    let dir = scratch("tinyproxy");
    let mut conf = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nAllow 127.0.0.1\nLogLevel Info\n"
    );
    if let Some((user, pass)) = credentials {
        conf.push_str(&format!("BasicAuth {user} {pass}\n"));
    }
    let conf_path = dir.join("tinyproxy.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let args = vec![
        program("tinyproxy"),
        "-d".into(),
        "-c".into(),
        conf_path.display().to_string(),
    ];
    start(args, port, dir.join("log"))
}
