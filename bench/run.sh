#!/usr/bin/env bash
# Causeway data-plane benchmark: installs what it needs, builds release, and
# prints CPU per request, latency and RSS of Causeway as ratios to nginx
# proxying the same tiny backend in the same run. Traffic stays on 127.0.0.1
# and every load run stops by itself.
#
#   bash bench/run.sh                 # full run (a few minutes)
#   DURATION=5 bash bench/run.sh      # shorter load runs
#   CALLGRIND=0 bash bench/run.sh     # skip the instruction counts
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v hey >/dev/null || need+=(hey)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v valgrind >/dev/null || need+=(valgrind)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release --locked -p causeway
python3 bench/bench.py "$@"
# Two realistic requests: 1 KB JSON with a dozen headers, a 4 KB POST with browser headers.
python3 bench/realistic.py
# Access logs on both sides (file and stdout against nginx's buffered file log).
python3 bench/logs.py
# Restarts under load: ten take-overs, no failed request.
python3 bench/takeover.py
