#!/usr/bin/env bash
# Cold-start benchmark: builds the functions and the hello baseline with the Lambda
# release profile (x86_64, the RIE's architecture here) and measures their init under
# the RIE side by side. RUNS (default 21) cold starts each.
set -euo pipefail
source "$(dirname "$0")/tools.sh"
cd "$ROOT"
cargo build --release -p public-api -p admin-api -p report-worker -p notify-worker -p outbox-relay -p chat-ws -p hello-baseline
python3 infra/scripts/bench_coldstart.py "${RUNS:-21}" "${CARGO_TARGET_DIR:-$ROOT/target}/release"
