"""API fuzzing: the pinned schemathesis generates requests from the OpenAPI document the
dev server serves (valid ones, and ones the document forbids) and sends them to a dev
server started for this module (conftest's `devserver`). A run fails on any 5xx, any
answer whose body or media type the document does not describe, any status the
document does not list, a request the document allows that is refused, or one it
forbids that is accepted (`--checks all`). The seed is fixed and the number of examples
bounded, so a run is repeatable and takes seconds.

The admin routes run with a token; sign-in runs on its own, last, since its wrong
passwords lock the address out of sign-in for a while.
"""

import json
import os
import shutil
import urllib.request

from conftest import ROOT, run

CONFIG = os.path.join(ROOT, "infra", "tests", "schemathesis.toml")
SEED = "20261201"
LOGIN = "/api/v1/auth/login"


def schemathesis(devserver, tmp_path, *args):
    st = shutil.which("st")
    assert st, "schemathesis (st) is not on PATH: infra/scripts/tools.sh installs the pinned one into .venv"
    base = devserver["base"]
    cmd = [st, "--config-file", CONFIG, "run", f"{base}/api/v1/openapi.json", "--url", base,
           "--checks", "all", "--seed", SEED, "--no-color", *args]
    # The fuzzer keeps its example database in the working directory.
    code, output = run(cmd, timeout=600, cwd=str(tmp_path))
    print(output[-3000:])
    return code, output


def passed(output):
    """The summary's last line names no failure (warnings, such as an operation whose
    generated data the server mostly refuses, are reported but do not fail)."""
    last = output.strip().splitlines()[-1]
    return "fail" not in last and ("No issues found" in last or "warning" in last)


def token(devserver):
    body = json.dumps({"username": "smoke", "password": devserver["password"]}).encode()
    req = urllib.request.Request(f"{devserver['base']}{LOGIN}", data=body,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["token"]


def test_every_route_but_sign_in_holds_to_the_document(devserver, tmp_path):
    code, output = schemathesis(devserver, tmp_path, "--exclude-path", LOGIN, "--max-examples", "15",
                                "-H", f"Authorization: Bearer {token(devserver)}")
    assert code == 0 and passed(output), output[-8000:]


def test_sign_in_holds_to_the_document(devserver, tmp_path):
    code, output = schemathesis(devserver, tmp_path, "--include-path", LOGIN, "--max-examples", "30")
    assert code == 0 and passed(output), output[-8000:]
