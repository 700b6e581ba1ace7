//! The imaplib example, in Rust: fetch and print every message of a mailbox.
//!
//! Without arguments it starts a throwaway preauthenticated Dovecot on
//! stdin/stdout (IMAP4_stream), drops three messages into its INBOX, and
//! prints them. With an argument, that shell command is used as the server
//! instead (for example `ssh host /usr/lib/dovecot/imap`).
//!
//! Run: `scripts/demo.sh` (installs Dovecot if needed), or
//! `cargo run -p imaplib --example demo [-- 'COMMAND']`.

#[path = "../tests/support/dovecot.rs"]
mod dovecot;

use imaplib::{Imap4, Status};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut _server = None;
    let command = match std::env::args().nth(1) {
        Some(cmd) => cmd,
        None => {
            let server = dovecot::PreauthDovecot::new();
            for (i, subject) in ["Hello from the demo", "A second message", "Ünïcödé subject"]
                .iter()
                .enumerate()
            {
                let message = format!(
                    "From: Demo <demo@example.org>\r\nTo: You <you@example.org>\r\n\
                     Subject: {subject}\r\nDate: Thu, 26 Nov 2026 10:0{i}:00 +0000\r\n\
                     Message-ID: <demo-{i}@example.org>\r\n\r\nThis is message {}.\r\n",
                    i + 1
                );
                server.deliver("INBOX", message.as_bytes());
            }
            let cmd = server.command();
            _server = Some(server);
            cmd
        }
    };

    let mut m = Imap4::stream(&command)?;
    println!("Connected: {}", String::from_utf8_lossy(m.welcome()));
    println!("State {}, protocol {}", m.state(), m.protocol_version());
    m.select("INBOX", false)?;
    let found = m.search(None, ["ALL"])?;
    let numbers = found.data[0].as_bytes().cloned().unwrap_or_default();
    for num in numbers.split(|&b| b == b' ').filter(|n| !n.is_empty()) {
        let reply = m.fetch(num, "(RFC822)")?;
        assert_eq!(reply.typ, Status::Ok);
        let message = reply.data[0].literal().cloned().unwrap_or_default();
        println!(
            "Message {}\n{}\n",
            String::from_utf8_lossy(num),
            String::from_utf8_lossy(&message)
        );
    }
    m.close()?;
    let bye = m.logout()?;
    println!("Logout: {:?} {:?}", bye.typ, bye.data);
    Ok(())
}
