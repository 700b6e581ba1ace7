//! `imap`: a command-line IMAP client on top of the `imaplib` crate.
//!
//! - `imap list` shows mailboxes (and their counts with `--status`);
//! - `imap fetch MAILBOX` downloads messages to stdout, a Maildir, an mbox
//!   or `.eml` files, incrementally;
//! - `imap shell` runs imaplib calls, one per line, printing results
//!   readably or as JSON;
//! - `imap decode` turns a recorded server transcript into JSON, one object
//!   per response.
//!
//! Every failure is one line on stderr and a distinct exit status (see
//! `imap --help`).

#![forbid(unsafe_code)]

mod connect;
mod copy;
mod decode;
mod exit;
mod fetch;
mod json;
mod list;
mod shell;
mod store;
mod sync;
mod term;
mod typed;
mod words;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::connect::ConnectArgs;
use crate::exit::{CliError, CliResult, Exit, EXIT_HELP};

/// Examples at the end of `imap --help`.
const MAIN_EXAMPLES: &str = "\
Examples:
  imap list --url imaps://alice@mail.example.org/ --status
  imap fetch INBOX --url imaps://alice@mail.example.org/ --out mail --format maildir
  imap fetch --url imaps://alice@mail.example.org/Archive --search 'SINCE 1-Jan-2024' --out arch
  echo 'select INBOX' | imap shell --json --stream '/usr/lib/dovecot/imap'
  imap decode transcript.txt

The password comes from --password-env VAR, --password-file FILE, or a prompt
on the terminal; never from the command line.";

/// Examples at the end of `imap list --help`.
const LIST_EXAMPLES: &str = "\
Examples:
  imap list --url imaps://alice@mail.example.org/
  imap list 'Archive/%' --status --host mail.example.org --tls --user alice
  imap list --json --stream 'ssh mailhost /usr/lib/dovecot/imap'";

/// Examples and notes at the end of `imap fetch --help`.
const FETCH_EXAMPLES: &str = "\
Examples:
  imap fetch INBOX --url imaps://alice@mail.example.org/          (print every message)
  imap fetch INBOX --url imaps://alice@mail.example.org/ --out mail
  imap fetch Sent --url imaps://alice@mail.example.org/ --out sent.d --format mbox
  imap fetch INBOX --host mail.example.org --starttls --user alice \\
      --password-env IMAP_PASSWORD --search 'UNSEEN FROM bob' --out new --format eml

With --out, the directory remembers the mailbox's UIDVALIDITY and the highest
UID saved (in .imap-fetch.json): running the same command again fetches only
new messages. Messages are fetched in batches; each message goes to a file
under a temporary name as it arrives (never held in memory whole) and is
renamed once complete, and a run that stops half-way keeps every complete
batch. If the server renumbered the mailbox (UIDVALIDITY changed) nothing is
written and the exit status is 7.";

const SYNC_EXAMPLES: &str = "\
Examples:
  imap sync --url imaps://alice@mail.example.org/ --out ~/Mail
  imap sync --url imaps://alice@mail.example.org/ --out ~/Mail --mailbox INBOX --mailbox 'Work/*'
  imap sync --url imaps://alice@mail.example.org/ --out ~/Mail --pull --dry-run
  imap sync --url imaps://alice@mail.example.org/ --out ~/Mail --watch --interval 600

Each mailbox is a Maildir under DIR (hierarchy as directories, names in
UTF-8). New messages, flag changes and deletions go both ways (--pull: from
the server only; --push: to the server only). Flags merge: additions from
both sides are kept, a removal on either side wins. A message deleted on one
side and changed on the other is kept. The state (DIR/.imap-sync) is written
after the files it names, so a run killed at any moment loses nothing and
duplicates nothing: run it again. If the server renumbered a mailbox
(UIDVALIDITY changed), its messages are matched again by Message-ID and size,
without downloading them, and no local message is removed.

Copying to another server (--to-url or --to-stream instead of --out):
  imap sync --url imaps://alice@old.example.org/ --password-env OLD_PW \\
      --to-url imaps://alice@new.example.org/ --to-password-env NEW_PW
  imap sync ... --to-url ... --map 'Archives=Old mail' --mailbox 'Archives*' --dry-run

One way, source to destination: mailboxes are created (delimiters converted,
--map renames) and subscribed as on the source; messages arrive byte for byte
with their flags, keywords and INTERNALDATE; a repeated run copies what is new
and the source's flag changes. Nothing is removed from the destination unless
--delete is given. A run killed at any moment is completed by the next one
without duplicates (the state maps UIDs; what reached the destination is found
there by Message-ID, INTERNALDATE and size, also when the state is lost).
Messages over the destination's APPENDLIMIT are listed and skipped, and a
mailbox the destination refuses is reported and the others copied (exit 12).";

/// The line format, output format and examples of `imap shell --help`.
const SHELL_EXAMPLES: &str = "\
Each line is an imaplib method and its arguments, split like a POSIX shell:
  select INBOX
  search None UNSEEN 'FROM \"Bob\"'
  fetch 1:3 '(FLAGS BODY.PEEK[HEADER])'
  uid STORE 42 +FLAGS '(\\Seen)'
  append Archive None None @message.eml
  idle 30
Quote every argument that holds a space or a backslash, as in a shell. None is
imaplib's None, True/False are booleans, @PATH is the content of a file
(quoted, each is plain text). `help` lists the calls.

With --json each call prints exactly one line:
  {\"typ\": \"OK\", \"data\": [ITEM, ...]}
where ITEM is a string (bytes that are UTF-8), {\"base64\": \"...\"} (other bytes),
[HEADER, LITERAL] (an item that carried a literal) or null (None); or
  {\"error\": {\"kind\": \"error\" | \"abort\" | \"readonly\" | \"usage\", \"message\": \"...\"}}
Attributes (state, capabilities, welcome...) and read/readline print
{\"result\": VALUE}; idle adds \"responses\": [[NAME, [ITEM, ...]], ...].

Examples:
  imap shell --url imaps://alice@mail.example.org/
  imap shell --json calls.txt --stream '/usr/lib/dovecot/imap'
  printf 'select INBOX\\nfetch 1 (FLAGS)\\n' | imap shell --json --url imap://alice@localhost/

Without -e, the shell runs every line and exits 2 if some line could not be
run, else 5 if some call raised `error`; a lost connection (`abort`) stops it
with status 6.";

/// The output format and examples of `imap decode --help`.
const DECODE_EXAMPLES: &str = "\
Prints one JSON object per server response: kind (greeting, untagged, tagged,
continuation, unparsed), tag, name and number (untagged), status, code
({\"name\", \"args\"}), text, data (imaplib's data items), raw (the bytes
received) and typed: the response decoded, {\"type\": \"fetch\" | \"list\" |
\"status\" | \"esearch\" | \"thread\" | \"condition\" | \"tagged\" | ..., ...} with
FETCH items (ENVELOPE, BODYSTRUCTURE, sections...), response codes, sequence
sets (\"1:3,7\") and dates (RFC 3339) typed. A response that cannot be parsed
or typed has an \"error\" field (a FETCH item that cannot be typed keeps its
\"raw\" bytes and an \"error\"), and decoding goes on with the next one.

Examples:
  imap decode transcript.txt
  imap decode --greeting no < reply.txt | jq .kind
  imap decode transcript.txt | jq -c 'select(.typed.type == \"fetch\") | .typed.items'";

/// A command-line IMAP client: list mailboxes, download messages, run
/// imaplib calls, decode server transcripts.
#[derive(Parser, Debug)]
#[command(
    name = "imap",
    version,

    after_help = format!("{MAIN_EXAMPLES}\n\n{EXIT_HELP}"),
    disable_help_subcommand = true
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List mailboxes with their attributes (and counts with --status).
    #[command(after_help = format!("{LIST_EXAMPLES}\n\n{EXIT_HELP}"))]
    List(list::ListArgs),
    /// Download a mailbox's messages: to stdout, or incrementally to a
    /// Maildir, an mbox or .eml files.
    #[command(after_help = format!("{FETCH_EXAMPLES}\n\n{EXIT_HELP}"))]
    Fetch(fetch::FetchArgs),
    /// Mirror the account (or some mailboxes) into Maildirs under a
    /// directory, and keep both sides current: new messages, flags and
    /// deletions go both ways.
    #[command(after_help = format!("{SYNC_EXAMPLES}\n\n{EXIT_HELP}"))]
    Sync(Box<sync::SyncArgs>),
    /// Run imaplib calls, one per line, from the terminal, a file or stdin.
    #[command(after_help = format!("{SHELL_EXAMPLES}\n\n{EXIT_HELP}"))]
    Shell(shell::ShellArgs),
    /// Decode server-to-client bytes (a recorded transcript) into JSON
    /// lines, one per response.
    #[command(after_help = format!("{DECODE_EXAMPLES}\n\n{EXIT_HELP}"))]
    Decode(DecodeArgs),
}

/// Options of `imap decode`.
#[derive(clap::Args, Debug)]
struct DecodeArgs {
    /// The transcript ("-" or nothing: standard input).
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Whether the first response is the server's greeting.
    #[arg(long, value_enum, default_value = "auto")]
    greeting: decode::Greeting,
}

/// Sends the library's log (the protocol trace with -v) to stderr.
fn set_up_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    // Server text reaches the log (mailbox names in commands, warnings):
    // no colours, and control characters escaped.
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(|| term::SafeStderr)
        .with_ansi(false)
        .without_time()
        .with_target(verbose > 1)
        .try_init();
}

/// Runs the subcommand.
fn run(cli: Cli) -> CliResult<()> {
    match &cli.command {
        Command::Decode(args) => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match &args.file {
                Some(p) if p.as_os_str() != "-" => {
                    let mut f = std::fs::File::open(p).map_err(|e| {
                        CliError::local(format!("cannot open {}: {e}", p.display()))
                    })?;
                    decode::run(&mut f, &mut out, args.greeting)
                }
                _ => decode::run(&mut std::io::stdin().lock(), &mut out, args.greeting),
            }
        }
        command => {
            let later_tls = matches!(command, Command::Shell(_));
            let conn = cli.connect.resolve_with(later_tls)?;
            match command {
                Command::List(args) => list::run(args, &conn),
                Command::Fetch(args) => fetch::run(args, &conn),
                Command::Sync(args) => sync::run(args, &conn, &cli.connect),
                Command::Shell(args) => {
                    if conn.mailbox.is_some() {
                        return Err(CliError::usage(
                            "imap shell takes no mailbox in the URL: select it in the shell",
                        ));
                    }
                    shell::run(args, &conn)
                }
                Command::Decode(_) => Ok(()),
            }
        }
    }
}

/// A command-line parsing error as one line, with clap's tip if it has one.
fn usage_line(e: &clap::Error) -> String {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return "say what to do: list, fetch, sync, shell or decode (see `imap --help`)".into();
    }
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut line = first.to_string();
    for extra in lines.filter(|l| l.starts_with("tip:") || l.starts_with("[possible values")) {
        line.push_str("; ");
        line.push_str(extra.trim_start_matches('[').trim_end_matches(']'));
    }
    line.push_str(" (see `imap --help`)");
    exit::one_line(&line)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("imap: {}", usage_line(&e));
            return ExitCode::from(Exit::Usage.code());
        }
    };
    set_up_logging(cli.connect.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = std::io::stdout().flush();
            if !e.message.is_empty() {
                eprintln!("imap: {}", exit::one_line(&e.message));
            }
            ExitCode::from(e.exit.code())
        }
    }
}
