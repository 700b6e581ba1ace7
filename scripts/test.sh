#!/usr/bin/env bash
# The whole test run: installs what the tests need (Dovecot, openssl), then
# checks formatting, lints and docs, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== cargo fmt"
cargo fmt --all -- --check
# Both feature sets: the default (blocking client only) and every feature
# (the async client too). Clippy with -D warnings also fails on any
# compiler warning, so both builds stay warning-free.
echo "== cargo clippy (default features)"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo clippy (all features)"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --all-features
echo "== cargo test (default features)"
cargo test --workspace
echo "== cargo test (all features)"
cargo test --workspace --all-features
echo "== benches compile"
cargo bench --workspace --no-run

# The Python package imaplib_rs (maturin build into target/pyenv; CPython's
# test_imaplib, differential and library tests).
scripts/python-tests.sh

# ---------------------------------------------------------------------------
# Fuzzing: every cargo-fuzz target in fuzz/ for a short, bounded time
# (FUZZ_SECONDS per target, default 20; builds into fuzz/target). See
# fuzz/README.md.
echo "== fuzz"
scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
