"""Apply copier's answers to a project just rendered from this template (copier.yml runs it as a task, in the project).

The template's files stay plain, so that this repository runs as it is: with the default answers nothing here changes
them but the README and pyproject.toml, which every project gets as its own. Each edit names the text it replaces and
fails loudly when the template no longer holds it exactly once.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent
QUESTIONS = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
# The answers the template's own files hold as they are (copier.yml's defaults).
DEFAULT_NAME, DEFAULT_PORT = QUESTIONS["project_name"]["default"], QUESTIONS["port"]["default"]
K8S_DEPLOYMENT = "deploy/k8s/deployment.yaml"
# The files the owner replaces (copier.yml's _skip_if_exists): an update runs this task in the project too, where
# they are the owner's and stay as they are.
OWNED = set(QUESTIONS["_skip_if_exists"])


# Those of them that are still the template's, as rendered just now (the task runs in the project's folder).
OWNED_FRESH = {
    path for path in OWNED if Path(path).is_file() and Path(path).read_bytes() == (TEMPLATE / path).read_bytes()
}


def fresh(path: str) -> bool:
    """Whether path is here and the template's to edit, not a file the owner made their own."""
    return Path(path).exists() and (path not in OWNED or path in OWNED_FRESH)


def edit(path: str, old: str, new: str, count: int = 1) -> None:
    if not fresh(path):
        return  # a part this project did not ask for (deploy/k8s), or the owner's own file
    file = Path(path)
    text = file.read_text()
    if text.count(old) != count:
        raise SystemExit(
            f"copier task: {path} holds {old!r} {text.count(old)} times, not {count}: update .copier/answers.py"
        )
    file.write_text(text.replace(old, new))


def renamed(name: str) -> list[tuple[str, str, str]]:
    """(file, text, replacement) for the project's name."""
    return [
        ("docker-compose.yml", "${IMAGE:-layercake:dev}", f"${{IMAGE:-{name}:dev}}"),
        ("docker-compose.yml", "(layercake:<git sha>)", f"({name}:<git sha>)"),
        (".env.example", "(default layercake:dev)", f"(default {name}:dev)"),
        (".env.example", "IMAGE=layercake:dev", f"IMAGE={name}:dev"),
        ("Dockerfile", 'org.opencontainers.image.title="layercake"', f'org.opencontainers.image.title="{name}"'),
        ("Makefile", "$${IMAGE:-layercake:dev}", f"$${{IMAGE:-{name}:dev}}"),
    ]


def moved(port: int) -> list[tuple[str, str, str]]:
    """(file, text, replacement) for the app's port."""
    was = DEFAULT_PORT
    return [
        ("Dockerfile", f"ENV PORT={was}", f"ENV PORT={port}"),
        ("layercake.toml", f"port = {was}", f"port = {port}"),
        ("docker-compose.override.yml", f'"127.0.0.1:${{PORT:-{was}}}:{was}"', f'"127.0.0.1:${{PORT:-{port}}}:{port}"'),
        ("app.py", f"app.run(port={was})", f"app.run(port={port})"),
        ("Makefile", f"http://127.0.0.1:{was}", f"http://127.0.0.1:{port}"),
        (".env.example", f"PORT={was}", f"PORT={port}"),
        (
            ".env.example",
            f"(default {was}); the container always listens on {was}",
            f"(default {port}); the container always listens on {port}",
        ),
        (".github/workflows/ci.yml", f"http://127.0.0.1:{was}/", f"http://127.0.0.1:{port}/"),
        (K8S_DEPLOYMENT, f"containerPort: {was}", f"containerPort: {port}"),
    ]


def drop_page() -> None:
    if not fresh("layercake.toml"):
        return
    text = Path("layercake.toml").read_text()
    page = re.search(r"\n# The page a browser opens[^\n]*\n\[page\]\n(?:[a-z]+ = [^\n]*\n)+", text)
    if not page:
        raise SystemExit("copier task: layercake.toml has no [page] table to drop: update .copier/answers.py")
    Path("layercake.toml").write_text(text.replace(page[0], ""))


def add_writable(folders: list[str]) -> None:
    """Each folder made in the image for the app's user, and a volume on it in compose (docs/template.md)."""
    edit("layercake.toml", 'writable = ["/tmp"]', f"writable = {json.dumps(['/tmp', *folders])}")
    made = "".join(f"RUN mkdir -p {folder} && chown 10001:0 {folder} && chmod g=u {folder}\n\n" for folder in folders)
    edit("Dockerfile", "\nCOPY requirements.txt .\n", f"\n{made}COPY requirements.txt .\n")
    names = {folder: folder.strip("/").replace("/", "-") for folder in folders}
    mounts = "".join(f"      - type: volume\n        source: {names[f]}\n        target: {f}\n" for f in folders)
    edit("docker-compose.yml", "        target: /tmp\n", f"        target: /tmp\n{mounts}")
    with Path("docker-compose.yml").open("a") as compose:
        compose.write("\nvolumes:\n" + "".join(f"  {name}:\n" for name in names.values()))
    # Kubernetes names a volume with lowercase letters, digits and -.
    pod_names = {folder: re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63] for folder, name in names.items()}
    pod_mounts = "".join(f"            - name: {pod_names[f]}\n              mountPath: {f}\n" for f in folders)
    pod_volumes = "".join(f"        - name: {pod_names[f]}\n          emptyDir: {{}}\n" for f in folders)
    edit(K8S_DEPLOYMENT, "              mountPath: /tmp\n", f"              mountPath: /tmp\n{pod_mounts}")
    edit(K8S_DEPLOYMENT, "            sizeLimit: 64Mi\n", f"            sizeLimit: 64Mi\n{pod_volumes}")


# The files whose lines about this repository's own parts (a paragraph that opens "# This repository's own", or,
# indented in YAML, such a comment and the one line under it) the project does not get with them.
NAMING_OWN_PARTS = (".dockerignore", ".checkov.yaml", ".github/workflows/ci.yml")
OWN_PARAGRAPH = re.compile(r"\n# This repository's own .*?\n(?=\n|\Z)", re.DOTALL)
OWN_LINE = re.compile(r"\n( +)# This repository's own: [^\n]*\n\1[^\n]*(?=\n)")


def drop_own_parts() -> None:
    for path in NAMING_OWN_PARTS:
        if not Path(path).is_file():
            continue  # the user CI, which an owner may delete
        text = Path(path).read_text()
        # An update finds neither where the project's copy already lacks them.
        Path(path).write_text(OWN_LINE.sub("", OWN_PARAGRAPH.sub("", text, count=1)))


def own_files(name: str, port: int) -> None:
    """The README and pyproject.toml of the project, not of this repository."""
    if fresh("README.md"):
        Path("README.md").write_text((HERE / "README.md").read_text().format(project_name=name, port=port))
    pyproject = Path("pyproject.toml").read_text()
    tools = pyproject[pyproject.index("[tool.pytest.ini_options]") :]
    # The `template` marker belongs to this repository's own tests, which a project does not get.
    tools = re.sub(r"# The harness registers its own markers.*?\nmarkers = \[\n.*?\n\]\n", "", tools, flags=re.DOTALL)
    Path("pyproject.toml").write_text(
        "# Tool configuration only: the app is not packaged, and the harness is the copy in pytest_layercake/, which\n"
        "# `copier update` keeps current with the template.\n\n" + tools
    )


def previous_answers() -> dict:
    """The answers the project had before this update (its last commit's), or none when it is being made."""
    shown = subprocess.run(["git", "show", "HEAD:./.copier-answers.yml"], check=False, capture_output=True, text=True)
    return (yaml.safe_load(shown.stdout) or {}) if shown.returncode == 0 else {}


def reanswer_owned(previous: dict, port: int, folders: list[str]) -> None:
    """Carry a changed answer into the files the owner made their own, which copier leaves alone: the contract's port
    and writable folders, and app.py's local port."""
    contract = Path("layercake.toml")
    if not previous or not contract.exists() or "layercake.toml" in OWNED_FRESH:
        return  # a new project, or files the template's edits above reached already
    text = contract.read_text()
    was = int(previous.get("port", DEFAULT_PORT))
    if was != port:
        line = f"\nport = {was}\n"
        if text.count(line) != 1:
            raise SystemExit(
                f"copier task: layercake.toml holds {line.strip()!r} {text.count(line)} times, not once; set the "
                f"contract's port to {port} by hand, commit, and run the update again"
            )
        text = text.replace(line, f"\nport = {port}\n")
        if Path("app.py").exists() and "app.py" not in OWNED_FRESH:
            app = Path("app.py").read_text()
            if app.count(f"app.run(port={was})") == 1:
                Path("app.py").write_text(app.replace(f"app.run(port={was})", f"app.run(port={port})"))
    before = [folder for folder in previous.get("writable", []) if folder != "/tmp"]
    if before != folders:
        listed = re.search(r"^writable = (\[.*\])$", text, re.MULTILINE)
        if not listed:
            raise SystemExit(
                "copier task: layercake.toml has no one-line `writable = [...]`; list the writable folders "
                f"{['/tmp', *folders]} there by hand, commit, and run the update again"
            )
        kept = [folder for folder in json.loads(listed[1]) if folder not in before or folder in folders]
        text = text.replace(listed[0], f"writable = {json.dumps(kept + [f for f in folders if f not in kept])}")
    contract.write_text(text)


def main() -> None:
    answers = json.loads(sys.argv[1])
    name, port = answers["project_name"], int(answers["port"])
    edits = (renamed(name) if name != DEFAULT_NAME else []) + (moved(port) if port != DEFAULT_PORT else [])
    for file, old, new in edits:
        edit(file, old, new)
    if name != DEFAULT_NAME:
        for manifest in sorted(Path("deploy/k8s").glob("*.yaml")):
            manifest.write_text(re.sub(r"\blayercake\b", name, manifest.read_text()))
    if not answers["serves_page"]:
        drop_page()
    folders = [folder for folder in answers["writable"] if folder != "/tmp"]
    if folders:
        add_writable(folders)
    reanswer_owned(previous_answers(), port, folders)
    drop_own_parts()
    own_files(name, port)


def updating() -> bool:
    """Whether this runs in a project that copier updates: a git checkout whose last commit holds copier's answers."""
    last = subprocess.run(["git", "cat-file", "-e", "HEAD:./.copier-answers.yml"], check=False, capture_output=True)
    return last.returncode == 0


def restore() -> None:
    """Put every file back as the project's last commit has it: copier updates only a clean checkout, so the project is
    as it was before the update, copier's own writes undone too."""
    subprocess.run(["git", "checkout", "--quiet", "HEAD", "--", "."], check=True)
    subprocess.run(["git", "clean", "-fdq", "--", "."], check=True)


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        if updating():
            restore()
            print("copier task: the update stopped; every file is back as the last commit has it", file=sys.stderr)
        raise
