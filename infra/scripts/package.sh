#!/usr/bin/env bash
# Builds every function for Lambda (arm64, release profile) as zips with cargo-lambda
# and prints their sizes: target/lambda/<function>/bootstrap.zip.
set -euo pipefail
source "$(dirname "$0")/tools.sh"
cd "$ROOT"
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
# One function per build: features unify across the packages of one cargo run, and
# each function must link only the SDK clients its own feature turns on.
for fn in public-api admin-api report-worker notify-worker outbox-relay chat-ws hello-baseline; do
  cargo lambda build --release --arm64 --output-format zip -p "$fn"
done
for z in target/lambda/*/bootstrap.zip; do
  printf '%s\t%s bytes\n' "$(basename "$(dirname "$z")")" "$(stat -c %s "$z")"
done
