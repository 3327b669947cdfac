"""Kubernetes manifests, cross-checked against the image they run; a consistency check, not a deployment test."""

import re
import runpy
from pathlib import Path

import pytest
import requests
import yaml

from pytest_layercake import runtime
from pytest_layercake.budgets import HEALTH_DEAD_HEALTHY_MAX_S, HEALTH_START_PERIOD_MAX_S
from pytest_layercake.containers import COMPOSE_FILE, random_openshift_uid

# Kubernetes' M is decimal and Mi binary; Docker's (and so compose's) m is binary.
K8S_UNITS = {"k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
DOCKER_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30}


def to_bytes(quantity: str, units: dict[str, int]) -> int:
    """Turn a memory size such as 256Mi (Kubernetes) or 256M (Docker) into bytes."""
    number, unit = re.fullmatch(r"(\d+)([a-zA-Z]*)", quantity).groups()
    return int(number) * units[unit] if unit else int(number)


@pytest.fixture(scope="module")
def k8s_dir(project) -> Path:
    return project.part("deploy/k8s", "no Kubernetes manifests to check")


@pytest.fixture(scope="module")
def k8s(k8s_dir) -> dict[str, dict]:
    """Every manifest in deploy/k8s by kind."""
    docs = [doc for path in sorted(k8s_dir.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return {doc["kind"]: doc for doc in docs}


@pytest.fixture(scope="module")
def pod(k8s):
    return k8s["Deployment"]["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def web(pod):
    (container,) = pod["containers"]
    return container


@pytest.fixture(scope="module")
def compose_web(project):
    return yaml.safe_load((project.root / COMPOSE_FILE).read_text())["services"]["web"]


@pytest.fixture
def gunicorn_conf(monkeypatch, project) -> dict:
    """gunicorn.conf.py as the image runs it: with the Dockerfile's ENV PORT."""
    monkeypatch.delenv("PORT", raising=False)
    env_port = re.search(r"^ENV PORT=(\d+)$", project.dockerfile, re.MULTILINE)
    if env_port:
        monkeypatch.setenv("PORT", env_port[1])
    return runpy.run_path(str(project.root / "gunicorn.conf.py"))


def test_kustomization_applies_every_manifest_with_a_pinned_tag(k8s, k8s_dir):
    kustomization = yaml.safe_load((k8s_dir / "kustomization.yaml").read_text())
    files = {path.name for path in k8s_dir.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files, "kustomization.yaml must list every manifest in deploy/k8s"
    (image,) = kustomization["images"]
    assert image["newTag"] not in ("", "latest"), "pin the image tag (a git sha), never latest"


def test_port_matches_the_image(web, gunicorn_conf, contract):
    (port,) = web["ports"]
    bind_port = int(gunicorn_conf["bind"].rsplit(":", 1)[1])
    assert port["containerPort"] == bind_port == contract.port, (
        f"containerPort {port['containerPort']}, gunicorn binds {bind_port}, layercake.toml says {contract.port}"
    )


def test_probes_use_the_health_path_of_the_image(web, contract):
    for probe in ("readinessProbe", "livenessProbe"):
        path = web[probe]["httpGet"]["path"]
        assert path == contract.health, f"{probe} asks {path}; the health path in layercake.toml is {contract.health}"
        assert web[probe]["httpGet"]["port"] == web["ports"][0]["name"], f"{probe} must ask the app's own port"
    assert web["livenessProbe"]["failureThreshold"] * web["livenessProbe"]["periodSeconds"] > (
        web["readinessProbe"]["failureThreshold"] * web["readinessProbe"]["periodSeconds"]
    ), "liveness must be looser than readiness, or a busy pod is restarted before it is taken out of rotation"


def test_dead_pod_is_noticed_in_time(web):
    """The liveness probe's timings stay within the same budget as the image's and compose's health check."""
    probe = web["livenessProbe"]
    seconds = runtime.dead_healthy_s(
        probe.get("periodSeconds", 10), probe.get("timeoutSeconds", 1), probe.get("failureThreshold", 3)
    )
    assert seconds <= HEALTH_DEAD_HEALTHY_MAX_S, (
        f"the liveness probe lets a dead pod live {seconds:g} s, over the budget of {HEALTH_DEAD_HEALTHY_MAX_S} s"
    )
    delay = probe.get("initialDelaySeconds", 0)
    assert delay <= HEALTH_START_PERIOD_MAX_S, f"initialDelaySeconds {delay} is over {HEALTH_START_PERIOD_MAX_S} s"


def test_security_context_matches_the_image(pod, web, project):
    uid, gid = re.search(r"^USER (\d+):(\d+)$", project.dockerfile, re.MULTILINE).groups()
    context, container = pod["securityContext"], web["securityContext"]
    assert context["runAsNonRoot"] is True, "set runAsNonRoot: true"
    assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid)), (
        f"the pod runs as {context['runAsUser']}:{context['runAsGroup']}, the image as USER {uid}:{gid}"
    )
    assert container["readOnlyRootFilesystem"] is True, "the root filesystem must be read-only, as in compose"
    assert container["allowPrivilegeEscalation"] is False, "set allowPrivilegeEscalation: false (no-new-privileges)"
    assert container["capabilities"]["drop"] == ["ALL"], "drop all capabilities, as compose does"


def test_writable_paths_match_compose(pod, web, compose_web, contract):
    compose_writable = {v["target"] for v in compose_web["volumes"] if v["type"] in ("tmpfs", "volume")}
    mounted = {m["mountPath"] for m in web["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounted == compose_writable, f"k8s mounts {sorted(mounted)} writable, compose {sorted(compose_writable)}"
    for mount in web["volumeMounts"]:
        assert "emptyDir" in volumes[mount["name"]], f"{mount['mountPath']} must be an emptyDir, nothing shared"
        path = mount["mountPath"]
        assert not (path == "/app" or path.startswith("/app/")) or path in contract.writable, (
            f"{path} is mounted writable under /app, which holds the code and stays read-only: declare the folder "
            "in layercake.toml's writable, or mount it elsewhere"
        )


def test_memory_folders_match_compose_in_size(pod, web, compose_web):
    """A folder in RAM (compose's tmpfs, the pod's emptyDir in Memory) holds as much in both: a full one stops there."""
    tmpfs = {v["target"]: v.get("tmpfs", {}).get("size") for v in compose_web["volumes"] if v["type"] == "tmpfs"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in web["volumeMounts"]:
        empty_dir = volumes[mount["name"]].get("emptyDir") or {}
        if empty_dir.get("medium") != "Memory":
            continue
        limit = empty_dir.get("sizeLimit")
        assert limit, f"{mount['mountPath']}'s emptyDir in memory has no sizeLimit: it could take the pod's memory"
        size = tmpfs.get(mount["mountPath"])
        assert size is not None and to_bytes(str(size).lower(), DOCKER_UNITS) == to_bytes(limit, K8S_UNITS), (
            f"{mount['mountPath']} holds {limit} in the pod and {size} in compose's tmpfs: make them agree"
        )


def test_grace_period_covers_prestop_and_graceful_timeout(pod, web, gunicorn_conf):
    graceful = gunicorn_conf["graceful_timeout"]
    pre_stop = web["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    assert grace > pre_stop + graceful, (
        f"terminationGracePeriodSeconds {grace} must exceed preStop {pre_stop} s + gunicorn's graceful_timeout "
        f"{graceful} s, or in-flight requests are killed"
    )


def test_memory_limit_matches_compose(web, compose_web):
    limit = to_bytes(web["resources"]["limits"]["memory"], K8S_UNITS)
    compose_limit = to_bytes(compose_web["deploy"]["resources"]["limits"]["memory"].lower(), DOCKER_UNITS)
    assert limit == compose_limit, f"k8s limits memory to {limit} bytes, compose to {compose_limit}"
    cpu = web["resources"]["limits"].get("cpu", "0")
    cpus = int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    compose_cpus = float(compose_web["deploy"]["resources"]["limits"].get("cpus", 0))
    assert cpus == compose_cpus, (
        f"k8s limits the CPU to {cpus}, compose to {compose_cpus}: gunicorn.conf.py sizes its workers to one"
    )
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


def test_pod_keeps_the_runtime_rules(pod, web):
    broken = runtime.broken(runtime.from_pod(pod, web))
    assert not broken, f"the pod spec breaks {broken}"
    assert pod.get("automountServiceAccountToken") is False, (
        "set automountServiceAccountToken: false: the app never talks to the Kubernetes API, so it needs no token"
    )
    profile = (web.get("securityContext") or {}).get("seccompProfile") or pod["securityContext"].get("seccompProfile")
    assert profile == {"type": "RuntimeDefault"}, f"seccompProfile is {profile}: set type RuntimeDefault"


def test_service_stays_inside_the_cluster(k8s):
    kind = k8s["Service"]["spec"].get("type", "ClusterIP")
    assert kind == "ClusterIP", f"the Service is {kind}: keep ClusterIP and let an Ingress or a proxy be the way in"


@pytest.mark.docker
def test_pod_answers_as_a_random_uid_in_group_0(pod, web, app_container, contract):
    """OpenShift's restricted profile assigns its own UID, in group 0: the pod's settings, with such a user, in Docker."""
    uid = random_openshift_uid()
    context = web["securityContext"]
    fresh = app_container().with_kwargs(
        user=f"{uid}:0",
        read_only=context.get("readOnlyRootFilesystem", False),
        cap_drop=context.get("capabilities", {}).get("drop", []),
        security_opt=["no-new-privileges:true"] if context.get("allowPrivilegeEscalation") is False else [],
    )
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for mount in web["volumeMounts"]:
        if "emptyDir" in volumes[mount["name"]]:
            fresh.with_tmpfs_mount(mount["mountPath"])
    with fresh:
        for kind in ("readinessProbe", "livenessProbe"):
            path = web[kind]["httpGet"]["path"]
            status = requests.get(fresh.url(path), timeout=5).status_code
            assert status == 200, (
                f"as UID {uid} in group 0 with the pod's securityContext, the {kind}'s {path} answered {status}: "
                "keep the app's files readable by any user (OpenShift's restricted profile)"
            )
        for probe in contract.probes:
            response = requests.get(fresh.url(probe.path), timeout=5)
            assert probe.answered_by(response.status_code, response.text), f"as UID {uid}, {probe.path} failed"
