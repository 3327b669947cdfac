"""A rule of the runtime, the image or compose must not live only in a part that an owner deletes or replaces: for each
such part, the checks that go with it are listed, and none may assert on the template's files or containers alone."""

import ast
from collections import defaultdict
from pathlib import Path

from pytest_layercake.containers import DEV_FILES
from tests.parts import GUIDE_APP, OWNER_PARTS, PROJECT_PARTS

ROOT = Path(__file__).resolve().parent.parent
PARTS = PROJECT_PARTS + OWNER_PARTS + GUIDE_APP
# What the template runs, whose rules belong in the harness: its files, its modules, and the plugin's fixtures of a
# built image, a container or a compose stack.
TEMPLATE_FILES = ("Dockerfile", ".dockerignore", *DEV_FILES, "gunicorn.conf.py", "requirements")
TEMPLATE_MODULES = ("baseline", "gunicorn")
TEMPLATE_FIXTURES = {"image", "image_attrs", "base_image", "container", "app_container", "stack", "web"}
TEMPLATE_FIXTURES |= {"compose_stack", "build_copy", "project_copy"}
# Calls whose first argument names a file or a folder of the project.
NAMING_CALLS = {"part", "template_file"}


def part_of(name: str) -> str | None:
    """The part a path or a module (docs.build) names, if it names one."""
    path = name.replace(".", "/") if "/" not in name and not name.startswith(".") and "." in name else name
    return next((part for part in PARTS if path == part or path.startswith(f"{part}/") or name == part), None)


def is_template(name: str) -> bool:
    return name.startswith(TEMPLATE_FILES) or name.split(".")[0] in TEMPLATE_MODULES


def mentions(node: ast.AST) -> set[str]:
    """The parts (by name) and "template" that an expression names directly: `project.part("deploy/k8s")`,
    `ROOT / "gunicorn.conf.py"`, `project.dockerfile`."""
    found = set()
    for sub in ast.walk(node):
        names = []
        if isinstance(sub, ast.Call) and sub.args and isinstance(sub.args[0], ast.Constant):
            callee = sub.func.attr if isinstance(sub.func, ast.Attribute) else getattr(sub.func, "id", "")
            if callee in NAMING_CALLS:
                names.append(str(sub.args[0].value))
        # A file of this project: ROOT / "name" or project.root / "name" (another folder / "name" is not the template).
        of_root = isinstance(sub, ast.BinOp) and (
            ast.unparse(sub.left) == "ROOT" or ast.unparse(sub.left).endswith(".root")
        )
        if of_root and isinstance(sub.op, ast.Div) and isinstance(sub.right, ast.Constant):
            names.append(str(sub.right.value))
        if isinstance(sub, ast.Attribute) and sub.attr == "dockerfile":
            found.add("template")
        for name in names:
            found |= {part_of(name)} if part_of(name) else {"template"} if is_template(name) else set()
    return found


def used_names(node: ast.AST) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)}


class Module:
    """A test module's top-level names, each tagged with the parts and "template" it reads, through fixtures,
    helpers, constants and imports."""

    def __init__(self, source: str, path: str):
        self.path = path
        self.tree = ast.parse(source)
        self.defs: dict[str, ast.AST] = {}
        self.tags: dict[str, set[str]] = defaultdict(set)
        # What the module's top names outright, such as `Project(ROOT).part("docs", ...)`: every test of it goes with it.
        self.module_tags = set().union(*(mentions(n) for n in self.tree.body if isinstance(n, ast.Expr)))
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef):
                self.defs[node.name] = node
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in used_names(target):
                        self.defs[name] = node.value
            elif isinstance(node, ast.ImportFrom | ast.Import):
                module = getattr(node, "module", None) or node.names[0].name
                for alias in node.names:
                    name = alias.asname or alias.name
                    tag = part_of(f"{module}.py") or part_of(module)
                    self.tags[name] |= {tag} if tag else {"template"} if is_template(module) else set()
        for name, node in self.defs.items():
            self.tags[name] |= mentions(node)
        for _ in range(len(self.defs) + 1):  # through helpers and fixtures, until nothing changes
            for name, node in self.defs.items():
                for used in used_names(node) - {name}:
                    self.tags[name] |= self.resolve(used)

    def resolve(self, name: str) -> set[str]:
        if name in self.defs or name in self.tags:
            return self.tags[name]
        return {"template"} if name in TEMPLATE_FIXTURES else set()

    def tests(self) -> list[ast.FunctionDef]:
        return [node for node in self.tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]

    def test_tags(self, test: ast.FunctionDef) -> set[str]:
        own = {self.path} & set(PARTS) or {part_of(self.path)} - {None}
        return (
            own | self.module_tags | self.tags[test.name] | set().union(*(self.resolve(a.arg) for a in test.args.args))
        )

    def template_only_asserts(self, test: ast.FunctionDef) -> list[str]:
        """The asserts of a test that read the template and nothing of a part: a rule that belongs in the harness."""
        local = {arg.arg: self.resolve(arg.arg) for arg in test.args.args}
        assigns = [n for n in ast.walk(test) if isinstance(n, ast.Assign | ast.For | ast.withitem | ast.AugAssign)]
        for _ in range(len(assigns) + 1):
            for node in assigns:
                value = node.iter if isinstance(node, ast.For) else getattr(node, "value", None)
                target = getattr(node, "target", None) or getattr(node, "optional_vars", None)
                targets = getattr(node, "targets", [target])
                if isinstance(node, ast.withitem):
                    value = node.context_expr
                sources = set().union(*(local.get(n, self.resolve(n)) for n in used_names(value))) | mentions(value)
                for name in set().union(*(used_names(t) for t in targets if t is not None)):
                    local[name] = local.get(name, set()) | sources
        found = []
        for node in ast.walk(test):
            if isinstance(node, ast.Assert):
                sources = set().union(*(local.get(n, self.resolve(n)) for n in used_names(node.test)))
                sources |= mentions(node.test)
                if "template" in sources and not sources & set(PARTS):
                    found.append(f"line {node.lineno}: assert {ast.unparse(node.test)}")
        return found


def checks_by_part() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Return part -> the checks that go with it, and check -> its asserts that read only the template."""
    by_part, misplaced = defaultdict(list), {}
    for path in sorted([*ROOT.glob("pytest_layercake/checks/test_*.py"), *ROOT.glob("tests/test_*.py")]):
        relative = str(path.relative_to(ROOT))
        module = Module(path.read_text(), relative)
        for test in module.tests():
            parts = module.test_tags(test) & set(PARTS)
            for part in parts:
                by_part[part].append(f"{relative}::{test.name}")
            if parts and (wrong := module.template_only_asserts(test)):
                misplaced[f"{relative}::{test.name}"] = wrong
    return dict(by_part), misplaced


def test_no_rule_of_the_template_lives_only_in_a_deletable_part(report):
    by_part, misplaced = checks_by_part()
    report["checks_by_deletable_part"] = {part: len(checks) for part, checks in sorted(by_part.items())}
    assert not misplaced, (
        "these checks go with a part an owner deletes or replaces, yet assert on the template alone, so a copy "
        f"without that part loses the rule: move each assert into the harness, next to its concern: {misplaced}"
    )


# The negative control: the rule that used to hide in the Kubernetes checks, and a cross-check that may stay there.
SAMPLE = """
@pytest.fixture
def pod(project):
    return yaml.safe_load((project.part("deploy/k8s", "no manifests") / "deployment.yaml").read_text())

@pytest.fixture
def compose_web(project):
    return yaml.safe_load((project.root / "docker-compose.yml").read_text())["services"]["web"]

def test_grace(pod, compose_web):
    grace = pod["terminationGracePeriodSeconds"]
    compose_grace = int(compose_web["stop_grace_period"].rstrip("s"))
    assert grace > compose_grace
    assert compose_grace > 8
"""


def test_rule_hidden_in_a_deletable_part_is_found():
    module = Module(SAMPLE, "pytest_layercake/checks/test_sample.py")
    (test,) = module.tests()
    assert module.test_tags(test) & set(PARTS) == {"deploy"}
    found = module.template_only_asserts(test)
    assert [line.split(": ", 1)[1] for line in found] == ["assert compose_grace > 8"], found


def test_checks_of_the_replaced_app_file_are_listed():
    by_part, _ = checks_by_part()
    assert any(name.startswith("tests/test_app.py::") for name in by_part.get("tests/test_app.py", [])), by_part.keys()
    assert any("test_k8s.py::" in name for name in by_part.get("deploy", [])), "the k8s checks go with deploy/"
