"""The pipeline trusts infra/scripts/smoke.sh to tell a working deployment from a broken
one; these tests hold it to that against the dev server (the same routers as the
deployed functions), started on a free loopback port with a smoke user configured the
way the stack's admin secret configures one (JWT_SECRET, ADMIN_USERS with an argon2id
hash made by the hash-password binary).

The binaries are the debug ones infra/scripts/test.sh builds (cargo build --workspace
--bins), under CARGO_TARGET_DIR or target/.
"""

import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import SCRIPTS, TARGET, free_port, run

BIN = os.path.join(TARGET, "debug")
STEPS = ("health", "services", "inquiry", "replay", "sign-in", "admin list", "report", "chat")


def binary(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: cargo build --workspace --bins (infra/scripts/test.sh does)")
    return path


@pytest.fixture(scope="module")
def devserver(tmp_path_factory):
    password = secrets.token_urlsafe(24)
    hashed = subprocess.run([binary("hash-password")], input=password, capture_output=True, text=True, timeout=60)
    assert hashed.returncode == 0 and hashed.stdout.startswith("$argon2id$"), hashed.stderr
    port = free_port()
    data = str(tmp_path_factory.mktemp("smoke-devserver"))
    env = dict(
        os.environ,
        BIND_ADDR=f"127.0.0.1:{port}",
        DATA_DIR=data,
        JWT_SECRET=secrets.token_hex(32),
        ADMIN_USERS=json.dumps([{"username": "smoke", "password_hash": hashed.stdout.strip()}]),
        LOG_LEVEL="warn",
    )
    for k in [k for k in env if k.startswith("AWS_")]:
        del env[k]
    log = open(os.path.join(data, "devserver.log"), "w")
    proc = subprocess.Popen([binary("devserver")], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"the dev server exited: {open(log.name).read()[-2000:]}"
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, "the dev server did not answer within 30 s"
                time.sleep(0.1)
        yield {"base": base, "port": port, "password": password}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def smoke(args, username, password):
    env = dict(os.environ, SMOKE_USERNAME=username, SMOKE_PASSWORD=password)
    return run(["bash", os.path.join(SCRIPTS, "smoke.sh"), *args], env=env, timeout=300)


def test_smoke_passes_against_a_working_server(devserver):
    ws = f"ws://127.0.0.1:{devserver['port']}/api/v1/admin/chat/ws"
    started = time.monotonic()
    code, output = smoke([devserver["base"], ws], "smoke", devserver["password"])
    print(output)
    assert code == 0, output
    for step in STEPS:
        assert f"ok   {step}:" in output, f"step {step} not reported:\n{output}"
    assert "idempotency-replayed: true" in output
    assert output.rstrip().endswith("smoke: all steps passed")
    assert devserver["password"] not in output, "the smoke test printed the password"
    print(f"smoke test took {time.monotonic() - started:.1f} s")


def test_smoke_derives_the_dev_servers_socket_from_the_base_url(devserver):
    code, output = smoke([devserver["base"]], "smoke", devserver["password"])
    assert code == 0 and "ok   chat:" in output, output


def test_smoke_fails_on_a_refused_sign_in(devserver):
    code, output = smoke([devserver["base"]], "smoke", "not-the-password")
    assert code == 1, output
    assert "smoke: FAILED sign-in: POST /api/v1/auth/login answered 401" in output
    assert "ok   chat:" not in output


def test_smoke_fails_on_a_refused_socket(devserver):
    # The HTTP routes answer, the WebSocket is not where the URL says.
    wrong_ws = f"ws://127.0.0.1:{devserver['port']}/api/v1/admin/chat/nope"
    code, output = smoke([devserver["base"], wrong_ws], "smoke", devserver["password"])
    assert code == 1 and "smoke: FAILED chat:" in output, output


def test_smoke_fails_when_nothing_answers():
    code, output = smoke([f"http://127.0.0.1:{free_port()}"], "smoke", "whatever")
    assert code == 1 and "smoke: FAILED health:" in output, output


def test_smoke_needs_a_user():
    code, output = smoke(["http://127.0.0.1:9"], "", "")
    assert code == 2 and "SMOKE_USERNAME and SMOKE_PASSWORD" in output, output
