"""One list of runtime rules (CIS Docker Benchmark 1.6, section 5) for a container as Docker runs it (compose or
swarm) and for a Kubernetes pod spec, so that the three are judged alike."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Host paths no container of the app may see; the Docker socket is root on the host.
SENSITIVE_HOST_PATHS = ("/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/run/docker.sock")


@dataclass
class Runtime:
    """The settings a rule reads, from wherever they came."""

    privileged: bool = False
    pid_mode: str = ""
    ipc_mode: str = ""
    uts_mode: str = ""
    network_mode: str = ""
    security_opt: list[str] = field(default_factory=list)
    devices: list = field(default_factory=list)
    host_paths: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    read_only: bool = False
    no_new_privileges: bool = False
    memory_bytes: int = 0
    pids: int = 0
    cpus: float = 0.0


def from_docker(attrs: dict) -> Runtime:
    """Read a container's effective settings from `docker inspect`."""
    host = attrs["HostConfig"]
    mounts = attrs.get("Mounts") or []
    security_opt = host.get("SecurityOpt") or []
    return Runtime(
        privileged=bool(host.get("Privileged")),
        pid_mode=host.get("PidMode") or "",
        ipc_mode=host.get("IpcMode") or "",
        uts_mode=host.get("UTSMode") or "",
        network_mode=host.get("NetworkMode") or "",
        security_opt=security_opt,
        devices=host.get("Devices") or [],
        host_paths=[m["Source"] for m in mounts if m.get("Type") == "bind"],
        cap_add=host.get("CapAdd") or [],
        cap_drop=host.get("CapDrop") or [],
        read_only=bool(host.get("ReadonlyRootfs")),
        no_new_privileges="no-new-privileges:true" in security_opt or "no-new-privileges" in security_opt,
        memory_bytes=host.get("Memory") or 0,
        pids=host.get("PidsLimit") or 0,
        cpus=(host.get("NanoCpus") or 0) / 1e9 or (host.get("CpuQuota") or 0) / (host.get("CpuPeriod") or 100_000),
    )


def from_pod(pod: dict, container: dict) -> Runtime:
    """Read the same settings from a Kubernetes pod spec and one of its containers (host namespaces, seccomp)."""
    context = container.get("securityContext") or {}
    pod_context = pod.get("securityContext") or {}
    seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type", "")
    apparmor = (context.get("appArmorProfile") or pod_context.get("appArmorProfile") or {}).get("type", "")
    capabilities = context.get("capabilities") or {}
    return Runtime(
        privileged=bool(context.get("privileged")),
        pid_mode="host" if pod.get("hostPID") else "",
        ipc_mode="host" if pod.get("hostIPC") else "",
        uts_mode="",
        network_mode="host" if pod.get("hostNetwork") else "",
        security_opt=[f"seccomp={seccomp.lower()}"] + ([f"apparmor={apparmor.lower()}"] if apparmor else []),
        devices=[],
        host_paths=[v["hostPath"]["path"] for v in pod.get("volumes") or [] if "hostPath" in v],
        cap_add=capabilities.get("add") or [],
        cap_drop=capabilities.get("drop") or [],
        read_only=bool(context.get("readOnlyRootFilesystem")),
        no_new_privileges=context.get("allowPrivilegeEscalation") is False,
    )


# CIS number and rule -> (check, what to do when it fails). Resource limits are judged against budgets elsewhere.
RULES: dict[str, tuple[Callable[[Runtime], bool], str]] = {
    "5.2 AppArmor is not unconfined": (
        lambda r: "apparmor=unconfined" not in r.security_opt,
        "drop apparmor:unconfined from security_opt",
    ),
    "5.4 no capability is added": (lambda r: not r.cap_add, "remove cap_add; every capability stays dropped"),
    "5.4 every capability is dropped": (lambda r: r.cap_drop == ["ALL"], "keep cap_drop: [ALL]"),
    "5.5 not privileged": (lambda r: not r.privileged, "remove privileged: true"),
    "5.6 no sensitive host path is mounted": (
        lambda r: not [p for p in r.host_paths if p.rstrip("/") in SENSITIVE_HOST_PATHS or p == "/"],
        "mount no host system folder and never the Docker socket",
    ),
    "5.10 host network is not shared": (lambda r: r.network_mode != "host", "remove network_mode: host"),
    "5.13 root filesystem is read-only": (lambda r: r.read_only, "keep read_only: true"),
    "5.16 host PID namespace is not shared": (lambda r: r.pid_mode != "host", "remove pid: host"),
    "5.17 host IPC namespace is not shared": (lambda r: r.ipc_mode != "host", "remove ipc: host"),
    "5.18 no host device is added": (lambda r: not r.devices, "remove devices:"),
    "5.21 host UTS namespace is not shared": (lambda r: r.uts_mode != "host", "remove uts: host"),
    "5.22 seccomp is not unconfined": (
        lambda r: "seccomp=unconfined" not in r.security_opt and "seccomp:unconfined" not in r.security_opt,
        "drop seccomp:unconfined from security_opt; Docker's default profile stays on",
    ),
    "5.32 the Docker socket is not mounted": (
        lambda r: not [p for p in r.host_paths if p.endswith("docker.sock")],
        "never mount /var/run/docker.sock: it is root on the host",
    ),
}


# Docker gives health check timings in nanoseconds.
NS = 1_000_000_000
# Compose writes them as Go durations ("1m30s", "500ms").
GO_UNITS_S = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def go_duration_s(text: str) -> float:
    """Seconds of a Go duration as `docker compose config` writes it."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"{text!r} is not a duration"
    return sum(float(number) * GO_UNITS_S[unit] for number, unit in parts)


def dead_healthy_s(interval: float, timeout: float, retries: int) -> float:
    """The longest a dead app passes as healthy: each of `retries` failing checks waits its interval and its timeout."""
    return retries * (interval + timeout)


def health_timings(check: dict) -> tuple[float, float, int]:
    """A container's or image's Healthcheck: its interval and timeout in seconds, and its retries, with Docker's
    defaults where it leaves one out."""
    return check.get("Interval", 30 * NS) / NS, check.get("Timeout", 30 * NS) / NS, check.get("Retries", 3)


def broken(runtime: Runtime) -> list[str]:
    """Return each rule the runtime breaks, with its fix."""
    return [f"CIS {name}: {fix}" for name, (check, fix) in RULES.items() if not check(runtime)]


def judge(container_attrs: dict, image_attrs: dict) -> dict[str, bool]:
    """Every rule above, the image's own (CIS 4.1 and 4.6) and whether each resource is limited, for a container
    from `docker inspect`: the same verdicts the checks give, as a table for the benchmark."""
    runtime = from_docker(container_attrs)
    config = image_attrs["Config"]
    health = (config.get("Healthcheck") or {}).get("Test") or ["NONE"]
    verdicts = {
        "4.1 the image's user is not root": (config.get("User") or "root").split(":")[0] not in ("root", "0"),
        "4.6 the image has a HEALTHCHECK": health[0] != "NONE",
    }
    verdicts |= {name: check(runtime) for name, (check, _) in RULES.items()}
    return verdicts | {
        "5.11 memory is limited": runtime.memory_bytes > 0,
        "5.12 CPU is limited": runtime.cpus > 0,
        "5.26 no new privileges": runtime.no_new_privileges,
        "5.29 PIDs are limited": runtime.pids > 0,
    }
