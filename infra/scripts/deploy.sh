#!/usr/bin/env bash
# Deploys the stack, the one way both a person (make deploy ENV=dev) and the pipeline
# (.github/workflows/deploy.yml, which runs the steps apart so that one packaged
# artefact is promoted dev -> staging -> prod) do it. Each step checks first what it
# needs (tools, credentials, the admin secret, the build) and names what is missing.
#
#   deploy.sh ENV               build, then deploy to ENV (make deploy)
#   deploy.sh build             sam build: every function for arm64 with cargo-lambda
#   deploy.sh package ENV       sam package the build once into ENV's artefact bucket
#                               (ARTIFACT_BUCKET if set) -> .aws-sam/packaged.yaml
#   deploy.sh deploy ENV [TPL]  sam deploy --config-env ENV, of TPL if given (a packaged
#                               template) or of the build
#   deploy.sh outputs ENV       the stack's outputs, KEY=VALUE
# BUILD_DIR and PACKAGED move the build and the packaged template elsewhere.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/tools.sh" >&2
cd "$ROOT"
BUILD_DIR="${BUILD_DIR:-.aws-sam/build}"   # where sam build writes (the pipeline: an artefact)
BUILT="$BUILD_DIR/template.yaml"
PACKAGED="${PACKAGED:-.aws-sam/packaged.yaml}"

die() { echo "deploy: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"; }
setting() { python "$HERE/stack.py" setting "$1" "$2"; }
check_env() {
  case "${1:-}" in dev|staging|prod) ;; *) die "ENV must be dev, staging or prod (got '${1:-}')";; esac
}

build() {
  need cargo "install Rust from rustup.rs"
  need rustup "install Rust from rustup.rs"
  need sam "source infra/scripts/tools.sh installs it"
  need cargo-lambda "source infra/scripts/tools.sh installs it"
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || die "rustup cannot add the aarch64-unknown-linux-gnu target"
  echo "== sam build (cargo-lambda, arm64, release) -> $BUILD_DIR"
  sam build --beta-features --template-file template.yaml --build-dir "$BUILD_DIR"
  for f in "$BUILD_DIR"/*/bootstrap; do
    printf '  %s\t%s bytes\n' "$(basename "$(dirname "$f")")" "$(stat -c %s "$f")"
  done
}

package() {
  local env="$1" bucket_args
  check_env "$env"
  [ -f "$BUILT" ] || die "no build at $BUILT: run deploy.sh build (make sam-build) first"
  python "$HERE/stack.py" preflight "$env"
  # A build that travelled as a CI artefact lost its executable bits; Lambda needs them.
  chmod 755 "$BUILD_DIR"/*/bootstrap
  if [ -n "${ARTIFACT_BUCKET:-}" ]; then
    bucket_args=(--s3-bucket "$ARTIFACT_BUCKET")
  else
    bucket_args=(--resolve-s3)
  fi
  echo "== sam package -> $PACKAGED (bucket: ${ARTIFACT_BUCKET:-SAM-managed, in the account of $env})"
  sam package --template-file "$BUILT" --output-template-file "$PACKAGED" \
    --region "$(setting "$env" region)" --s3-prefix "$(setting "$env" s3_prefix)" "${bucket_args[@]}"
  grep -E '^\s+CodeUri: s3://' "$PACKAGED" | sed 's/^ */  /'
}

deploy() {
  local env="$1" template="${2:-$BUILT}" extra=()
  check_env "$env"
  [ -f "$template" ] || die "no template at $template: run deploy.sh build (make sam-build) first"
  python "$HERE/stack.py" preflight "$env"
  # The pipeline's approval is the GitHub environment's; nobody is there to confirm.
  if [ "${CI:-}" = "true" ]; then extra+=(--no-confirm-changeset); fi
  # One artefact bucket for every environment (separate accounts): the template goes there too.
  if [ -n "${ARTIFACT_BUCKET:-}" ]; then extra+=(--no-resolve-s3 --s3-bucket "$ARTIFACT_BUCKET"); fi
  echo "== sam deploy --config-env $env ($template, $(setting "$env" DeploymentStyle))"
  # --config-file: sam otherwise looks for samconfig.toml beside the template (.aws-sam/).
  sam deploy --config-file "$ROOT/samconfig.toml" --config-env "$env" --template-file "$template" "${extra[@]}"
  echo "== $(setting "$env" stack_name) outputs"
  python "$HERE/stack.py" outputs "$env" | sed 's/^/  /'
}

case "${1:-}" in
  build) build ;;
  package) package "${2:-}" ;;
  deploy) deploy "${2:-}" "${3:-}" ;;
  outputs) check_env "${2:-}"; python "$HERE/stack.py" outputs "$2" ;;
  dev|staging|prod)
    python "$HERE/stack.py" preflight "$1"
    build
    deploy "$1"
    ;;
  *) die "usage: deploy.sh ENV | build | package ENV | deploy ENV [TEMPLATE] | outputs ENV" ;;
esac
