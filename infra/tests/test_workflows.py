"""The GitHub workflows: linted by the pinned zizmor (the workflow schema, expressions and
security audits, offline), and held to what the pipeline promises: CI runs the README's
test command; a push to main builds once, packages once, deploys that one packaged
template to dev, smoke-tests it, then promotes it to staging and to prod behind the prod
environment, with short-lived OIDC credentials and no stored keys; and the README's
Deploy section lists exactly the commands deploy.yml runs.
"""

import os
import re
import shutil

import pytest
import yaml

from conftest import ROOT, require_tool, run

WORKFLOWS = os.path.join(ROOT, ".github", "workflows")
CONFIGURE_AWS = "aws-actions/configure-aws-credentials@"


def load(name):
    with open(os.path.join(WORKFLOWS, name)) as f:
        return yaml.safe_load(f)


def on(workflow):
    # PyYAML reads the key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def runs(job):
    return [s["run"].strip() for s in job["steps"] if "run" in s]


def uses(job, prefix):
    return [s for s in job["steps"] if s.get("uses", "").startswith(prefix)]


def test_zizmor_finds_nothing():
    require_tool("zizmor")
    code, output = run(["zizmor", "--offline", "--strict-collection", "--persona", "auditor", WORKFLOWS])
    assert code == 0, output


def test_zizmor_catches_a_broken_workflow(tmp_path):
    """The lint above can fail: deploy.yml with one misspelt key is refused."""
    require_tool("zizmor")
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    text = open(os.path.join(WORKFLOWS, "deploy.yml")).read().replace("runs-on:", "run-on:", 1)
    (broken / "deploy.yml").write_text(text)
    code, output = run(["zizmor", "--offline", "--strict-collection", str(broken)])
    assert code != 0, output


def test_ci_runs_the_readme_test_command_with_caches():
    ci = load("ci.yml")
    assert "push" in on(ci) and "pull_request" in on(ci)
    (job,) = ci["jobs"].values()
    assert runs(job) == ["make test"]
    cached = [s["with"]["path"] for s in uses(job, "actions/cache@")]
    assert any("target" in p.split() and "~/.cargo/registry/cache" in p for p in cached), cached
    assert any(p.strip() == ".venv" for p in cached), cached
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        assert "make test" in f.read()


def test_deploy_promotes_one_artefact_with_oidc():
    wf = load("deploy.yml")
    assert on(wf)["push"]["branches"] == ["main"]
    assert wf["permissions"] == {"contents": "read"}, "id-token only where a job assumes a role"
    jobs = wf["jobs"]
    assert list(jobs) == ["build", "dev", "staging", "prod"]
    assert jobs["dev"]["needs"] == "build" and jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert jobs["prod"]["environment"] == "prod"
    assert jobs["staging"]["environment"] == "staging" and jobs["dev"]["environment"] == "dev"

    text = open(os.path.join(WORKFLOWS, "deploy.yml")).read()
    assert not re.search(r"aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY", text), "stored keys"
    assert not uses(jobs["build"], CONFIGURE_AWS) and "id-token" not in jobs["build"].get("permissions", {})
    for env in ("dev", "staging", "prod"):
        job = jobs[env]
        assert job["permissions"]["id-token"] == "write", env
        (creds,) = uses(job, CONFIGURE_AWS)
        assert creds["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}", env

    # built once, packaged once, and that one packaged template deployed everywhere
    all_runs = [(name, r) for name, job in jobs.items() for r in runs(job)]
    assert [n for n, r in all_runs if r.startswith("make sam-build")] == ["build"]
    assert [n for n, r in all_runs if r.startswith("make sam-package")] == ["dev"]
    deploys = [(n, r) for n, r in all_runs if r.startswith("make sam-deploy")]
    assert deploys == [(e, f"make sam-deploy ENV={e} TEMPLATE=.aws-sam/packaged.yaml") for e in ("dev", "staging", "prod")]
    uploads = [(n, s["with"]["name"]) for n, job in jobs.items() for s in uses(job, "actions/upload-artifact@")]
    assert uploads == [("build", "sam-build"), ("dev", "packaged-template")]
    for env in ("staging", "prod"):
        (dl,) = uses(jobs[env], "actions/download-artifact@")
        assert dl["with"] == {"name": "packaged-template", "path": ".aws-sam"}, env
    dev_runs = runs(jobs["dev"])
    assert dev_runs.index("make smoke ENV=dev") > dev_runs.index("make sam-deploy ENV=dev TEMPLATE=.aws-sam/packaged.yaml")


def readme_deploy_commands():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    m = re.search(r"^## Deploy\n(.*?)(?=^## )", readme, re.S | re.M)
    assert m, "README.md has no Deploy section"
    section = m.group(1)
    block = re.search(r"pipeline runs exactly these.*?```sh\n(.*?)```", section, re.S)
    assert block, "the Deploy section has no block of the pipeline's commands"
    return section, [l.split("#")[0].strip() for l in block.group(1).splitlines() if l.split("#")[0].strip()]


def test_readme_deploy_section_is_what_the_pipeline_runs():
    wf = load("deploy.yml")
    section, listed = readme_deploy_commands()
    ran = [r for job in wf["jobs"].values() for r in runs(job)]
    assert listed == ran, f"README lists {listed}, deploy.yml runs {ran}"
    for cmd in ("make deploy ENV=dev", "make deploy-function FN=", "make smoke ENV=dev"):
        assert cmd in section, cmd
    with open(os.path.join(ROOT, "Makefile")) as f:
        targets = set(re.findall(r"^([\w-]+):", f.read(), re.M))
    for cmd in ran + ["make deploy", "make deploy-function"]:
        assert cmd.split()[1] in targets, f"{cmd}: no such make target"


def test_pipeline_region_is_samconfigs():
    from conftest import deploy_settings

    region = load("deploy.yml")["env"]["AWS_REGION"]
    for env in ("dev", "staging", "prod"):
        assert deploy_settings(env)[1] == region, f"samconfig.toml deploys {env} elsewhere than deploy.yml's {region}"
