#!/usr/bin/env bash
# The Python package imaplib_rs: builds it into a virtual environment
# (target/pyenv) with maturin, then runs CPython's own test_imaplib with it
# standing in for imaplib, and the pytest suites (differential tests against
# CPython's imaplib on Dovecot; IMAPClient and imap_tools run unchanged).
# Needs python3 with venv and its test package (CPython's own tests).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/pyenv
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r crates/imaplib-py/tests/requirements.txt
# A debug build (Cargo's dev profile; pyproject.toml names the optimised
# `python` profile for installs).
VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" develop -q --profile dev -m crates/imaplib-py/Cargo.toml
echo "== python: CPython's test_imaplib with imaplib_rs"
"$venv/bin/python" crates/imaplib-py/tests/run_cpython_test_imaplib.py -q 2> target/pyenv-test_imaplib.log \
    || { tail -n 60 target/pyenv-test_imaplib.log; exit 1; }
echo "== python: pytest (differential, IMAPClient, imap_tools)"
"$venv/bin/python" -m pytest -q crates/imaplib-py/tests
