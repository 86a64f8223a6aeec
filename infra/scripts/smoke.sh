#!/usr/bin/env bash
# Smoke test of a running deployment: the pipeline promotes a build only after this
# walk through the real routes passes (health, services, an idempotent inquiry, sign-in,
# the admin list, the drafted report, one streamed chat answer). The test command runs
# it against a dev server, so the check the pipeline trusts is itself tested.
# Usage: smoke.sh BASE_URL [WS_URL]   (admin user from SMOKE_USERNAME / SMOKE_PASSWORD)
set -euo pipefail
source "$(dirname "$0")/tools.sh" >&2
exec python "$ROOT/infra/scripts/smoke.py" "$@"
