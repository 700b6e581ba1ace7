#!/usr/bin/env bash
# Side-by-side benchmarks (issue 7): our decoder against imap-proto and
# imap-codec, our clients against Python's imaplib, the `imap` crate and a
# raw socket reader, against an in-process replay server and a real
# Dovecot, plus peak memory; `imap sync` against mbsync; and `imap sync
# --to-url` (server to server) against mbsync and a floor. Prints one
# Markdown table on stdout (progress on stderr). See benches/README.md.
#
#   scripts/bench-compare.sh                  # everything but sync and migrate
#   scripts/bench-compare.sh decode replay    # some: decode replay memory dovecot python sync migrate
#   BENCH_REPS=9 scripts/bench-compare.sh     # timed repetitions per client (default 5)
#   scripts/bench-compare.sh sync             # `imap sync` against mbsync (~5 minutes;
#                                             # BENCH_SYNC_ROUNDS, default 5)
#   scripts/bench-compare.sh migrate          # `imap sync --to-url` against mbsync, IMAP to
#                                             # IMAP, and a floor (~2.5 minutes;
#                                             # BENCH_MIGRATE_ROUNDS, default 5)
#
# The bench crate lives outside the workspace (benches/compare) and builds
# into its own target directory, so the workspace and CI never compile the
# peers. Needs python3, openssl, Dovecot and, for sync and migrate, mbsync
# (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --manifest-path benches/compare/Cargo.toml \
    --target-dir benches/compare/target
# The Python benchmark needs imaplib_rs built as `pip install` builds it
# (the `python` profile), in a virtual
# environment of its own (not the test one, which holds a debug build).
if [[ $# -eq 0 || " $* " == *" all "* || " $* " == *" python "* ]]; then
    venv=benches/compare/target/pyenv
    [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check maturin==1.15.0
    VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" develop -q --profile python \
        -m crates/imaplib-py/Cargo.toml >&2
    export BENCH_PYTHON="$PWD/$venv/bin/python"
fi
# The sync and migrate benchmarks run the `imap` command, built in release
# mode.
if [[ " $* " == *" sync "* || " $* " == *" migrate "* ]]; then
    cargo build --release -p imaplib-cli
    export BENCH_IMAP="$PWD/${CARGO_TARGET_DIR:-target}/release/imap"
fi
exec benches/compare/target/release/imaplib-compare "$@"
