#!/usr/bin/env bash
# Every test, on a fresh machine: installs the pinned tools, checks formatting and the
# SAM template, builds the function binaries the RIE tests run, starts moto on a free
# loopback port, runs the whole test suite, rehearses the deploy on moto, smoke-tests and fuzzes
# a dev server (infra/tests), runs clippy, and stops moto by its pid.
set -euo pipefail
source "$(dirname "$0")/tools.sh"
cd "$ROOT"
trap stop_moto EXIT

echo "== format"
cargo fmt --all -- --check

echo "== template"
sam validate --lint --template template.yaml --region us-east-1
cfn-lint template.yaml

echo "== build"
cargo build --workspace --bins

echo "== emulator"
start_moto

echo "== tests"
cargo test --workspace --all-targets

echo "== deploy rehearsal on moto, transformed template, workflows, smoke test, API fuzzing (infra/tests)"
python -m pytest -q -p no:cacheprovider infra/tests

echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings
