#!/usr/bin/env bash
# Builds every function for Lambda (arm64, release profile) as zips with cargo-lambda
# and prints their sizes: target/lambda/<function>/bootstrap.zip.
set -euo pipefail
source "$(dirname "$0")/tools.sh"
cd "$ROOT"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
cargo lambda build --release --arm64 --output-format zip -p public-api -p admin-api -p report-worker -p notify-worker -p outbox-relay -p chat-ws -p hello-baseline
for z in target/lambda/*/bootstrap.zip; do
  printf '%s\t%s bytes\n' "$(basename "$(dirname "$z")")" "$(stat -c %s "$z")"
done
