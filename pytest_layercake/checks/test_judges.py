"""Third-party judges, offline: checkov's policies over the Dockerfile, manifests and workflow, and the Kubernetes
schemas over the manifests as kustomize renders them."""

import subprocess

from pytest_layercake.tools import tool


def test_checkov_finds_nothing_unexplained(project):
    config = project.part(".checkov.yaml", "checkov's settings, with the reason for each skipped check")
    result = subprocess.run(
        [tool("checkov"), "--config-file", config, "--directory", "."],
        check=False,
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"checkov reports findings: fix each, or skip it in .checkov.yaml with a one-line reason:\n{result.stdout[-4000:]}"
    )


def test_rendered_manifests_match_the_kubernetes_schemas(project, tmp_path):
    folder = project.part("deploy/k8s", "no Kubernetes manifests to check")
    rendered = subprocess.run([tool("kubectl"), "kustomize", folder], check=True, capture_output=True, text=True)
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(rendered.stdout)
    result = subprocess.run(
        [tool("kubernetes-validate"), "--strict", "--quiet", manifest], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, f"`kubectl kustomize deploy/k8s` renders invalid objects:\n{result.stdout}"
