"""Kubernetes manifests, cross-checked against the image they run; a consistency check, not a deployment test."""

import re
import runpy

import pytest
import yaml
from support import APP_PORT, ROOT

from app import app

K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# Kubernetes' M is decimal and Mi binary; Docker's (and so compose's) m is binary.
K8S_UNITS = {"k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
DOCKER_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30}


def manifests() -> dict[str, dict]:
    """Return every manifest in deploy/k8s by kind."""
    docs = [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return {doc["kind"]: doc for doc in docs}


def to_bytes(quantity: str, units: dict[str, int]) -> int:
    """Turn a memory size such as 256Mi (Kubernetes) or 256M (Docker) into bytes."""
    number, unit = re.fullmatch(r"(\d+)([a-zA-Z]*)", quantity).groups()
    return int(number) * units[unit] if unit else int(number)


@pytest.fixture(scope="module")
def k8s():
    return manifests()


@pytest.fixture(scope="module")
def pod(k8s):
    return k8s["Deployment"]["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def web(pod):
    (container,) = pod["containers"]
    return container


@pytest.fixture(scope="module")
def compose_web():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]


def gunicorn_conf(monkeypatch) -> dict:
    monkeypatch.delenv("PORT", raising=False)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_kustomization_applies_every_manifest_with_a_pinned_tag(k8s):
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files, "kustomization.yaml must list every manifest in deploy/k8s"
    (image,) = kustomization["images"]
    assert image["newTag"] not in ("", "latest"), "pin the image tag (a git sha), never latest"


def test_port_matches_the_image(web, monkeypatch):
    (port,) = web["ports"]
    bind_port = int(gunicorn_conf(monkeypatch)["bind"].rsplit(":", 1)[1])
    exposed = int(re.search(r"^EXPOSE (\d+)$", DOCKERFILE, re.MULTILINE)[1])
    assert port["containerPort"] == bind_port == exposed == APP_PORT, (
        f"containerPort {port['containerPort']}, gunicorn binds {bind_port}, the Dockerfile exposes {exposed}"
    )


def test_probes_use_the_health_path_of_the_image(web):
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (.*)$", DOCKERFILE, re.MULTILINE | re.DOTALL)[1]
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    for probe in ("readinessProbe", "livenessProbe"):
        path = web[probe]["httpGet"]["path"]
        assert path in routes and path in healthcheck, (
            f"{probe} asks {path}; the app serves {sorted(routes)} and the HEALTHCHECK asks /healthz"
        )
        assert web[probe]["httpGet"]["port"] == web["ports"][0]["name"], f"{probe} must ask the app's own port"
    assert web["livenessProbe"]["failureThreshold"] * web["livenessProbe"]["periodSeconds"] > (
        web["readinessProbe"]["failureThreshold"] * web["readinessProbe"]["periodSeconds"]
    ), "liveness must be looser than readiness, or a busy pod is restarted before it is taken out of rotation"


def test_security_context_matches_the_image(pod, web):
    uid, gid = re.search(r"^USER (\d+):(\d+)$", DOCKERFILE, re.MULTILINE).groups()
    context, container = pod["securityContext"], web["securityContext"]
    assert context["runAsNonRoot"] is True, "set runAsNonRoot: true"
    assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid)), (
        f"the pod runs as {context['runAsUser']}:{context['runAsGroup']}, the image as USER {uid}:{gid}"
    )
    assert container["readOnlyRootFilesystem"] is True, "the root filesystem must be read-only, as in compose"
    assert container["allowPrivilegeEscalation"] is False, "set allowPrivilegeEscalation: false (no-new-privileges)"
    assert container["capabilities"]["drop"] == ["ALL"], "drop all capabilities, as compose does"


def test_writable_paths_match_compose(pod, web, compose_web):
    compose_tmpfs = {v["target"] for v in compose_web["volumes"] if v["type"] == "tmpfs"}
    mounted = {m["mountPath"] for m in web["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounted == compose_tmpfs, f"k8s mounts {mounted} writable, compose {compose_tmpfs}"
    for mount in web["volumeMounts"]:
        assert "emptyDir" in volumes[mount["name"]], f"{mount['mountPath']} must be an emptyDir, nothing shared"
        assert not mount["mountPath"].startswith("/app"), "/app holds the code and must stay read-only"


def test_grace_period_covers_prestop_and_graceful_timeout(pod, web, compose_web, monkeypatch):
    graceful = gunicorn_conf(monkeypatch)["graceful_timeout"]
    pre_stop = web["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > pre_stop + graceful, (
        f"terminationGracePeriodSeconds {grace} must exceed preStop {pre_stop} s + gunicorn's graceful_timeout "
        f"{graceful} s, or in-flight requests are killed"
    )
    compose_grace = int(compose_web["stop_grace_period"].rstrip("s"))
    assert compose_grace > graceful, f"compose's stop_grace_period {compose_grace} s must exceed {graceful} s"


def test_memory_limit_matches_compose(web, compose_web):
    limit = to_bytes(web["resources"]["limits"]["memory"], K8S_UNITS)
    compose_limit = to_bytes(compose_web["deploy"]["resources"]["limits"]["memory"].lower(), DOCKER_UNITS)
    assert limit == compose_limit, f"k8s limits memory to {limit} bytes, compose to {compose_limit}"
    assert web["resources"]["requests"].get("cpu"), "set a CPU request: the autoscaler measures against it"


def test_service_pdb_and_autoscaler_point_at_the_deployment(k8s, web):
    deployment = k8s["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = k8s["Service"]["spec"]
    assert service["selector"].items() <= labels.items(), "the Service selects no pod of the Deployment"
    assert {p["targetPort"] for p in service["ports"]} <= {p["name"] for p in web["ports"]}
    assert k8s["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = k8s["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["minReplicas"] > k8s["PodDisruptionBudget"]["spec"]["minAvailable"], (
        "with minReplicas equal to the PDB's minAvailable, a node drain could never evict a pod"
    )
    rolling = deployment["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0 and rolling["maxSurge"] >= 1, "start new pods before stopping old ones"
