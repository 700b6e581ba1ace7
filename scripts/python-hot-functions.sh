#!/usr/bin/env bash
# Regenerates crates/imaplib-py/hot-functions.txt, the list of the
# extension's functions that a Python program runs when it imports
# imaplib_rs, logs in over TLS and plain TCP, and fetches (bulk bodies, and
# envelopes with body structures). build.rs hands the list to the linker
# (`--symbol-ordering-file`), which places those functions together at the
# start of the code: each page of code that runs stays resident in every
# Python process that imports the module, and the kernel maps code 64 KiB
# around each page touched, so code that runs spread over the library
# keeps most of it resident (benches/README.md, section 5).
#
# The names are mangled names with their hashes; they change when code
# moves between modules or impl blocks, and a name the linker does not
# find is skipped. Run this again after such changes (the Python memory
# benchmark, `scripts/bench-compare.sh python`, shows when it is due).
# Needs valgrind (callgrind) and the benchmark crate (its replay server).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
cargo build --release --manifest-path benches/compare/Cargo.toml \
    --target-dir benches/compare/target
venv=benches/compare/target/pyenv
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check maturin==1.15.0
VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" develop -q --profile python \
    -m crates/imaplib-py/Cargo.toml >&2

work=$(mktemp -d)
benches/compare/target/release/imaplib-compare serve python >"$work/ports" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [[ -s $work/ports ]] && break; sleep 0.2; done
read -r _ plain _ tls _ ca <"$work/ports"

runs=0
run() { # PORT CA SET ITEMS
    runs=$((runs + 1))
    BENCH_IMAPLIB=imaplib_rs valgrind -q --tool=callgrind --demangle=no \
        --callgrind-out-file="$work/cg.$runs" "$venv/bin/python" \
        benches/compare/imaplib_client.py "$1" "$2" alice alicepw 0 "$3" "$4" 1 >/dev/null
}
run "$tls" "$ca" 1:200 '(RFC822)'
run "$tls" "$ca" 1:300 '(UID FLAGS ENVELOPE BODYSTRUCTURE)'
run "$plain" - 1:200 '(RFC822)'
run "$plain" - 1:300 '(UID FLAGS ENVELOPE BODYSTRUCTURE)'

# Every function of the extension that ran: callgrind names each object
# (ob=, cob=) and function (fn=, cfn=) once, then refers to it by number.
python3 - "$work"/cg.* >crates/imaplib-py/hot-functions.txt <<'PY'
import re, sys
seen = {}
for path in sys.argv[1:]:
    names = {"ob": {}, "fn": {}}
    current = None
    for line in open(path):
        m = re.match(r"(c?ob|c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if not m:
            continue
        kind, number, name = m.groups()
        table = names[kind[-2:]]
        if name is not None:
            table[number] = name
        if kind == "ob":
            current = table[number]
        elif kind == "fn" and current and "_native" in current:
            symbol = re.sub(r"'\d+$", "", table[number])
            if symbol and not symbol.startswith("0x"):
                seen.setdefault(symbol, None)
print("\n".join(seen))
PY
echo "$(wc -l <crates/imaplib-py/hot-functions.txt) functions in crates/imaplib-py/hot-functions.txt" >&2
# Linked again with the new list (the build above used the old one).
VIRTUAL_ENV="$PWD/$venv" "$venv/bin/maturin" develop -q --profile python \
    -m crates/imaplib-py/Cargo.toml >&2
