#!/usr/bin/env bash
# Smoke-tests a deployed stack through its own outputs (ApiUrl, ChatWebSocketUrl), so
# the pipeline checks the very endpoints it just deployed, not a configured guess.
#   smoke-stack.sh ENV    (admin user from SMOKE_USERNAME / SMOKE_PASSWORD)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/tools.sh" >&2
case "${1:-}" in dev|staging|prod) ;; *) echo "smoke: ENV must be dev, staging or prod (got '${1:-}')" >&2; exit 1;; esac
outputs="$(python "$HERE/stack.py" outputs "$1")"
api="$(printf '%s\n' "$outputs" | sed -n 's/^ApiUrl=//p')"
ws="$(printf '%s\n' "$outputs" | sed -n 's/^ChatWebSocketUrl=//p')"
[ -n "$api" ] && [ -n "$ws" ] || { echo "smoke: the $1 stack has no ApiUrl or ChatWebSocketUrl output" >&2; exit 1; }
echo "== smoke $api $ws"
exec "$HERE/smoke.sh" "$api" "$ws"
