"""The pipeline trusts infra/scripts/smoke.sh to tell a working deployment from a broken
one; these tests hold it to that against the dev server (the same routers as the
deployed functions), started on a free loopback port with a smoke user configured the
way the stack's admin secret configures one (JWT_SECRET, ADMIN_USERS with an argon2id
hash made by the hash-password binary).

The dev server is conftest's `devserver` fixture.
"""

import os
import time

import pytest

from conftest import SCRIPTS, free_port, run

STEPS = ("health", "services", "inquiry", "replay", "sign-in", "admin list", "report", "chat")


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
