#!/usr/bin/env bash
# Runs every fuzz target for a bounded time on the nightly toolchain:
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
# New inputs that reach new code are kept in fuzz/corpus/<target>/ (their
# files are replayed by `cargo test`: tests/fuzz_corpora.rs); a crash is
# saved in fuzz/artifacts/<target>/ and the script fails. Copy a crashing
# input to fuzz/regressions/<target>/ when it is fixed, so it stays a test.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(router signatures templates management_json function_events websocket_frames openapi_import)
fi
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
# The same dependency versions as the main build.
[ -f Cargo.lock ] || cp ../Cargo.lock Cargo.lock
# A fuzz build uses one core; leave the other to libFuzzer itself.
cargo +nightly fuzz build -O
summary=()
status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="$(mktemp)"
    if cargo +nightly fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 2>"$log"; then
        verdict=ok
    else
        verdict=CRASH
        status=1
        tail -n 40 "$log" >&2
    fi
    runs="$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' || echo '?')"
    summary+=("$(printf '%-18s %-6s %12s executions  coverage %s  corpus %s files' "$target" "$verdict" "$runs" "$cov" "$(ls "corpus/$target" | wc -l)")")
    rm -f "$log"
done
printf '%s\n' "${summary[@]}"
exit "$status"
