#!/usr/bin/env bash
# Cold-start benchmark: builds the functions and the hello baseline with the Lambda
# release profile (x86_64, the RIE's architecture here) and measures their init under
# the RIE side by side. RUNS (default 21) cold starts each.
set -euo pipefail
source "$(dirname "$0")/tools.sh"
cd "$ROOT"
# One function per build, so each links only the SDK clients its feature turns on
# (features unify across the packages of one cargo run).
for fn in public-api admin-api report-worker notify-worker outbox-relay chat-ws hello-baseline; do
  cargo build --release -p "$fn"
done
python3 infra/scripts/bench_coldstart.py "${RUNS:-21}" "${CARGO_TARGET_DIR:-$ROOT/target}/release"
