#!/usr/bin/env bash
# The demo: runs the `imap` command-line tool against a throwaway Dovecot.
#
# Installs Dovecot when it is missing (scripts/install-deps.sh), builds
# `imap`, makes a Maildir with a few realistic messages (non-ASCII subjects,
# an attachment, a nested multipart) and talks to Dovecot's preauthenticated
# IMAP on stdin/stdout (--stream: no daemon, no network, no password). Shows
# `imap list`, `imap fetch` (to a Maildir, then again: nothing new), and a
# few `imap shell` calls, readable and as JSON. Everything is removed at the
# end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "Building imap..." >&2
cargo build --quiet -p imaplib-cli
imap="$PWD/target/debug/imap"

work=$(mktemp -d "${TMPDIR:-/tmp}/imap-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
home="$work/home"
maildir="$home/Maildir"

# Dovecot refuses to touch mail as root: then the mail belongs to `mail`.
mail_settings=""
owner=""
if [[ $(id -u) -eq 0 ]]; then
    owner="$(id -u mail):$(id -g mail)"
    mail_settings="mail_uid = $(id -u mail)
mail_gid = $(id -g mail)"
fi

cat > "$work/dovecot.conf" <<EOF
# Preauthenticated imap on stdin/stdout; nothing from /etc/dovecot is read.
base_dir = $work/run
state_dir = $work/state
log_path = $work/dovecot.log
ssl = no
first_valid_uid = 0
first_valid_gid = 0
$mail_settings
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}
EOF

mkdir -p "$maildir"/{cur,new,tmp} "$maildir"/.Archive/{cur,new,tmp}
touch "$maildir/.Archive/maildirfolder"

n=0
# deliver FOLDER FLAGS DATE < message: drops a message into the Maildir the
# way a mail server would; DATE becomes its arrival time (INTERNALDATE).
deliver() {
    local folder=$1 flags=$2 date=$3 dir file
    n=$((n + 1))
    if [[ $folder == INBOX ]]; then dir="$maildir"; else dir="$maildir/.$folder"; fi
    if [[ -n $flags ]]; then
        file="$dir/cur/$((1767200000 + n)).M${n}P$$.demo:2,$flags"
    else
        file="$dir/new/$((1767200000 + n)).M${n}P$$.demo"
    fi
    cat > "$file"
    touch -d "$date" "$file"
    if [[ -n $owner ]]; then chown "$owner" "$file"; fi
}

deliver INBOX S '2026-01-01 09:00:05 UTC' <<'EOF'
From: Ada Lovelace <ada@example.org>
To: You <you@example.org>
Subject: Welcome to the imap demo
Date: Thu, 01 Jan 2026 09:00:00 +0000
Message-ID: <welcome@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello! This mailbox lives in a temporary directory and is served by
Dovecot's imap process on stdin/stdout.
EOF

deliver INBOX "" '2026-01-02 09:30:05 UTC' <<'EOF'
From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
To: You <you@example.org>
Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4g4piV?=
Date: Fri, 02 Jan 2026 10:30:00 +0100
Message-ID: <gruesse@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Schöne Grüße aus München! Der Kaffee ist fertig ☕
EOF

deliver INBOX "" '2026-01-03 19:15:05 UTC' <<'EOF'
From: Grace Hopper <grace@example.org>
To: You <you@example.org>
Subject: The report, with an attachment
Date: Sat, 03 Jan 2026 14:15:00 -0500
Message-ID: <report@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

The numbers are in the attached file.

--inner
Content-Type: text/html; charset=utf-8

<p>The numbers are in the <b>attached</b> file.</p>

--inner--

--outer
Content-Type: text/csv; name="numbers.csv"
Content-Disposition: attachment; filename="numbers.csv"
Content-Transfer-Encoding: base64

bW9udGgsdG90YWwKamFudWFyeSw0MgpmZWJydWFyeSw0Nwo=

--outer--
EOF

deliver Archive S '2025-12-15 08:00:05 UTC' <<'EOF'
From: Alan Turing <alan@example.org>
To: You <you@example.org>
Subject: =?UTF-8?Q?Old_news_=E2=80=94_archived?=
Date: Mon, 15 Dec 2025 08:00:00 +0000
Message-ID: <archived@example.org>

This one was filed away.
EOF

if [[ -n $owner ]]; then chown -R "$owner" "$home"; fi

dovecot_imap=/usr/lib/dovecot/imap
[[ -x $dovecot_imap ]] || dovecot_imap=/usr/libexec/dovecot/imap
export DOVECOT="env USER=demo HOME=$home $dovecot_imap -c $work/dovecot.conf 2>>$work/dovecot.log"

# Shows an imap command (the Dovecot command line and the temporary
# directory abbreviated), then runs it from the temporary directory.
show() {
    local shown=" $*"
    shown=${shown//" $DOVECOT"/' "$DOVECOT"'}
    shown=${shown//"$work/"/}
    echo
    echo "\$ imap$shown"
    (cd "$work" && "$imap" "$@")
}

cat <<'EOF'
== The imap command-line tool ==
$DOVECOT below is Dovecot's imap process speaking IMAP on stdin/stdout,
already logged in (no daemon, no network). Against a real server use
--url imaps://USER@HOST/ instead of --stream "$DOVECOT".
EOF

show list --status --stream "$DOVECOT"
show fetch INBOX --out "$work/mail" --format maildir --stream "$DOVECOT"
echo
echo "\$ ls mail/cur"
ls "$work/mail/cur"
echo
echo "(a new message arrives; the same command fetches only what is new)"
deliver INBOX "" '2026-01-04 07:45:05 UTC' <<'EOF'
From: Katherine Johnson <katherine@example.org>
To: You <you@example.org>
Subject: Launch window
Date: Sun, 04 Jan 2026 07:45:00 +0000
Message-ID: <launch@example.org>

T minus 10 minutes.
EOF
show fetch INBOX --out "$work/mail" --format maildir --stream "$DOVECOT"
show fetch INBOX --out "$work/mail" --format maildir --stream "$DOVECOT"

calls=$(cat <<'EOF'
select INBOX
search None UNSEEN
fetch 2 '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])'
store 2 +FLAGS '(\Flagged)'
status Archive '(MESSAGES UNSEEN)'
logout
EOF
)
echo
echo "\$ imap shell --stream \"\$DOVECOT\" <<'EOF'"
echo "$calls"
echo "EOF"
"$imap" shell --stream "$DOVECOT" <<<"$calls"

echo
echo "\$ printf 'select INBOX True\\nfetch 1:* \"(UID FLAGS)\"\\n' | imap shell --json --stream \"\$DOVECOT\""
printf 'select INBOX True\nfetch 1:* "(UID FLAGS)"\n' | "$imap" shell --json --stream "$DOVECOT"

echo
echo "Done; the temporary mailbox and download are removed."
