"""What the deploy scripts need to know about an environment and its stack, in one place,
so that make deploy, make deploy-function, the pipeline and the rehearsal read the
same settings (samconfig.toml) and fail the same way: one line naming the problem.

Usage (python stack.py COMMAND ENV [ARG]):
  setting ENV KEY       a [ENV.deploy.parameters] value of samconfig.toml (stack_name, region,
                        s3_prefix) or a parameter override (DeploymentStyle, AdminSecretName, ...)
  preflight ENV         AWS credentials work in ENV's region, and the admin secret the stack
                        resolves exists; prints the account and region
  function ENV BINARY   the physical name of the stack's function built from BINARY (public-api, ...)
  outputs ENV           the stack's outputs as KEY=VALUE lines
  binaries              the function binaries template.yaml builds, one a line

The AWS endpoint follows AWS_ENDPOINT_URL (an emulator in tests).
"""

import os
import re
import shlex
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENVS = ("dev", "staging", "prod")


def fail(msg):
    print(f"{os.path.basename(sys.argv[0])}: {msg}", file=sys.stderr)
    sys.exit(1)


def deploy_parameters(env):
    if env not in ENVS:
        fail(f"ENV must be one of {', '.join(ENVS)}, not {env!r}")
    with open(os.path.join(ROOT, "samconfig.toml"), "rb") as f:
        config = tomllib.load(f)
    try:
        return config[env]["deploy"]["parameters"]
    except KeyError:
        fail(f"samconfig.toml has no [{env}.deploy.parameters]")


def template_defaults():
    """Parameter defaults of template.yaml (read as text: no YAML tags needed)."""
    defaults, current, inside = {}, None, False
    with open(os.path.join(ROOT, "template.yaml")) as f:
        for line in f:
            if not line.startswith(" "):
                inside = line.startswith("Parameters:")
                continue
            if not inside:
                continue
            m = re.match(r"^  (\w+):\s*$", line)
            if m:
                current = m.group(1)
                continue
            m = re.match(r"^    Default:\s*(.*?)\s*$", line)
            if m and current:
                defaults[current] = m.group(1).strip("'\"")
    return defaults


def setting(env, key):
    params = deploy_parameters(env)
    if key in params:
        return str(params[key])
    overrides = dict(
        item.split("=", 1) for item in shlex.split(params.get("parameter_overrides", "")) if "=" in item
    )
    if key in overrides:
        return overrides[key]
    defaults = template_defaults()
    if key in defaults:
        return defaults[key]
    fail(f"no setting {key} for {env} in samconfig.toml or template.yaml")


def binaries():
    """Binary name -> logical id of each function template.yaml builds."""
    out, resource = {}, None
    with open(os.path.join(ROOT, "template.yaml")) as f:
        for line in f:
            m = re.match(r"^  (\w+):\s*$", line)
            if m:
                resource = m.group(1)
            m = re.match(r"^        Binary:\s*(\S+)\s*$", line)
            if m and resource:
                out[m.group(1)] = resource
    return out


def session(env):
    try:
        import boto3
        import botocore.exceptions as bex
    except ImportError:
        fail("boto3 is missing: source infra/scripts/tools.sh first")
    region = setting(env, "region")
    return boto3.session.Session(region_name=region), bex


def credentials(env):
    sess, bex = session(env)
    try:
        ident = sess.client("sts").get_caller_identity()
    except bex.NoCredentialsError:
        fail("no AWS credentials: set AWS_PROFILE (aws sso login / aws configure) or the AWS_* variables")
    except bex.ClientError as e:
        fail(f"the AWS credentials were refused: {e.response['Error'].get('Message', e)}")
    except bex.BotoCoreError as e:
        fail(f"AWS is unreachable or the credentials are unusable: {e}")
    return sess, bex, ident


def stack_resources(env):
    sess, bex, _ = credentials(env)
    name, region = setting(env, "stack_name"), setting(env, "region")
    cf = sess.client("cloudformation")
    try:
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    except bex.ClientError as e:
        if "does not exist" in str(e):
            fail(f"stack {name} does not exist in {region}: run make deploy ENV={env} first")
        fail(f"cannot read stack {name} in {region}: {e}")
    resources = []
    for page in cf.get_paginator("list_stack_resources").paginate(StackName=name):
        resources.extend(page["StackResourceSummaries"])
    return stack, resources


def main(argv):
    if len(argv) < 2:
        fail(__doc__.strip().splitlines()[0])
    cmd, args = argv[1], argv[2:]
    if cmd == "setting" and len(args) == 2:
        print(setting(*args))
    elif cmd == "binaries" and not args:
        print("\n".join(sorted(binaries())))
    elif cmd == "preflight" and len(args) == 1:
        env = args[0]
        sess, bex, ident = credentials(env)
        secret = setting(env, "AdminSecretName")
        try:
            sess.client("secretsmanager").describe_secret(SecretId=secret)
        except bex.ClientError as e:
            code = e.response["Error"].get("Code")
            if code == "ResourceNotFoundException":
                fail(f"the admin secret {secret} does not exist in {sess.region_name}: create it as the README's Deploy section says")
            print(f"note: could not check the admin secret {secret} ({code}); the deploy fails if it is missing", file=sys.stderr)
        print(f"account {ident['Account']}, region {sess.region_name}, stack {setting(env, 'stack_name')}")
    elif cmd == "function" and len(args) == 2:
        env, binary = args
        known = binaries()
        if binary not in known:
            fail(f"FN must be one of {', '.join(sorted(known))}, not {binary!r}")
        _, resources = stack_resources(env)
        for r in resources:
            if r["LogicalResourceId"] == known[binary] and r["ResourceType"] == "AWS::Lambda::Function":
                print(r["PhysicalResourceId"])
                return
        fail(f"stack {setting(env, 'stack_name')} has no function {known[binary]}")
    elif cmd == "outputs" and len(args) == 1:
        stack, _ = stack_resources(args[0])
        for o in stack.get("Outputs", []):
            print(f"{o['OutputKey']}={o['OutputValue']}")
    else:
        fail(f"unknown command: {' '.join(argv[1:])}")


if __name__ == "__main__":
    main(sys.argv)
