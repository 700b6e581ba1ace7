#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and reports how
# many inputs each one ran. Installs cargo-fuzz when it is missing.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to $FUZZ_SECONDS, else 30. cargo-fuzz needs
# unstable compiler flags: a nightly toolchain is used when installed,
# otherwise the stable one with RUSTC_BOOTSTRAP=1. Seeds: the recorded server
# transcripts in testdata/corpus, fuzz/seeds/ always, and
# what earlier runs found (fuzz/corpus/, not committed). A crash stops the
# script with a non-zero status; the input that crashed is kept under
# fuzz/artifacts/ and can be replayed with
# `cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-...`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-${FUZZ_SECONDS:-30}}
shift || true
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=(framer_parser session typed_decoders encoder)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    export RUSTC_BOOTSTRAP=1
fi

transcripts=testdata/corpus/mailkit
seeds_for() {
    case $1 in
        encoder) echo fuzz/seeds/encoder ;;
        *)
            echo fuzz/seeds/server
            if [[ -d $transcripts ]]; then
                echo "$transcripts"
            fi
            ;;
    esac
}

echo "fuzz.sh: building ${targets[*]}"
for target in "${targets[@]}"; do
    cargo "${toolchain[@]}" fuzz build "$target"
done

summary=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    mapfile -t seeds < <(seeds_for "$target")
    log=$(mktemp)
    echo "fuzz.sh: $target for ${seconds}s"
    status=0
    cargo "${toolchain[@]}" fuzz run "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [[ $status -ne 0 ]]; then
        tail -n 60 "$log" >&2
        rm -f "$log"
        echo "fuzz.sh: $target FAILED after ${runs:-?} executions (see fuzz/artifacts/$target)" >&2
        exit 1
    fi
    rm -f "$log"
    summary+=("$target: ${runs:-?} executions in ${seconds}s, no crash")
done

echo "fuzz.sh: summary"
for line in "${summary[@]}"; do
    echo "  $line"
done
