"""What a template user gets besides the app: CI workflow, Dependabot, pre-commit, .env.example, and docs that stay true."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_layercake.containers import COMPOSE_FILE, COMPOSE_FILES, DEV_FILES
from pytest_layercake.project import Project
from pytest_layercake.tools import tool

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def read_or_skip(path: Path) -> str:
    """Return a file of the project's own (docs, CI); skip when a template user has deleted it."""
    return Project(ROOT).part(str(path.relative_to(ROOT)), "a template user deleted it").read_text()


@pytest.fixture
def workflow() -> str:
    return read_or_skip(WORKFLOW)


@pytest.mark.parametrize(
    "schema, path",
    [
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
        ("vendor.dependabot", ".github/dependabot.yml"),
        *(("vendor.compose-spec", name) for name in DEV_FILES),
    ],
)
def test_config_file_matches_its_schema(schema, path):
    """Validate with check-jsonschema's vendored SchemaStore schemas; actionlint's PyPI wrapper needs GitHub."""
    read_or_skip(ROOT / path)
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, path],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{path} does not match {schema}:\n{result.stdout}{result.stderr}"


def test_workflow_is_locked_down(workflow):
    text, workflow = workflow, yaml.safe_load(workflow)
    assert workflow.get("permissions") == {"contents": "read"}, "set `permissions: contents: read` at the top"
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", f"job {name} should run where Docker is installed"
        assert job.get("timeout-minutes"), f"job {name} has no timeout-minutes"
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses, "the workflow uses no actions"
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{action} is not pinned by a full commit SHA"
        assert re.fullmatch(r" # v\d+(\.\d+)*", comment), f"{action} lacks a `# vX.Y.Z` comment"


def test_workflow_runs_make_test(workflow):
    """The user CI runs what the README's test command runs; it reads no README, which the owner replaces."""
    steps = [step.get("run", "") for step in yaml.safe_load(workflow)["jobs"]["test"]["steps"]]
    assert "make test" in steps, "the test job should run `make test`, the README's test command"


def test_dependabot_covers_pip_docker_and_actions():
    updates = yaml.safe_load(read_or_skip(ROOT / ".github" / "dependabot.yml"))["updates"]
    assert {update["package-ecosystem"] for update in updates} == {"pip", "docker", "github-actions"}


def test_pre_commit_runs_ruff_and_hadolint():
    config = yaml.safe_load(read_or_skip(ROOT / ".pre-commit-config.yaml"))
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "hadolint"} <= hooks, f"pre-commit hooks are {sorted(hooks)}"


def settings_read() -> set[str]:
    """Return every variable that compose, gunicorn.conf.py and the Dockerfile read."""
    compose = "".join((ROOT / name).read_text() for name in COMPOSE_FILES)
    web = yaml.safe_load((ROOT / COMPOSE_FILE).read_text())["services"]["web"]
    names = set(re.findall(r"\$\{(\w+)", compose)) | set(web["environment"]) | set(web["build"]["args"])
    for call in ast.walk(ast.parse((ROOT / "gunicorn.conf.py").read_text())):
        if isinstance(call, ast.Call) and ast.unparse(call.func) == "os.environ.get":
            names.add(call.args[0].value)
    # SOURCE_DATE_EPOCH is BuildKit's own build arg, set only for a reproducible build (make reproduce).
    arguments = set(re.findall(r"^ARG (\w+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)) - {"SOURCE_DATE_EPOCH"}
    return names | arguments


def test_env_example_lists_every_setting():
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {line.split("=")[0]: number for number, line in enumerate(lines) if re.match(r"^[A-Z_]+=", line)}
    missing = settings_read() - set(documented)
    assert not missing, f".env.example lacks {sorted(missing)}"
    for name, number in documented.items():
        assert lines[number - 1].startswith("#"), f".env.example: {name} needs a one-line comment above it"


def test_env_file_is_ignored_by_git_and_docker():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines(), ".env must be git-ignored"
    dockerignore = Project(ROOT).template_file(".dockerignore", "it keeps .env and the rest out of the image")
    assert "**/.env" in dockerignore.read_text().splitlines(), ".env must be docker-ignored"


# Lint one workflow with actionlint's WebAssembly build (npm's `actionlint`), which needs no download at run time.
ACTIONLINT = """
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  const path = process.argv[1];
  console.log(JSON.stringify(lint(fs.readFileSync(path, "utf8"), path)));
});
"""


def test_workflows_pass_actionlint():
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    if not workflows:
        pytest.skip(".github/workflows is not here")
    modules = Path(sys.executable).parent.parent / "npm" / "node_modules"
    node = shutil.which("node")
    if not node or not (modules / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: install Node.js with npm, then `rm .venv/.installed && make venv`")
    for workflow in workflows:
        result = subprocess.run(
            [node, "-e", ACTIONLINT, str(workflow)],
            check=True,
            capture_output=True,
            text=True,
            env={"NODE_PATH": str(modules), "PATH": os.environ["PATH"]},
        )
        problems = [f"{p['line']}:{p['column']} {p['message']}" for p in json.loads(result.stdout)]
        assert not problems, f"actionlint finds problems in {workflow.name}: {problems}"
