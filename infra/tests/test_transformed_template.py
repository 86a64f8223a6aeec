"""template.yaml after the SAM transform (the pinned aws-sam-translator, with each
environment's parameters from samconfig.toml): the facts moto cannot hold, because it
has no model for the resource or ignores the property (see test_deploy_rehearsal.py).

Proven here, on the transformed template:
  - the HTTP API routes every operation of the served OpenAPI document
    (shared/http/openapi.json) and the CORS preflight, each to a function's `live` alias;
  - the WebSocket API's $connect, $disconnect and $default routes reach the chat
    function's alias through one integration, on an auto-deployed stage;
  - every event source, schedule and invoke permission targets an alias, never $LATEST;
  - staging and prod: a CodeDeploy deployment group per function with its traffic
    shifting (canary for the APIs and the chat, linear for the workers, all at once for
    the relay), rolled back by that function's error alarm; dev: none, aliases move at once;
  - an error alarm per function, and the queue alarms;
  - each function: arm64, X-Ray tracing, JSON logs into its own log group, the basic
    execution and X-Ray managed policies;
  - the table's TTL, the bucket's TLS-only policy;
  - the dashboard: every function, queue and dead-letter queue is on it, and every
    custom metric it shows is one the code emits (EMF in shared/http/src/metrics.rs) or a
    metric filter of the template derives from a log line the code writes (the filter's
    message and fields found in the Rust sources); every other metric is an AWS service
    metric.
"""

import json
import re

import pytest

from conftest import (
    FUNCTIONS,
    ROOT,
    deploy_settings,
    read_template,
    rust_sources,
    transform,
    with_s3_code,
)

ENVS = ("dev", "staging", "prod")
CANARY, LINEAR, ALL_AT_ONCE = "Canary10Percent5Minutes", "Linear10PercentEvery1Minute", "AllAtOnce"
EXPECTED_SHIFT = {
    "PublicApiFunction": CANARY,
    "AdminApiFunction": CANARY,
    "ChatWsFunction": CANARY,
    "ReportWorkerFunction": LINEAR,
    "NotifyWorkerFunction": LINEAR,
    "OutboxRelayFunction": ALL_AT_ONCE,
}
ALARM_OF = {lid: lid.replace("Function", "ErrorsAlarm") for lid in FUNCTIONS.values()}
# AWS service metrics the dashboard may show, by namespace.
SERVICE_METRICS = {
    "AWS/Lambda": {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"},
    "AWS/SQS": {
        "ApproximateNumberOfMessagesVisible",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateAgeOfOldestMessage",
        "NumberOfMessagesSent",
        "NumberOfMessagesDeleted",
    },
    "AWS/Bedrock": {"Invocations", "InvocationClientErrors", "InvocationServerErrors", "InvocationThrottles", "InvocationLatency"},
    "AWS/SES": {"Send", "Delivery", "Bounce", "Reject", "Complaint"},
}


@pytest.fixture(scope="module", params=ENVS)
def env_template(request):
    _, region, params = deploy_settings(request.param)
    return request.param, params, transform(with_s3_code(read_template()), params, region)


@pytest.fixture(scope="module")
def dev():
    _, region, params = deploy_settings("dev")
    return transform(with_s3_code(read_template()), params, region)


@pytest.fixture(scope="module")
def prod():
    _, region, params = deploy_settings("prod")
    return transform(with_s3_code(read_template()), params, region)


def of_type(t, kind):
    return {k: v for k, v in t["Resources"].items() if v["Type"] == kind}


def alias_of(lid):
    return f"{lid}Aliaslive"


def refs(x):
    """Every logical id named by Ref, GetAtt or ${...} inside a value."""
    out = set()
    if isinstance(x, dict):
        if "Ref" in x:
            out.add(x["Ref"])
        if "Fn::GetAtt" in x:
            out.add(x["Fn::GetAtt"][0])
        for k, v in x.items():
            if k == "Fn::Sub":
                text, local = (v[0], v[1]) if isinstance(v, list) else (v, {})
                names = {n.split(".")[0] for n in re.findall(r"\$\{([^}!]+)\}", text)}
                out.update(n for n in names if "::" not in n and n not in local)
            out |= refs(v)
    elif isinstance(x, list):
        for v in x:
            out |= refs(v)
    return out


def test_every_served_operation_is_routed_to_an_alias(dev):
    with open(f"{ROOT}/shared/http/openapi.json") as f:
        served = {(m.upper(), p) for p, ops in json.load(f)["paths"].items() for m in ops}
    body = dev["Resources"]["HttpApi"]["Properties"]["Body"]
    routed = {}
    for path, ops in body["paths"].items():
        for method, op in ops.items():
            target = refs(op["x-amazon-apigateway-integration"]["uri"])
            routed[(method.upper(), path)] = target
    assert served, "shared/http/openapi.json lists no operations"
    missing = sorted(served - {k for k in routed if k[0] != "X-AMAZON-APIGATEWAY-ANY-METHOD"})
    assert not missing, f"served but not routed by the HTTP API: {missing}"
    assert ("OPTIONS", "/{proxy+}") in routed, "no CORS preflight route"
    aliases = {alias_of(lid) for lid in FUNCTIONS.values()}
    for route, target in routed.items():
        assert len(target) == 1 and target <= aliases, f"{route} does not call a live alias: {target}"
    assert routed[("POST", "/api/v1/inquiries")] == {"PublicApiFunctionAliaslive"}
    assert routed[("GET", "/api/v1/inquiries")] == {"AdminApiFunctionAliaslive"}


def test_websocket_routes_reach_the_chat_alias(dev):
    r = dev["Resources"]
    assert r["ChatApi"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    keys = {v["Properties"]["RouteKey"]: v for v in of_type(dev, "AWS::ApiGatewayV2::Route").values()
            if v["Properties"]["ApiId"] == {"Ref": "ChatApi"}}
    assert set(keys) == {"$connect", "$disconnect", "$default"}
    for route in keys.values():
        assert route["Properties"]["Target"] == {"Fn::Sub": "integrations/${ChatIntegration}"}
    assert refs(r["ChatIntegration"]["Properties"]["IntegrationUri"]) == {"ChatWsFunctionAliaslive"}
    assert r["ChatInvokePermission"]["Properties"]["FunctionName"] == {"Ref": "ChatWsFunctionAliaslive"}
    assert r["ChatStage"]["Properties"]["AutoDeploy"] is True


def test_event_sources_schedules_and_permissions_target_aliases(env_template):
    _, _, t = env_template
    aliases = {alias_of(lid) for lid in FUNCTIONS.values()}
    for lid, m in of_type(t, "AWS::Lambda::EventSourceMapping").items():
        assert m["Properties"]["FunctionName"]["Ref"] in aliases, lid
        assert m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], lid
    mappings = of_type(t, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 3
    # The stream drives the relay; the one schedule is the retention sweep's.
    assert set(of_type(t, "AWS::Scheduler::Schedule")) == {"ReportWorkerFunctionRetentionSweep"}
    for lid, s in of_type(t, "AWS::Scheduler::Schedule").items():
        assert refs(s["Properties"]["Target"]["Arn"]) == {"ReportWorkerFunctionAliaslive"}, lid
    # The relay reads the table's stream: only inserted outbox entries, a failing
    # record bisected, retried and then parked on a queue of its own.
    (stream,) = [m["Properties"] for m in mappings.values() if "EventSourceArn" in m["Properties"]
                 and "StreamArn" in json.dumps(m["Properties"]["EventSourceArn"])]
    assert stream["FunctionName"] == {"Ref": "OutboxRelayFunctionAliaslive"}
    assert stream["EventSourceArn"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["RelayFailuresQueue", "Arn"]}
    (pattern,) = [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]]
    assert pattern == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "OUTBOX#"}]}}}}
    assert t["Resources"]["Table"]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    for lid, p in of_type(t, "AWS::Lambda::Permission").items():
        assert p["Properties"]["FunctionName"]["Ref"] in aliases, lid
    for lid in FUNCTIONS.values():
        alias = t["Resources"][alias_of(lid)]
        assert alias["Properties"]["Name"] == "live"
        assert alias["Properties"]["FunctionName"] == {"Ref": lid}


def test_gradual_deployment_where_samconfig_says(env_template):
    env, params, t = env_template
    groups = of_type(t, "AWS::CodeDeploy::DeploymentGroup")
    if params["DeploymentStyle"] == "AllAtOnce":
        assert env == "dev", "only dev deploys all at once"
        assert not groups and not of_type(t, "AWS::CodeDeploy::Application")
        for lid in FUNCTIONS.values():
            assert "UpdatePolicy" not in t["Resources"][alias_of(lid)]
        return
    assert params["DeploymentStyle"] == "Gradual" and env in ("staging", "prod")
    assert set(groups) == {f"{lid}DeploymentGroup" for lid in FUNCTIONS.values()}
    for lid, shift in EXPECTED_SHIFT.items():
        g = groups[f"{lid}DeploymentGroup"]["Properties"]
        assert g["DeploymentConfigName"]["Fn::Sub"][1]["ConfigName"] == shift, lid
        assert g["AlarmConfiguration"] == {"Enabled": True, "Alarms": [{"Name": {"Ref": ALARM_OF[lid]}}]}, lid
        assert g["AutoRollbackConfiguration"]["Enabled"] is True
        assert "DEPLOYMENT_STOP_ON_ALARM" in g["AutoRollbackConfiguration"]["Events"]
        update = t["Resources"][alias_of(lid)]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert update["DeploymentGroupName"] == {"Ref": f"{lid}DeploymentGroup"}


def test_an_error_alarm_per_function_and_the_queue_alarms(dev):
    alarms = of_type(dev, "AWS::CloudWatch::Alarm")
    for lid, name in ALARM_OF.items():
        p = alarms[name]["Properties"]
        assert (p["Namespace"], p["MetricName"]) == ("AWS/Lambda", "Errors"), name
        assert p["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": lid}}], name
        assert p["ComparisonOperator"] == "GreaterThanThreshold"
    watched = {(a["Properties"]["MetricName"], tuple(sorted(refs(a["Properties"].get("Dimensions", []))))) for a in alarms.values()}
    for q in ("ReportsDeadLetterQueue", "EventsDeadLetterQueue"):
        assert ("ApproximateNumberOfMessagesVisible", (q,)) in watched, q
    for q in ("ReportsQueue", "EventsQueue"):
        assert ("ApproximateAgeOfOldestMessage", (q,)) in watched, q
    # A notification that failed for good (a hook down through every delivery, say)
    # alarms, from the metric the notify worker's log lines are filtered into.
    assert ("NotificationsFailed", ()) in watched
    filters = of_type(dev, "AWS::Logs::MetricFilter")
    assert any(
        t["MetricName"] == "NotificationsFailed"
        for f in filters.values()
        for t in f["Properties"]["MetricTransformations"]
    )


def test_the_web_forms_post_is_throttled_and_limited_per_client(dev):
    # API Gateway throttles the public POST on its own, below every other route...
    stages = of_type(dev, "AWS::ApiGatewayV2::Stage")
    http = [p["Properties"] for p in stages.values() if "RouteSettings" in p["Properties"]]
    assert http, "the HTTP API's stage has route settings"
    post = http[0]["RouteSettings"]["POST /api/v1/inquiries"]
    default = http[0]["DefaultRouteSettings"]
    assert post["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
    assert post["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    # ...and the function keeps the per-client limit in the table, as configured.
    env = dev["Resources"]["PublicApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SUBMISSIONS_PER_CLIENT_PER_HOUR"] == {"Ref": "SubmissionsPerClientPerHour"}


def test_functions_run_arm64_traced_logging_json_to_their_own_group(dev):
    r = dev["Resources"]
    groups = of_type(dev, "AWS::Logs::LogGroup")
    for binary, lid in FUNCTIONS.items():
        p = r[lid]["Properties"]
        assert p["Architectures"] == ["arm64"], lid
        assert p["TracingConfig"] == {"Mode": "Active"}, lid
        assert p["LoggingConfig"]["LogFormat"] == "JSON", lid
        group = p["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{binary}"}
        role = r[f"{lid}Role"]["Properties"]
        arns = [m["Fn::Sub"] if isinstance(m, dict) else m for m in role["ManagedPolicyArns"]]
        managed = {a.rsplit("/", 1)[1] for a in arns}
        assert {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"} <= managed, lid


def test_table_ttl_and_bucket_tls_policy(dev):
    r = dev["Resources"]
    assert r["Table"]["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    (deny,) = r["ReportsBucketTlsOnly"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}


# ---- the dashboard ------------------------------------------------------------------------


def dashboard_metrics(t):
    """(namespace, metric name, [names it is shown for]) of every metric on the dashboard,
    SEARCH expressions included."""
    (dash,) = of_type(t, "AWS::CloudWatch::Dashboard").values()
    body = dash["Properties"]["DashboardBody"]["Fn::Sub"]
    shown = []
    for w in json.loads(body)["widgets"]:
        for m in w["properties"].get("metrics", []):
            if isinstance(m[0], dict):
                expr = m[0]["expression"]
                found = re.fullmatch(r"""SEARCH\('\{([^,}]+)[^}]*\} MetricName="(\w+)"', '\w+', \d+\)""", expr)
                assert found, f"an expression the test cannot read: {expr}"
                shown.append((found.group(1), found.group(2), []))
            else:
                strings = [x for x in m if isinstance(x, str)]
                shown.append((strings[0], strings[1], strings[2:]))
    return body, shown


def emf_metric_names(sources):
    """(namespace, metric) of every EMF record the Rust code writes."""
    out = set()
    for text in sources.values():
        for block in re.findall(r'"CloudWatchMetrics"\s*:\s*\[\{(.*?)\}\]\s*\}', text, re.S):
            ns = re.search(r'"Namespace"\s*:\s*"([^"]+)"', block).group(1)
            out |= {(ns, n) for n in re.findall(r'\{"Name"\s*:\s*"(\w+)"', block)}
    return out


def filter_metrics(t, sources):
    """(namespace, metric) of every metric filter whose log line the code writes."""
    out, problems = set(), []
    logged = "\n".join(sources.values())
    for lid, f in of_type(t, "AWS::Logs::MetricFilter").items():
        pattern = f["Properties"]["FilterPattern"]
        messages = re.findall(r'\$\.message = "([^"]+)"', pattern)
        fields = set(re.findall(r"\$\.(\w+)", pattern)) - {"message"}
        if not messages:
            problems.append(f"{lid}: no $.message in {pattern}")
        for msg in messages:
            # the tracing macro that writes this message, with the fields the filter reads
            calls = [c for c in re.findall(r"tracing::\w+!\((.*?)\);", logged, re.S) if f'"{msg}"' in c]
            if not calls:
                problems.append(f"{lid}: no log line {msg!r} in the Rust sources")
            elif not any(all(re.search(rf"\b{fld}\b", c) for fld in fields) for c in calls):
                problems.append(f"{lid}: the line {msg!r} does not carry {sorted(fields)}")
        for tr in f["Properties"]["MetricTransformations"]:
            out.add((tr["MetricNamespace"], tr["MetricName"]))
    assert not problems, "\n".join(problems)
    return out


def test_dashboard_shows_every_function_and_queue(dev):
    body, shown = dashboard_metrics(dev)
    named = {n for _, _, names in shown for n in names}
    for lid in FUNCTIONS.values():
        assert f"${{{lid}}}" in named, f"{lid} is not on the dashboard"
        for metric in ("Invocations", "Errors", "Duration"):
            assert ("AWS/Lambda", metric, ["FunctionName", f"${{{lid}}}"]) in shown, (lid, metric)
    for q in ("ReportsQueue", "EventsQueue"):
        for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"):
            assert ("AWS/SQS", metric, ["QueueName", f"${{{q}.QueueName}}"]) in shown, (q, metric)
    for q in ("ReportsDeadLetterQueue", "EventsDeadLetterQueue"):
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", ["QueueName", f"${{{q}.QueueName}}"]) in shown, q
    dev_refs = set(re.findall(r"\$\{([^}.!]+)", body)) - {"AWS::Region", "AWS::StackName", "Stage"}
    assert dev_refs <= set(dev["Resources"]), f"the dashboard names unknown resources: {dev_refs - set(dev['Resources'])}"


def test_dashboard_metrics_exist(dev):
    sources = rust_sources()
    emf = emf_metric_names(sources)
    assert ("CloudConsulting", "Latency") in emf, f"the EMF record was not found in the Rust sources: {emf}"
    derived = filter_metrics(dev, sources)
    _, shown = dashboard_metrics(dev)
    unknown = []
    for ns, metric, _ in shown:
        if ns.startswith("AWS/"):
            if metric not in SERVICE_METRICS.get(ns, set()):
                unknown.append(f"{ns} {metric} is not a known service metric")
        elif (ns, metric) not in emf | derived:
            unknown.append(f"{ns} {metric} is neither emitted by the code (EMF) nor derived by a metric filter")
    assert not unknown, "\n".join(unknown)
    wanted = {"Latency", "Errors", "ClientErrors", "ReportsFromTemplate", "ReportsFromModel",
              "ChatTemplateAnswers", "EmailsSent", "EmailsFailed"}
    assert wanted <= {m for _, m, _ in shown}, wanted - {m for _, m, _ in shown}
    assert ("AWS/Bedrock", "Invocations") in {(n, m) for n, m, _ in shown}


def test_metric_checks_catch_a_metric_nobody_emits(dev):
    """The check above fails for a metric neither the code nor a filter produces."""
    sources = rust_sources()
    emf, derived = emf_metric_names(sources), filter_metrics(dev, sources)
    assert ("CloudConsulting", "ReportsDrafted") not in emf | derived
    broken = json.loads(json.dumps(dev))
    f = next(iter(of_type(broken, "AWS::Logs::MetricFilter").values()))
    f["Properties"]["FilterPattern"] = '{ $.message = "a line nobody writes" }'
    with pytest.raises(AssertionError, match="nobody writes"):
        filter_metrics(broken, sources)


# What each function reads from Secrets Manager at start, by the parameter naming the
# secret; no other function may read any.
SECRETS_OF = {
    "AdminApiFunction": ("AdminSecretName", "HooksSecret"),
    "ChatWsFunction": ("AdminSecretName",),
    "NotifyWorkerFunction": ("SlackWebhookSecret", "HooksSecret"),
}
SECRET_ARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${%s}-??????"
SETTINGS_FROM_SECRETS = {"JWT_SECRET", "ADMIN_USERS", "SLACK_WEBHOOK_URL", "HOOKS"}


def evaluated(t, params, value):
    """`value` with the template's conditions decided for `params` (Fn::If taken,
    AWS::NoValue dropped), as CloudFormation decides them on deploy."""
    defaults = {k: v.get("Default") for k, v in t.get("Parameters", {}).items()}
    defaults.update(params)

    def cond(c):
        if "Condition" in c:
            return cond(t["Conditions"][c["Condition"]])
        if "Fn::Not" in c:
            return not cond(c["Fn::Not"][0])
        if "Fn::Or" in c:
            return any(cond(x) for x in c["Fn::Or"])
        if "Fn::Equals" in c:
            a, b = (defaults[x["Ref"]] if isinstance(x, dict) else x for x in c["Fn::Equals"])
            return a == b
        raise AssertionError(f"unexpected condition {c}")

    def walk(v):
        if isinstance(v, dict):
            if v == {"Ref": "AWS::NoValue"}:
                return None
            if "Fn::If" in v:
                name, yes, no = v["Fn::If"]
                return walk(yes if cond({"Condition": name}) else no)
            out = {k: walk(x) for k, x in v.items()}
            return {k: x for k, x in out.items() if x is not None}
        if isinstance(v, list):
            return [x for x in (walk(x) for x in v) if x is not None]
        return v

    return walk(value)


@pytest.mark.parametrize("days", ["0", "30"])
def test_the_retention_sweep_runs_hourly_only_when_retention_days_are_set(days):
    """The report worker (which holds the report files' rights) erases closed inquiries
    that are due when invoked with the sweep's input; the schedule is off, and the
    worker told no retention, while RetentionDays is 0 (the default)."""
    _, region, params = deploy_settings("dev")
    params = dict(params, RetentionDays=days)
    t = transform(with_s3_code(read_template()), params, region)
    sweep = evaluated(t, params, t["Resources"]["ReportWorkerFunctionRetentionSweep"])["Properties"]
    assert sweep["ScheduleExpression"] == "rate(1 hour)"
    assert sweep["State"] == ("DISABLED" if days == "0" else "ENABLED")
    assert json.loads(sweep["Target"]["Input"]) == {"sweep": "retention"}
    env = t["Resources"]["ReportWorkerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["RETENTION_DAYS"] == {"Ref": "RetentionDays"}
    assert read_template()["Parameters"]["RetentionDays"]["Default"] == "0"


@pytest.mark.parametrize("named", [False, True], ids=["no-slack-no-hooks", "slack-and-hooks"])
def test_secrets_are_named_in_the_environment_and_granted_one_by_one(named):
    """No function's environment holds a secret (a dynamic reference would put its value
    there, for the console and GetFunctionConfiguration to show); each function that
    reads secrets at start may read exactly the ones it names, and no other may read any."""
    _, region, params = deploy_settings("prod")
    if named:
        params = dict(params, SlackWebhookSecret="prod/slack", HooksSecret="prod/hooks")
    t = transform(with_s3_code(read_template()), params, region)
    for lid in FUNCTIONS.values():
        variables = evaluated(t, params, t["Resources"][lid]["Properties"]["Environment"]["Variables"])
        assert "{{resolve:" not in json.dumps(variables), lid
        assert not SETTINGS_FROM_SECRETS & set(variables), (lid, SETTINGS_FROM_SECRETS & set(variables))

        statements = []
        for p in evaluated(t, params, t["Resources"][f"{lid}Role"]["Properties"].get("Policies", [])):
            statements.extend(p["PolicyDocument"]["Statement"])
        actions = lambda s: s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        secret_statements = [s for s in statements if any(a.startswith("secretsmanager:") for a in actions(s))]
        defaults = {k: v.get("Default") for k, v in t["Parameters"].items()}
        defaults.update(params)
        wanted = [p for p in SECRETS_OF.get(lid, ()) if defaults.get(p)]
        if not wanted:
            assert secret_statements == [], lid
            continue
        grants = {s["Action"]: s["Resource"] for s in secret_statements}
        assert set(grants) == {"secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"}, lid
        # BatchGetSecretValue takes no resource; it reads nothing without GetSecretValue.
        assert grants["secretsmanager:BatchGetSecretValue"] == "*", lid
        resources = grants["secretsmanager:GetSecretValue"]
        resources = resources if isinstance(resources, list) else [resources]
        assert sorted(r["Fn::Sub"] for r in resources) == sorted(SECRET_ARN % p for p in wanted), lid
        variable_of = {
            "AdminSecretName": "ADMIN_SECRET_ID",
            "SlackWebhookSecret": "SLACK_SECRET_ID",
            "HooksSecret": "HOOKS_SECRET_ID",
        }
        for p in wanted:
            assert variables[variable_of[p]] == {"Ref": p}, (lid, p)
