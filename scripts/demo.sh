#!/usr/bin/env bash
# Runs the demo: fetches and prints every message of a throwaway Dovecot
# mailbox over IMAP4_stream. Installs Dovecot first if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec cargo run --quiet -p imaplib --example demo -- "$@"
