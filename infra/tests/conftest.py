"""Shared by the deploy suites: the pinned tools (a missing one FAILS the suite, never
skips it), the emulator's address, and the SAM transform applied locally with the
pinned aws-sam-translator (what CloudFormation does on a real deploy).

The suites talk only to loopback: moto_server (MOTO_ENDPOINT, started by
infra/scripts/test.sh) and a dev server they start themselves.
"""

import copy
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "infra", "scripts")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
REGION_FALLBACK = "eu-west-1"

# Binary name -> logical id, as template.yaml's Metadata BuildProperties name them.
FUNCTIONS = {
    "public-api": "PublicApiFunction",
    "admin-api": "AdminApiFunction",
    "report-worker": "ReportWorkerFunction",
    "notify-worker": "NotifyWorkerFunction",
    "outbox-relay": "OutboxRelayFunction",
    "chat-ws": "ChatWsFunction",
}


def require_tool(name):
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} is not on PATH: source infra/scripts/tools.sh (it installs the pinned tools)")
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def samconfig():
    with open(os.path.join(ROOT, "samconfig.toml"), "rb") as f:
        return tomllib.load(f)


def deploy_settings(env):
    """(stack name, region, parameter overrides) of one environment in samconfig.toml."""
    p = samconfig()[env]["deploy"]["parameters"]
    overrides = dict(i.split("=", 1) for i in shlex.split(p.get("parameter_overrides", "")))
    return p["stack_name"], p["region"], overrides


def read_template(path=os.path.join(ROOT, "template.yaml")):
    from samtranslator.yaml_helper import yaml_parse

    with open(path) as f:
        return yaml_parse(f.read())


class NoManagedPolicyLookups:
    """The translator names managed policies from its bundled list; a lookup in IAM
    would mean a policy outside it, which this template does not use."""

    def load(self):
        raise AssertionError("the SAM transform asked IAM for managed policies")


def transform(template, parameters, region):
    """The SAM transform, as CloudFormation applies it on deploy, with these parameters."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    return translator.translate(
        copy.deepcopy(template),
        parameter_values=dict(parameters),
        get_managed_policy_map=NoManagedPolicyLookups().load,
    )


def with_s3_code(template, bucket="artefacts", prefix="code"):
    """template.yaml with each local CodeUri replaced by an S3 location, as `sam package`
    does (and as `sam validate` does before it transforms)."""
    t = copy.deepcopy(template)
    for lid, r in t["Resources"].items():
        if r.get("Type") == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = f"s3://{bucket}/{prefix}/{lid}.zip"
    return t


def rust_sources():
    """Every Rust source file of the functions and the shared library, as text."""
    out = {}
    for top in ("shared", "functions"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            if "/target" in dirpath:
                continue
            for f in files:
                if f.endswith(".rs"):
                    p = os.path.join(dirpath, f)
                    with open(p, encoding="utf-8") as fh:
                        out[os.path.relpath(p, ROOT)] = fh.read()
    if not out:
        pytest.fail("no Rust sources found under shared/ and functions/")
    return out


def run(cmd, env=None, timeout=300, cwd=ROOT):
    """Runs a command, returning (exit code, stdout + stderr)."""
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


@pytest.fixture(scope="session")
def moto_endpoint():
    endpoint = os.environ.get("MOTO_ENDPOINT")
    if not endpoint:
        pytest.fail("MOTO_ENDPOINT is not set: infra/scripts/test.sh starts moto_server and sets it")
    # S3 on moto wants a host name, not an address (bucket names become virtual hosts).
    return re.sub(r"//127\.0\.0\.1:", "//localhost:", endpoint)


@pytest.fixture(scope="session")
def aws_env(moto_endpoint):
    """Environment for anything that talks to AWS here: the emulator, fake keys, no
    instance-metadata lookups (which would leave loopback)."""
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION=REGION_FALLBACK,
        SAM_CLI_TELEMETRY="0",
    )
    for k in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        env.pop(k, None)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ.update({k: env[k] for k in env if k.startswith("AWS_")})
    return env


def pytest_report_header(config):
    return f"python {sys.version.split()[0]}; MOTO_ENDPOINT={os.environ.get('MOTO_ENDPOINT', '(unset)')}"


# The dev server the smoke test and the API fuzzing run against: the debug binaries
# infra/scripts/test.sh builds (cargo build --workspace --bins), under CARGO_TARGET_DIR
# or target/, on a free loopback port with a fresh data directory and one admin
# configured the way the stack's admin secret configures one (JWT_SECRET, ADMIN_USERS
# with an argon2id hash made by the hash-password binary). One per test module.
BIN = os.path.join(TARGET, "debug")


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
    data = str(tmp_path_factory.mktemp("devserver"))
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
