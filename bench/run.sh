#!/usr/bin/env bash
# The benchmark suite in one command: builds depot in release mode, installs the reference, the load
# generator and the instruction counter if missing (nginx, wrk and valgrind from Debian), then runs
#   bench/against_nginx.py   depot against nginx serving the same bytes (ratios, RSS under slow readers)
#   bench/instructions.py    instructions per request, depot and nginx, under callgrind
#   bench/scale     how costs grow with the catalogue and the event log (SQLite and PostgreSQL)
#   bench/targets.py         issue 17's targets, each met or not
# and draws the curves into bench/. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo build --release --locked -p depot --bins --benches
python3 bench/against_nginx.py "$@"
python3 bench/instructions.py
cargo bench --locked -p depot --bench scale
python3 bench/plot.py
python3 bench/targets.py
