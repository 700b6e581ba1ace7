#!/usr/bin/env bash
# Side-by-side benchmarks (issue 7): our decoder against imap-proto and
# imap-codec, our clients against Python's imaplib, the `imap` crate and a
# raw socket reader, against an in-process replay server and a real
# Dovecot, plus peak memory. Prints one Markdown table on stdout (progress
# on stderr). See benches/README.md.
#
#   scripts/bench-compare.sh                  # everything
#   scripts/bench-compare.sh decode replay    # some: decode replay memory dovecot
#   BENCH_REPS=9 scripts/bench-compare.sh     # timed repetitions per client (default 5)
#
# The bench crate lives outside the workspace (benches/compare) and builds
# into its own target directory, so the workspace and CI never compile the
# peers. Needs python3, openssl and Dovecot (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --manifest-path benches/compare/Cargo.toml \
    --target-dir benches/compare/target
exec benches/compare/target/release/imaplib-compare "$@"
