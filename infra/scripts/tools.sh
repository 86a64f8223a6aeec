# Sourced by the other scripts: puts the pinned Python tools (infra/requirements-test.txt)
# in a project-local virtualenv, .venv, and on PATH. Re-installs only when the pins change.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/infra/requirements-test.txt"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$want" ]; then
  echo "installing pinned Python tools into .venv ..."
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" > "$VENV/.pins"
fi
# cargo-lambda finds the PyPI zig (for --arm64) only when the venv's bin/ is on PATH.
export PATH="$VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0
RIE_BIN="$(ls "$VENV"/lib/python3*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64 | head -n 1)"
export RIE_BIN

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_moto: starts moto_server on a free loopback port, exports MOTO_ENDPOINT and
# MOTO_PID; the caller stops it with stop_moto (the trap below does it on exit).
start_moto() {
  local port
  port="$(free_port)"
  mkdir -p "$ROOT/target"
  moto_server -H 127.0.0.1 -p "$port" > "$ROOT/target/moto.log" 2>&1 &
  MOTO_PID=$!
  export MOTO_ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('$MOTO_ENDPOINT/moto-api/', timeout=1)" 2>/dev/null; then
      echo "moto_server $MOTO_ENDPOINT (pid $MOTO_PID)"
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "moto_server did not start; its log:" >&2
  cat "$ROOT/target/moto.log" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  fi
}
