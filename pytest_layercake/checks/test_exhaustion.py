"""Exhaustion: a full writable folder and a process that outgrows the memory limit leave the app serving, on the
hardened compose stack whose limits they meet."""

import datetime
import errno
import json
import re
import signal
import time

import pytest
import requests

from pytest_layercake.budgets import (
    FAULT_ANSWER_MAX_S,
    FULL_FOLDER_TEST_BYTES,
    MEMORY_HOG_MARGIN_BYTES,
    RESTART_HEALTHY_MAX_S,
    TMPFS_SHARE_OF_MEMORY_MAX,
    WORKER_RECOVERY_MAX_S,
)
from pytest_layercake.containers import (
    COMPOSE_FILES,
    ComposeStack,
    gunicorn_settings,
    healthy_within,
    signal_process,
    workers,
)
from pytest_layercake.runtime import dead_healthy_s, health_timings

pytestmark = pytest.mark.docker

# Writes 1 MiB blocks to a file in the folder given until the filesystem refuses; prints the bytes written and errno.
FILL = """
import json, os, sys
written, block = 0, b"\\1" * 2**20
try:
    with open(os.path.join(sys.argv[1], ".layercake-fill"), "wb", buffering=0) as file:
        while True:
            written += file.write(block)
except OSError as exc:
    print(json.dumps({"written": written, "errno": exc.errno}))
"""
# Allocates (and touches) 16 MiB at a time up to the bytes given, as a leak or an oversized request would; it exits 0
# only if nothing stopped it.
HOG = """
import sys
chunks, chunk = [], 16 * 2**20
while len(chunks) * chunk < int(sys.argv[1]):
    chunks.append(bytearray(b"\\1") * chunk)
"""


def folder_bytes(container, folder: str) -> int:
    """The size of the filesystem a folder of the running container is on, as the container sees it."""
    code = f"import os; s = os.statvfs({folder!r}); print(s.f_blocks * s.f_frsize)"
    exit_code, output = container.exec_run(["python", "-c", code])
    assert exit_code == 0, f"reading the size of {folder} failed: {output.decode()}"
    return int(output)


def small_volumes(project, contract, path) -> list[str]:
    """The stack's compose files, and one laid over them that puts each volume on a declared writable folder in a
    small tmpfs (still a volume, so filled with the image's folder and its owner first): filling it fills no disk of
    the host. A folder that is a tmpfs already is filled as it is."""
    web = ComposeStack(project, "layercake-config", contract.port, files=COMPOSE_FILES).config()["services"]["web"]
    sources = [
        v["source"] for v in web.get("volumes", []) if v["type"] == "volume" and v["target"] in contract.writable
    ]
    if not sources:
        return COMPOSE_FILES
    options = f"    driver_opts:\n      type: tmpfs\n      device: tmpfs\n      o: size={FULL_FOLDER_TEST_BYTES}\n"
    path.write_text("volumes:\n" + "".join(f"  {source}:\n{options}" for source in sources))
    return [*COMPOSE_FILES, str(path)]


def docker_time(text: str) -> float:
    """A time as Docker writes it (RFC 3339, nanoseconds), in seconds since the epoch."""
    return datetime.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text)).timestamp()


def wrong_answer(url: str, probe, seconds: float) -> str:
    """'' once the app answers at url as the contract's probe expects, asked until seconds pass; else its last answer."""
    deadline = time.perf_counter() + seconds
    while True:
        try:
            response = requests.get(url, timeout=max(0.1, deadline - time.perf_counter()))
            if probe.answered_by(response.status_code, response.text):
                return ""
            wrong = f"{response.status_code} {response.text[:300]}"
        except requests.RequestException as exc:
            wrong = f"no answer ({exc})"
        if time.perf_counter() >= deadline:
            return wrong
        time.sleep(0.2)


def test_full_writable_folders_leave_the_app_serving(
    compose_stack, docker_client, project, contract, app_start_s, tmp_path
):
    """Fill /tmp and every declared writable folder: the probes still answer, a worker killed then is replaced, the
    next health check passes, and the container does not restart. /tmp's tmpfs has a size, and gunicorn's heartbeat
    files live where the app writes nothing."""
    answer_s = FAULT_ANSWER_MAX_S + app_start_s
    with compose_stack(files=small_volumes(project, contract, tmp_path / "small-volumes.yaml")) as stack:
        web = stack.web(docker_client)
        heartbeat = gunicorn_settings(web)["worker_tmp_dir"]
        assert not any(heartbeat.rstrip("/") == f or heartbeat.startswith(f"{f}/") for f in contract.writable), (
            f"gunicorn's heartbeat files are in {heartbeat}, a folder the app fills: keep worker_tmp_dir = '/dev/shm' "
            "in gunicorn.conf.py"
        )
        memory = web.attrs["HostConfig"]["Memory"]
        assert memory > 0, "no memory limit: keep deploy.resources.limits.memory in docker-compose.yml"
        tmp_bytes = folder_bytes(web, "/tmp")
        assert tmp_bytes <= memory * TMPFS_SHARE_OF_MEMORY_MAX, (
            f"/tmp holds up to {tmp_bytes / 2**20:.0f} MiB of RAM, against a memory limit of {memory / 2**20:.0f} MiB: "
            "give its tmpfs a size in docker-compose.yml (tmpfs: size:), as the pod's emptyDir has a sizeLimit"
        )
        restarts = web.attrs["RestartCount"]
        # Served once before, as a running app has been when its disk fills: an app that makes its files on a first
        # request has made them.
        for probe in contract.probes:
            assert not (wrong := wrong_answer(stack.url(probe.path), probe, answer_s)), (
                f"{probe.path} before the fill: {wrong}"
            )
        for folder in contract.writable:
            exit_code, output = web.exec_run(["python", "-c", FILL, folder])
            filled = json.loads(output) if exit_code == 0 else {}
            assert filled.get("errno") == errno.ENOSPC, f"filling {folder} ended with {output.decode()[-300:]}"
        filled_at = time.time()
        for probe in contract.probes:
            assert not (wrong := wrong_answer(stack.url(probe.path), probe, answer_s)), (
                f"{probe.path}, folders full: {wrong}"
            )
        victim = workers(web)[0]["pid"]
        signal_process(web, victim, signal.SIGKILL)
        deadline = time.perf_counter() + WORKER_RECOVERY_MAX_S + app_start_s + 5
        while victim in {worker["pid"] for worker in workers(web)} and time.perf_counter() < deadline:
            time.sleep(0.2)
        pids = {worker["pid"] for worker in workers(web)}
        assert victim not in pids and pids, "a worker killed while the folders were full was not replaced"
        wrong = wrong_answer(stack.url(contract.probe.path), contract.probe, answer_s)
        assert not wrong, f"the app's answer after a new worker started with its folders full: {wrong}"
        # Docker calls the container unhealthy only after `retries` checks in a row fail (one may time out on a busy
        # machine); so the status must stay healthy until a check started after the fill passes.
        deadline = time.time() + dead_healthy_s(*health_timings(web.attrs["Config"]["Healthcheck"])) + 2
        checked, passed = [], []
        while not passed and time.time() < deadline:
            time.sleep(0.5)
            web.reload()
            health = web.attrs["State"].get("Health") or {}
            assert health.get("Status") != "unhealthy", f"the container turned unhealthy: {health.get('Log', [])[-3:]}"
            checked = [entry for entry in health.get("Log") or [] if docker_time(entry["Start"]) > filled_at]
            passed = [entry for entry in checked if entry["ExitCode"] == 0]
        assert passed, f"no health check passed after the fill: {checked[-3:] or 'none ran'}"
        assert web.attrs["RestartCount"] == restarts, "the container restarted with its folders full"


def test_memory_hog_is_killed_and_the_app_keeps_serving(compose_stack, docker_client, contract, app_start_s, report):
    """A process in the container allocates past the memory limit: the kernel's OOM killer takes it, Docker reports the
    oom, and the app answers on, or, if the kernel took gunicorn's master, is back and healthy within the restart's
    budget."""
    answer_s = FAULT_ANSWER_MAX_S + app_start_s
    with compose_stack() as stack:
        web = stack.web(docker_client)
        memory, with_swap = web.attrs["HostConfig"]["Memory"], web.attrs["HostConfig"]["MemorySwap"]
        assert memory > 0, "no memory limit: a leak would take the host's memory; keep deploy.resources.limits.memory"
        assert with_swap != -1, "memory plus swap is unlimited: the limit would only move the leak to swap"
        since = time.time()
        pid_1, restarts = web.attrs["State"]["Pid"], web.attrs["RestartCount"]
        exit_code, _ = web.exec_run(["python", "-c", HOG, str(max(memory, with_swap) + MEMORY_HOG_MARGIN_BYTES)])
        assert exit_code != 0, f"a process allocated {max(memory, with_swap) / 2**20:.0f} MiB and more, unstopped"
        events = docker_client.events(
            since=int(since), until=int(time.time()) + 2, filters={"container": web.id, "event": "oom"}, decode=True
        )
        report["oom_events"] = sum(1 for _ in events)
        assert report["oom_events"], f"the allocation ended (exit {exit_code}) without an oom event from Docker"
        web.reload()
        if web.attrs["State"]["Pid"] == pid_1 and web.attrs["RestartCount"] == restarts:
            wrong = wrong_answer(stack.url(contract.probe.path), contract.probe, answer_s)
            assert not wrong, f"the app's answer after the OOM kill: {wrong}"
            report["oom_took"] = "the process that grew"
        else:
            report["oom_took"] = "gunicorn's master"
            budget = RESTART_HEALTHY_MAX_S + app_start_s
            assert healthy_within(web, budget), (
                f"the OOM took gunicorn's master and the container was not healthy again within {budget:.0f} s"
            )
