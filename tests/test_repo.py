"""What a template user gets besides the app: CI workflow, Dependabot, pre-commit, .env.example, and docs that stay true."""

import ast
import re
import subprocess

import pytest
import yaml
from support import CHECK_JSONSCHEMA, ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
README = (ROOT / "README.md").read_text()
README_RU = (ROOT / "README.ru.md").read_text()


BASH_BLOCK = re.compile(r"```bash\n(.+?)\n```", re.DOTALL)
LINE_REFERENCE = re.compile(r"`([\w./-]+):(\d+)` `([^`]+)`")
TEST_REFERENCE = re.compile(r"`(test_\w+\.py)::(test_\w+)`")


def readme_test_command() -> str:
    """Return the README's test command: the second command on its first screen."""
    return BASH_BLOCK.findall(README)[1]


@pytest.mark.parametrize(
    "schema, path",
    [
        ("vendor.github-workflows", ".github/workflows/ci.yml"),
        ("vendor.dependabot", ".github/dependabot.yml"),
        ("vendor.compose-spec", "docker-compose.yml"),
        ("vendor.compose-spec", "docker-compose.override.yml"),
        ("vendor.compose-spec", "compose.dev.yaml"),
    ],
)
def test_config_file_matches_its_schema(schema, path):
    """Validate with check-jsonschema's vendored SchemaStore schemas; actionlint's PyPI wrapper needs GitHub."""
    result = subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", schema, path], check=False, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"{path} does not match {schema}:\n{result.stdout}{result.stderr}"


def test_workflow_is_locked_down():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow.get("permissions") == {"contents": "read"}, "set `permissions: contents: read` at the top"
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", f"job {name} should run where Docker is installed"
        assert job.get("timeout-minutes"), f"job {name} has no timeout-minutes"
    uses = re.findall(r"uses: (\S+)(.*)", WORKFLOW.read_text())
    assert uses, "the workflow uses no actions"
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{action} is not pinned by a full commit SHA"
        assert re.fullmatch(r" # v\d+(\.\d+)*", comment), f"{action} lacks a `# vX.Y.Z` comment"


def test_workflow_runs_the_readme_test_command():
    steps = [step.get("run", "") for step in yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]]
    assert readme_test_command() in steps, f"the test job should run the README's `{readme_test_command()}`"
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith(readme_test_command())


def test_dependabot_covers_pip_docker_and_actions():
    updates = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())["updates"]
    assert {update["package-ecosystem"] for update in updates} == {"pip", "docker", "github-actions"}


def test_pre_commit_runs_ruff_and_hadolint():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "hadolint"} <= hooks, f"pre-commit hooks are {sorted(hooks)}"


def settings_read() -> set[str]:
    """Return every variable that compose, gunicorn.conf.py and the Dockerfile read."""
    compose = (ROOT / "docker-compose.yml").read_text() + (ROOT / "docker-compose.override.yml").read_text()
    web = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]
    names = set(re.findall(r"\$\{(\w+)", compose)) | set(web["environment"]) | set(web["build"]["args"])
    for call in ast.walk(ast.parse((ROOT / "gunicorn.conf.py").read_text())):
        if isinstance(call, ast.Call) and ast.unparse(call.func) == "os.environ.get":
            names.add(call.args[0].value)
    return names | set(re.findall(r"^ARG (\w+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE))


def test_env_example_lists_every_setting():
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {line.split("=")[0]: number for number, line in enumerate(lines) if re.match(r"^[A-Z_]+=", line)}
    missing = settings_read() - set(documented)
    assert not missing, f".env.example lacks {sorted(missing)}"
    for name, number in documented.items():
        assert lines[number - 1].startswith("#"), f".env.example: {name} needs a one-line comment above it"


def test_env_file_is_ignored_by_git_and_docker():
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines(), ".env must be git-ignored"
    assert "**/.env" in (ROOT / ".dockerignore").read_text().splitlines(), ".env must be docker-ignored"


def test_readme_lesson_table_points_at_real_lines():
    references = LINE_REFERENCE.findall(README)
    assert len(references) >= 10, "the lessons table lost its file:line references"
    for path, number, text in references:
        line = (ROOT / path).read_text().splitlines()[int(number) - 1]
        assert text in line, f"README says {path}:{number} has `{text}`, but it has `{line.strip()}`"


def test_readme_names_only_real_tests():
    for module, name in set(TEST_REFERENCE.findall(README)):
        source = (ROOT / "tests" / module).read_text()
        assert f"def {name}(" in source, f"README names {module}::{name}, which does not exist"


def test_russian_readme_keeps_the_same_commands_and_references():
    for pattern in (BASH_BLOCK, LINE_REFERENCE, TEST_REFERENCE):
        english, russian = pattern.findall(README), pattern.findall(README_RU)
        assert english == russian, f"README.ru.md has drifted from README.md: {set(english) ^ set(russian)}"
