#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: `fuzz/run.sh [SECONDS per target]` (default 45).
# Needs the nightly toolchain and cargo-fuzz (.ci/run installs cargo-fuzz). The targets build
# against the workspace's Cargo.lock, the versions depot ships. Each starts from its seeds in
# fuzz/corpus/ (copied, so that a run leaves the repository as it was); a crash stops the run
# and its input is left in fuzz/artifacts/TARGET/: make it a regression (fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-45}"
TARGETS=(package manifest range keys jbackend_settings ars sales)

cargo +nightly fuzz build --fuzz-dir fuzz
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in "${TARGETS[@]}"; do
  mkdir -p "$work/$target"
  cp -r "fuzz/corpus/$target/." "$work/$target/"
  echo "fuzzing $target for ${SECONDS_PER_TARGET}s"
  # -rss_limit_mb bounds a run's memory as the package limits bound the server's; -timeout
  # makes a slow input a failure rather than a stall.
  if ! cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$work/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 >"$work/$target.log" 2>&1; then
    tail -n 40 "$work/$target.log" >&2
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "$work/$target.log" || true
done
