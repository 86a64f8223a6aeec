"""Deploy rehearsal: the dev stack, deployed the way the pipeline deploys it, into moto.

The steps are the real ones: the functions' code is packaged by the pipeline's step
(`deploy.sh package dev`: the pinned `sam package`, into a bucket on moto), the packaged template is transformed with the
pinned aws-sam-translator (moto does not apply the SAM transform; CloudFormation does),
deployed by the deploy step (`deploy.sh deploy dev`: `sam deploy --config-env dev`, a
change set on moto's CloudFormation, dev's parameters from samconfig.toml), updated
with new code the same way, one function is redeployed with `make deploy-function`'s script
(`cargo lambda deploy`), and the stack is deleted.

moto stores code and never runs it, so the code is what `sam build` (make sam-build)
left in .aws-sam/build when it holds every function, else each function's release zip
(target/lambda/<fn>/bootstrap.zip) when all exist, else a stand-in `bootstrap`: a
static arm64 ELF built from a few lines of C with the venv's zig. The test prints which.

Proven against moto (what the emulator holds after the deploy, compared with
template.yaml and samconfig.toml):
  - deploy.sh deploy dev creates and updates the stack with dev's parameters;
  - the table: keys, the gsi1 index with its keys and projection, pay-per-request
    billing (TTL: see below);
  - both queues with redrive policies to their own dead-letter queue after 5 receives,
    their visibility timeouts; the dead-letter queues' retention;
  - the reports bucket exists;
  - one role per function, trusted by Lambda, whose inline statements are exactly the
    template's for dev (ids, actions, resources resolved to this stack's ARNs);
  - each function's runtime, handler, memory, timeout, description, reserved concurrency
    (outbox relay), every environment variable (values resolved to this stack's table,
    queues and bucket), and that its code is the zip sam package uploaded (CodeSha256 =
    SHA-256 of that object), whose bootstrap is an aarch64 ELF;
  - the two SQS event source mappings: queue, batch size, batching window and
    ReportBatchItemFailures; the relay's mapping on the table's stream;
  - the log groups (30-day retention) and the dashboard, whose body names this stack's
    functions and queues;
  - a code update changes every function's CodeSha256 to that of the new zip;
  - deploy-function.sh (cargo lambda deploy) changes the function's code, publishes a
    version and points the `live` alias at it, leaving the configuration as it was;
    it refuses a gradual environment, an unknown function, missing credentials and a
    missing stack, in one line each; deploy.sh package refuses to go on while the admin secret is missing,
    and restores the bootstrap's executable bit that a CI artefact loses;
  - deleting the stack removes functions, roles, queues, mappings and log groups and
    keeps the table and the bucket (DeletionPolicy Retain).

Not provable on moto, measured with moto 5.2.5 (each asserted on the transformed
template in test_transformed_template.py instead):
  - AWS::ApiGatewayV2::* (HTTP and WebSocket APIs), AWS::CloudWatch::Alarm,
    AWS::Scheduler::Schedule, AWS::CodeDeploy::*, AWS::Lambda::Alias,
    AWS::Logs::MetricFilter and AWS::S3::BucketPolicy have no moto model: moto skips
    them (a warning in its log) and a Ref to them resolves to nothing;
  - moto's CloudFormation ignores a function's Architectures (it reports x86_64),
    TracingConfig, LoggingConfig, a role's ManagedPolicyArns and a table's
    TimeToLiveSpecification (TTL reads DISABLED);
  - a stack made through a change set has no Outputs on moto (so the outputs deploy.sh
    prints are checked only in AWS, by the pipeline's smoke step);
  - `--resolve-s3` fails on moto (the managed stack it creates lacks the tags and
    outputs sam expects), so the rehearsal sets ARTIFACT_BUCKET, as a multi-account
    pipeline does;
  - moto keeps `Fn::If [cond, x, AWS::NoValue]` in a list as a null (CloudFormation
    drops it), which makes IAM role creation fail with a 500.
So, before handing the transformed template to moto, this harness (moto_ready) drops
the list items that are `Fn::If` on a false condition with AWS::NoValue, and points a
Ref to a function's alias at the function itself (the event sources and permissions
would otherwise name no function). Nothing else is changed.
"""

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import time
import zipfile

import pytest

from conftest import (
    FUNCTIONS,
    ROOT,
    SCRIPTS,
    TARGET,
    deploy_settings,
    read_template,
    require_tool,
    run,
    transform,
)

STACK, REGION, PARAMS = deploy_settings("dev")
ARTEFACTS = "rehearsal-artefacts"
STANDIN_C = r"""
/* Stand-in Lambda bootstrap for the deploy rehearsal: moto stores code, never runs it. */
static const char revision[] = REVISION; /* referenced below, so each stand-in differs */
void _start(void) {
    register long status __asm__("x0") = 0;
    register long exit_call __asm__("x8") = 93;
    __asm__ volatile("svc #0" : : "r"(status), "r"(exit_call), "r"(revision) : "memory");
    for (;;) {}
}
"""


# ---- building and packaging ------------------------------------------------------------


def elf_machine(data):
    """e_machine of an ELF image (183 = aarch64), or None."""
    if data[:4] != b"\x7fELF":
        return None
    return int.from_bytes(data[18:20], "little")


def standin(workdir, name, revision):
    """A static aarch64 ELF `bootstrap` that exits 0, distinct per (name, revision)."""
    src = os.path.join(workdir, "standin.c")
    with open(src, "w") as f:
        f.write(STANDIN_C)
    out = os.path.join(workdir, f"{name}-{revision}")
    cmd = [
        "python", "-m", "ziglang", "cc", "-target", "aarch64-linux-musl", "-nostdlib", "-static",
        "-ffreestanding", "-Os", f'-DREVISION="{name}-{revision}"', "-o", out, src,
    ]
    code, output = run(cmd, timeout=120)
    assert code == 0, f"zig cc failed (is the venv's ziglang installed?):\n{output}"
    return out


SAM_BUILD = os.path.join(ROOT, ".aws-sam", "build")


def release_bootstraps():
    """Each function's release bootstrap and where it came from: the output of `sam
    build` (make sam-build) if it holds every function, else the release zips of `make
    package` if every one exists, else None."""
    built = {b: os.path.join(SAM_BUILD, lid, "bootstrap") for b, lid in FUNCTIONS.items()}
    if all(os.path.exists(p) for p in built.values()):
        found = {}
        for binary, path in built.items():
            with open(path, "rb") as f:
                found[binary] = f.read()
        return found, "the sam build output (.aws-sam/build)"
    found = {}
    for binary in FUNCTIONS:
        z = os.path.join(TARGET, "lambda", binary, "bootstrap.zip")
        if not os.path.exists(z):
            return None, None
        with zipfile.ZipFile(z) as zf:
            found[binary] = zf.read("bootstrap")
    return found, "release zips (make package)"


def build_dir(workdir, revision, use_release):
    """What `sam build` leaves: a template whose CodeUri are folders holding bootstrap."""
    build = os.path.join(workdir, f"build-{revision}")
    os.makedirs(build)
    release, kind = release_bootstraps() if use_release else (None, None)
    with open(os.path.join(ROOT, "template.yaml")) as f:
        lines = f.read().splitlines()
    out, resource = [], None
    for line in lines:
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            resource = line.strip()[:-1]
        if line.strip().startswith("CodeUri: functions/"):
            binary = next(b for b, lid in FUNCTIONS.items() if lid == resource)
            assert line.strip() == f"CodeUri: functions/{binary}", line
            folder = os.path.join(build, resource)
            os.makedirs(folder)
            target = os.path.join(folder, "bootstrap")
            if release:
                with open(target, "wb") as f:
                    f.write(release[binary])
            else:
                shutil.copy(standin(workdir, binary, revision), target)
            # as a CI artefact delivers it: without its executable bit (deploy.sh restores it)
            os.chmod(target, 0o644)
            line = line.replace(f"CodeUri: functions/{binary}", f"CodeUri: {resource}")
        out.append(line)
    assert sum(1 for l in out if "CodeUri:" in l) == len(FUNCTIONS)
    path = os.path.join(build, "template.yaml")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path, (kind if release else "stand-in bootstraps")


def sam_package(aws_env, built, workdir, revision):
    """The pipeline's package step: deploy.sh package dev (sam package into the bucket)."""
    packaged = os.path.join(workdir, f"packaged-{revision}.yaml")
    env = dict(aws_env, BUILD_DIR=os.path.dirname(built), PACKAGED=packaged, ARTIFACT_BUCKET=ARTEFACTS)
    code, output = run(["bash", os.path.join(SCRIPTS, "deploy.sh"), "package", "dev"], env=env)
    assert code == 0, f"deploy.sh package dev failed:\n{output}"
    assert f"s3://{ARTEFACTS}/{STACK}/" in output, output
    return packaged


# ---- what moto cannot do (see the module docstring) ---------------------------------------


def moto_ready(cfn, parameters):
    """The transformed template with the two documented adaptations for moto."""
    params = {k: v.get("Default") for k, v in cfn.get("Parameters", {}).items()}
    params.update(parameters)
    conditions = cfn.get("Conditions", {})

    def value(x):
        if isinstance(x, dict):
            if "Ref" in x:
                return params[x["Ref"]]
            if "Fn::Equals" in x:
                a, b = x["Fn::Equals"]
                return value(a) == value(b)
            if "Fn::Not" in x:
                return not value(x["Fn::Not"][0])
            if "Fn::And" in x:
                return all(value(c) for c in x["Fn::And"])
            if "Fn::Or" in x:
                return any(value(c) for c in x["Fn::Or"])
            if "Condition" in x:
                return value(conditions[x["Condition"]])
        return x

    aliases = {
        lid: r["Properties"]["FunctionName"]["Ref"]
        for lid, r in cfn["Resources"].items()
        if r["Type"] == "AWS::Lambda::Alias"
    }
    novalue = {"Ref": "AWS::NoValue"}

    def walk(x):
        if isinstance(x, list):
            kept = []
            for item in x:
                if isinstance(item, dict) and "Fn::If" in item:
                    cond, yes, no = item["Fn::If"]
                    if (yes if value(conditions[cond]) else no) == novalue:
                        continue
                kept.append(walk(item))
            return kept
        if isinstance(x, dict):
            if set(x) == {"Ref"} and x["Ref"] in aliases:
                return {"Ref": aliases[x["Ref"]]}
            return {k: walk(v) for k, v in x.items()}
        return x

    out = dict(cfn)
    out["Resources"] = walk(cfn["Resources"])
    return out


def deploy_to_moto(r, body, name):
    """The deploy step itself: deploy.sh deploy dev (sam deploy --config-env dev, through a
    change set, with dev's parameters from samconfig.toml) of the transformed template."""
    path = os.path.join(r.work, f"{name}.json")
    with open(path, "w") as f:
        json.dump(body, f)
    started = time.monotonic()
    env = dict(r.env, ARTIFACT_BUCKET=ARTEFACTS, CI="true")
    code, output = run(["bash", os.path.join(SCRIPTS, "deploy.sh"), "deploy", "dev", path], env=env)
    assert code == 0 and f"Successfully created/updated stack - {STACK} in {REGION}" in output, (
        f"deploy.sh deploy dev failed (see target/moto.log):\n{output}"
    )
    stack = r.cf.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), stack["StackStatus"]
    given = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert {k: given.get(k) for k in PARAMS} == PARAMS, "the stack did not get dev's parameters"
    print(f"{name}: deploy.sh deploy dev took {time.monotonic() - started:.1f} s")
    return stack


# ---- the rehearsal ------------------------------------------------------------------------


class Rehearsal:
    """State shared by the steps below, which run in order against one moto stack."""


@pytest.fixture(scope="module")
def rehearsal(aws_env, tmp_path_factory):
    import boto3
    import botocore.exceptions

    for tool in ("sam", "cargo-lambda", "python-zig"):
        require_tool(tool)
    r = Rehearsal()
    r.env = aws_env
    r.work = str(tmp_path_factory.mktemp("rehearsal"))
    r.session = boto3.session.Session(region_name=REGION)
    r.cf = r.session.client("cloudformation")
    r.s3 = r.session.client("s3")
    try:
        r.cf.describe_stacks(StackName=STACK)
        pytest.fail(f"moto already holds a stack {STACK}: restart moto (a previous run did not clean up)")
    except botocore.exceptions.ClientError:
        pass
    r.s3.create_bucket(Bucket=ARTEFACTS, CreateBucketConfiguration={"LocationConstraint": REGION})

    built, r.code_kind = build_dir(r.work, "r1", use_release=True)
    print(f"\nrehearsal code: {r.code_kind}")
    # The stack resolves the admin secret at deploy; packaging refuses to go on without it.
    env = dict(aws_env, BUILD_DIR=os.path.dirname(built), PACKAGED=os.path.join(r.work, "unused.yaml"))
    code, output = run(["bash", os.path.join(SCRIPTS, "deploy.sh"), "package", "dev"], env=env)
    secret = PARAMS.get("AdminSecretName", "cloud-consulting/admin")
    assert code != 0 and f"the admin secret {secret} does not exist" in output, output
    r.session.client("secretsmanager").create_secret(
        Name=secret, SecretString=json.dumps({"jwt_secret": "x" * 32, "admin_users": "[]"})
    )
    r.packaged = sam_package(aws_env, built, r.work, "r1")
    r.template = read_template(r.packaged)
    r.transformed = transform(r.template, PARAMS, REGION)
    r.stack = deploy_to_moto(r, moto_ready(r.transformed, PARAMS), "create")
    r.resources = physical_ids(r.cf)
    yield r


def physical_ids(cf):
    out = {}
    for page in cf.get_paginator("list_stack_resources").paginate(StackName=STACK):
        for s in page["StackResourceSummaries"]:
            if s["LogicalResourceId"]:
                out[s["LogicalResourceId"]] = s["PhysicalResourceId"]
    return out


def code_sha_of(s3, packaged_template, logical_id):
    """(base64 SHA-256, bytes) of the zip `sam package` uploaded for one function."""
    uri = packaged_template["Resources"][logical_id]["Properties"]["CodeUri"]
    bucket, key = uri[len("s3://"):].split("/", 1)
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return base64.b64encode(hashlib.sha256(data).digest()).decode(), data


def template_resource(r, logical_id):
    return r.transformed["Resources"][logical_id]


def resolve(r, value):
    """A template value with Ref / GetAtt / Sub to this stack's resources resolved the way
    the emulator (and CloudFormation) resolve them, for comparing configuration."""
    arn = {
        "AWS::DynamoDB::Table": lambda p: f"arn:aws:dynamodb:{REGION}:123456789012:table/{p}",
        "AWS::SQS::Queue": lambda p: f"arn:aws:sqs:{REGION}:123456789012:{p.rsplit('/', 1)[1]}",
        "AWS::S3::Bucket": lambda p: f"arn:aws:s3:::{p}",
    }
    types = {lid: res["Type"] for lid, res in r.transformed["Resources"].items()}
    params = {k: v.get("Default") for k, v in r.transformed.get("Parameters", {}).items()}
    params.update(PARAMS)

    def getatt(lid, attr):
        phys = r.resources[lid]
        if attr == "Arn":
            return arn[types[lid]](phys)
        if attr == "QueueName":
            return phys.rsplit("/", 1)[1]
        raise AssertionError(f"unexpected GetAtt {lid}.{attr}")

    def sub(text):
        import re

        def one(m):
            name = m.group(1)
            if name in ("AWS::Partition",):
                return "aws"
            if name == "AWS::Region":
                return REGION
            if name == "AWS::AccountId":
                return "123456789012"
            if name == "AWS::StackName":
                return STACK
            if "." in name:
                return getatt(*name.split(".", 1))
            if name in params:
                return params[name]
            if name in r.resources:
                return r.resources[name]
            return m.group(0)

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    if isinstance(value, dict):
        if "Ref" in value:
            ref = value["Ref"]
            if ref == "AWS::NoValue":
                return None
            if ref in params:
                return params[ref]
            return r.resources[ref]
        if "Fn::GetAtt" in value:
            return getatt(*value["Fn::GetAtt"])
        if "Fn::Sub" in value:
            return sub(value["Fn::Sub"])
        if "Fn::If" in value:
            cond, yes, no = value["Fn::If"]
            return resolve(r, yes if _cond(r, cond) else no)
        resolved = {k: resolve(r, v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not None}
    if isinstance(value, list):
        # AWS::NoValue in a list drops the element.
        return [x for x in (resolve(r, v) for v in value) if x is not None]
    return value


def _cond(r, name):
    params = {k: v.get("Default") for k, v in r.transformed.get("Parameters", {}).items()}
    params.update(PARAMS)

    def decide(c):
        # The template's conditions: "parameter is not empty", and an Or of those.
        if "Condition" in c:
            return decide(r.transformed["Conditions"][c["Condition"]])
        if "Fn::Or" in c:
            return any(decide(x) for x in c["Fn::Or"])
        assert set(c) == {"Fn::Not"}, c
        (eq,) = c["Fn::Not"]
        a, b = eq["Fn::Equals"]
        return params[a["Ref"]] != b

    return decide({"Condition": name})


# ---- step 1: what the emulator holds after the deploy ------------------------------------


def test_table_keys_index_and_ttl(rehearsal):
    r = rehearsal
    ddb = r.session.client("dynamodb")
    want = template_resource(r, "Table")["Properties"]
    table = ddb.describe_table(TableName=r.resources["Table"])["Table"]
    assert table["KeySchema"] == want["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(want["AttributeDefinitions"], key=str)
    assert table["BillingModeSummary"]["BillingMode"] == want["BillingMode"] == "PAY_PER_REQUEST"
    got_gsi = {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in table["GlobalSecondaryIndexes"]}
    want_gsi = {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in want["GlobalSecondaryIndexes"]}
    assert got_gsi == want_gsi and "gsi1" in got_gsi
    # moto's CloudFormation ignores TimeToLiveSpecification (its TTL reads DISABLED), so
    # TTL is checked on the transformed template.
    assert want["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


def test_queues_redrive_to_their_dead_letter_queues(rehearsal):
    r = rehearsal
    sqs = r.session.client("sqs")
    for queue, dlq in (("ReportsQueue", "ReportsDeadLetterQueue"), ("EventsQueue", "EventsDeadLetterQueue")):
        want = template_resource(r, queue)["Properties"]
        attrs = sqs.get_queue_attributes(QueueUrl=r.resources[queue], AttributeNames=["All"])["Attributes"]
        dlq_attrs = sqs.get_queue_attributes(QueueUrl=r.resources[dlq], AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq_attrs["QueueArn"], queue
        assert int(redrive["maxReceiveCount"]) == want["RedrivePolicy"]["maxReceiveCount"] == 5
        assert int(attrs["VisibilityTimeout"]) == want["VisibilityTimeout"]
        assert int(dlq_attrs["MessageRetentionPeriod"]) == template_resource(r, dlq)["Properties"]["MessageRetentionPeriod"]


def test_reports_bucket_exists(rehearsal):
    r = rehearsal
    r.s3.head_bucket(Bucket=r.resources["ReportsBucket"])


def test_one_role_per_function_with_the_templates_statements(rehearsal):
    r = rehearsal
    import ast

    iam = r.session.client("iam")
    roles = set()
    for lid in FUNCTIONS.values():
        fn = r.session.client("lambda").get_function_configuration(FunctionName=r.resources[lid])
        role_name = fn["Role"].rsplit("/", 1)[1]
        assert role_name == r.resources[f"{lid}Role"], lid
        roles.add(role_name)
        role = iam.get_role(RoleName=role_name)["Role"]
        trust = role["AssumeRolePolicyDocument"]
        assert trust["Statement"][0]["Principal"]["Service"] == ["lambda.amazonaws.com"]
        got = []
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            # moto returns the document it stored from CloudFormation as a Python repr.
            doc = ast.literal_eval(doc) if isinstance(doc, str) else doc
            got.extend(doc["Statement"])
        want = []
        for p in template_resource(r, f"{lid}Role")["Properties"].get("Policies", []):
            if isinstance(p, dict) and "Fn::If" in p:
                cond, yes, _ = p["Fn::If"]
                if not _cond(r, cond):
                    continue
                p = yes
            want.extend(resolve(r, p["PolicyDocument"]["Statement"]))
        norm = lambda ss: sorted(json.dumps(s, sort_keys=True) for s in ss)
        assert norm(got) == norm(want), lid
        assert got, f"{lid} has no statements"
    assert len(roles) == len(FUNCTIONS)


def test_each_function_configuration_and_code(rehearsal):
    r = rehearsal
    lam = r.session.client("lambda")
    for binary, lid in FUNCTIONS.items():
        want = template_resource(r, lid)["Properties"]
        fn = lam.get_function(FunctionName=r.resources[lid])
        c = fn["Configuration"]
        assert c["Runtime"] == want["Runtime"] == "provided.al2023", lid
        assert c["Handler"] == want["Handler"] == "bootstrap"
        assert c["MemorySize"] == want["MemorySize"], lid
        assert c["Timeout"] == want["Timeout"], lid
        assert c["Description"] == want["Description"], lid
        assert c["Environment"]["Variables"] == resolve(r, want["Environment"]["Variables"]), lid
        for var in ("TABLE_NAME", "REPORTS_QUEUE_URL", "EVENTS_QUEUE_URL", "REPORTS_BUCKET"):
            assert c["Environment"]["Variables"][var] in r.resources.values(), (lid, var)
        sha, data = code_sha_of(r.s3, r.template, lid)
        assert c["CodeSha256"] == sha, f"{lid} does not hold the zip sam package uploaded"
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            boot = zf.read("bootstrap")
            mode = zf.getinfo("bootstrap").external_attr >> 16
        assert elf_machine(boot) == 183, f"{lid}: bootstrap is not an aarch64 ELF"
        assert mode & 0o111, f"{lid}: bootstrap is not executable in the zip"
        if "ReservedConcurrentExecutions" in want:
            got = lam.get_function_concurrency(FunctionName=r.resources[lid])
            assert got.get("ReservedConcurrentExecutions") == want["ReservedConcurrentExecutions"]


def test_queue_workers_take_batches_with_item_failures(rehearsal):
    r = rehearsal
    lam = r.session.client("lambda")
    sqs = r.session.client("sqs")
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    for lid, queue, event in (
        ("ReportWorkerFunction", "ReportsQueue", "Reports"),
        ("NotifyWorkerFunction", "EventsQueue", "Events"),
    ):
        want = template_resource(r, f"{lid}{event}")["Properties"]
        arn = sqs.get_queue_attributes(QueueUrl=r.resources[queue], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        (m,) = [m for m in mappings if m["EventSourceArn"] == arn]
        assert m["FunctionArn"].split(":")[6] == r.resources[lid]
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] == want["FunctionResponseTypes"]
        assert m["BatchSize"] == want["BatchSize"]
        assert m["MaximumBatchingWindowInSeconds"] == want["MaximumBatchingWindowInSeconds"]
        assert m["State"] == "Enabled"
    # The relay on the table's stream (its filter and failure destination are
    # asserted on the transformed template: moto keeps neither).
    ddb = r.session.client("dynamodb")
    stream_arn = ddb.describe_table(TableName=r.resources["Table"])["Table"]["LatestStreamArn"]
    (m,) = [m for m in mappings if m["EventSourceArn"] == stream_arn]
    assert m["FunctionArn"].split(":")[6] == r.resources["OutboxRelayFunction"]
    assert m["BatchSize"] == template_resource(r, "OutboxRelayFunctionTableStream")["Properties"]["BatchSize"]


def test_log_groups_and_dashboard(rehearsal):
    r = rehearsal
    logs = r.session.client("logs")
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{STACK}/")["logGroups"]}
    assert set(groups) == {f"/aws/lambda/{STACK}/{b}" for b in FUNCTIONS}
    assert all(g.get("retentionInDays") == 30 for g in groups.values())

    cw = r.session.client("cloudwatch")
    body = json.loads(cw.get_dashboard(DashboardName=f"{STACK}-operations")["DashboardBody"])
    named = set()
    for w in body["widgets"]:
        for m in w["properties"].get("metrics", []):
            named.update(x for x in m if isinstance(x, str))
    assert "${" not in json.dumps(body), "the dashboard has an unresolved ${...}"
    for lid in list(FUNCTIONS.values()):
        assert r.resources[lid] in named, f"the dashboard does not show {lid}"
    for q in ("ReportsQueue", "EventsQueue", "ReportsDeadLetterQueue", "EventsDeadLetterQueue"):
        assert r.resources[q].rsplit("/", 1)[1] in named, f"the dashboard does not show {q}"


# ---- step 2: a code change through a stack update ----------------------------------------


def test_code_update_reaches_every_function(rehearsal):
    r = rehearsal
    lam = r.session.client("lambda")
    before = {lid: lam.get_function_configuration(FunctionName=r.resources[lid])["CodeSha256"] for lid in FUNCTIONS.values()}
    built, _ = build_dir(r.work, "r2", use_release=False)
    packaged = sam_package(r.env, built, r.work, "r2")
    template = read_template(packaged)
    transformed = transform(template, PARAMS, REGION)
    deploy_to_moto(r, moto_ready(transformed, PARAMS), "update")
    for lid in FUNCTIONS.values():
        after = lam.get_function_configuration(FunctionName=r.resources[lid])["CodeSha256"]
        sha, _ = code_sha_of(r.s3, template, lid)
        assert after != before[lid], f"{lid} kept its old code"
        assert after == sha, f"{lid} does not hold the new zip"
    # The alias's version follows the code (AutoPublishAlias): a new Version resource.
    old_versions = {k for k, v in r.transformed["Resources"].items() if v["Type"] == "AWS::Lambda::Version"}
    new_versions = {k for k, v in transformed["Resources"].items() if v["Type"] == "AWS::Lambda::Version"}
    assert len(new_versions) == len(FUNCTIONS) and not (old_versions & new_versions)
    r.template, r.transformed = template, transformed


# ---- step 3: make deploy-function (cargo lambda deploy) ------------------------------------


def test_deploy_function_updates_the_stacks_function(rehearsal):
    r = rehearsal
    lam = r.session.client("lambda")
    name = r.resources["PublicApiFunction"]
    before = lam.get_function_configuration(FunctionName=name)
    binary = standin(r.work, "public-api", "dev-loop")
    env = dict(r.env, BINARY=binary)
    code, output = run(["bash", os.path.join(SCRIPTS, "deploy-function.sh"), "public-api", "dev"], env=env)
    print(output)
    assert code == 0, output
    assert f"cargo lambda deploy -> {name}" in output
    after = lam.get_function_configuration(FunctionName=name)
    assert after["CodeSha256"] != before["CodeSha256"], "the function kept its old code"
    for key in ("Environment", "MemorySize", "Timeout", "Role", "Runtime", "Handler"):
        assert after[key] == before[key], f"cargo lambda deploy changed {key}"
    alias = lam.get_alias(FunctionName=name, Name="live")
    version = lam.get_function_configuration(FunctionName=name, Qualifier=alias["FunctionVersion"])
    assert version["CodeSha256"] == after["CodeSha256"], "the live alias does not serve the new code"


def test_deploy_function_names_what_is_wrong(rehearsal):
    r = rehearsal
    script = os.path.join(SCRIPTS, "deploy-function.sh")
    cases = [
        (["public-api", "prod"], r.env, "prod deploys gradually"),
        (["no-such-fn", "dev"], r.env, "FN must be one of"),
        (["public-api", "dev"], {k: v for k, v in r.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}, "no AWS credentials"),
    ]
    for args, env, message in cases:
        code, output = run(["bash", script, *args], env=dict(env, BINARY="/nonexistent"))
        assert code != 0 and message in output, (args, output)
        last = [l for l in output.strip().splitlines() if l.startswith("stack.py:") or l.startswith("deploy-function:")]
        assert len(last) == 1, f"not one line naming the problem: {output}"


# ---- step 4: delete ---------------------------------------------------------------------------


def test_delete_keeps_only_retained_resources(rehearsal):
    r = rehearsal
    import botocore.exceptions

    r.cf.delete_stack(StackName=STACK)
    deadline = time.monotonic() + 30
    while True:
        try:
            status = r.cf.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"]
        except botocore.exceptions.ClientError:
            break
        if status == "DELETE_COMPLETE":
            break
        assert status != "DELETE_FAILED" and time.monotonic() < deadline, status
        time.sleep(0.2)
    lam, sqs, iam, logs = (r.session.client(s) for s in ("lambda", "sqs", "iam", "logs"))
    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert not names & {r.resources[lid] for lid in FUNCTIONS.values()}, "functions survived"
    ours = {r.resources[lid] for lid in FUNCTIONS.values()}
    left = [m for m in lam.list_event_source_mappings()["EventSourceMappings"] if m["FunctionArn"].split(":")[6] in ours]
    assert not left, f"event source mappings survived: {left}"
    queues = sqs.list_queues().get("QueueUrls", [])
    assert not [q for q in queues if STACK in q], f"queues survived: {queues}"
    roles = {x["RoleName"] for x in iam.list_roles()["Roles"]}
    assert not roles & {r.resources[f"{lid}Role"] for lid in FUNCTIONS.values()}, "roles survived"
    assert not logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{STACK}/")["logGroups"]
    # DeletionPolicy: Retain
    assert template_resource(r, "Table")["DeletionPolicy"] == "Retain"
    assert template_resource(r, "ReportsBucket")["DeletionPolicy"] == "Retain"
    r.session.client("dynamodb").describe_table(TableName=r.resources["Table"])
    r.s3.head_bucket(Bucket=r.resources["ReportsBucket"])
    # With the stack gone, the dev loop says so in one line.
    code, output = run(["bash", os.path.join(SCRIPTS, "deploy-function.sh"), "public-api", "dev"],
                       env=dict(r.env, BINARY="/nonexistent"))
    assert code != 0 and f"stack {STACK} does not exist in {REGION}: run make deploy ENV=dev first" in output, output


# ---- the deploy script's refusals (no AWS call gets far: no keys, or no tool) ------------------


def test_deploy_script_names_what_is_missing(aws_env, tmp_path):
    script = os.path.join(SCRIPTS, "deploy.sh")
    no_keys = {k: v for k, v in aws_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    venv_bin = os.path.join(ROOT, ".venv", "bin")
    no_cargo = dict(aws_env, PATH=f"{venv_bin}:/usr/bin:/bin")
    cases = [
        (["dev"], no_keys, "stack.py: no AWS credentials"),
        (["qa"], aws_env, "deploy: usage: deploy.sh ENV"),
        (["package", "qa"], aws_env, "deploy: ENV must be dev, staging or prod"),
        (["deploy", "dev", str(tmp_path / "none.yaml")], aws_env, "deploy: no template at"),
        (["package", "dev"], dict(aws_env, BUILD_DIR=str(tmp_path)), "deploy: no build at"),
        (["build"], no_cargo, "deploy: cargo is not installed"),
    ]
    for args, env, message in cases:
        code, output = run(["bash", script, *args], env=env, timeout=120)
        assert code != 0, (args, output)
        problems = [l for l in output.splitlines() if l.startswith(("deploy:", "stack.py:"))]
        assert len(problems) == 1 and problems[0].startswith(message), (args, output)
