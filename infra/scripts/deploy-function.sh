#!/usr/bin/env bash
# The quick dev loop: puts one function's new code into the function the dev stack
# created, in seconds, without a stack update. `cargo lambda deploy` publishes a version
# and moves the `live` alias (what the APIs and queues call) to it. Stacks that deploy
# gradually (staging, prod) take code only through make deploy, canary and rollback.
#   deploy-function.sh FN ENV     FN: public-api, admin-api, report-worker, ...
# BINARY=path deploys an already built bootstrap instead of building FN (the rehearsal
# in infra/tests does this with a stand-in).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/tools.sh" >&2
cd "$ROOT"
die() { echo "deploy-function: $*" >&2; exit 1; }
FN="${1:-}"; ENV="${2:-}"
[ -n "$FN" ] && [ -n "$ENV" ] || die "usage: make deploy-function FN=<$(python "$HERE/stack.py" binaries | paste -sd'|')> ENV=dev"
case "$ENV" in dev|staging|prod) ;; *) die "ENV must be dev, staging or prod (got '$ENV')";; esac
command -v cargo-lambda >/dev/null 2>&1 || die "cargo-lambda is not installed (source infra/scripts/tools.sh installs it)"
style="$(python "$HERE/stack.py" setting "$ENV" DeploymentStyle)"
[ "$style" = "AllAtOnce" ] || die "$ENV deploys gradually (DeploymentStyle=$style): its code goes out only through make deploy ENV=$ENV"
region="$(python "$HERE/stack.py" setting "$ENV" region)"
function_name="$(python "$HERE/stack.py" function "$ENV" "$FN")"

if [ -n "${BINARY:-}" ]; then
  [ -f "$BINARY" ] || die "BINARY=$BINARY does not exist"
  source_args=(--binary-path "$BINARY")
  echo "== deploying $BINARY (built elsewhere)"
else
  command -v cargo >/dev/null 2>&1 || die "cargo is not installed (rustup.rs)"
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || die "rustup cannot add the aarch64-unknown-linux-gnu target"
  echo "== cargo lambda build --release --arm64 -p $FN"
  cargo lambda build --release --arm64 -p "$FN"
  source_args=(--binary-name "$FN")
fi
echo "== cargo lambda deploy -> $function_name ($region), alias live"
cargo lambda deploy --region "$region" --alias live "${source_args[@]}" "$function_name"
