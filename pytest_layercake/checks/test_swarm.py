"""Scale out: the compose file deployed unchanged as a swarm stack, updated replica by replica and rolled back."""

import contextlib
import dataclasses
import json
import math
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from pytest_layercake import records, runtime
from pytest_layercake.budgets import (
    ROLLOUT_FAILED_MAX,
    SWARM_ANSWER_MAX_S,
    SWARM_CLIENT_MAX_S,
    SWARM_CONNECT_MAX_S,
    SWARM_CONVERGE_MAX_S,
    SWARM_FIRST_ANSWER_MAX_S,
    SWARM_START_PERIOD_MIN_S,
    SWARM_START_PERIOD_PER_APP_START,
)
from pytest_layercake.build import build
from pytest_layercake.containers import COMPOSE_FILE, ComposeStack, run_name
from pytest_layercake.sweep import alive, shared_record

pytestmark = [pytest.mark.docker, pytest.mark.swarm]

REPLICAS = 3
CLIENT = (Path(__file__).parent.parent / "swarm_client.py").read_text()
RECORDS = Path(records.__file__).read_text()


def docker_cli(cwd: Path, *args: str, **env: str) -> str:
    """Run a docker CLI command in the project folder; fail with its output if it fails."""
    result = subprocess.run(
        ["docker", *args],
        check=False,
        cwd=cwd,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=SWARM_CONVERGE_MAX_S,
    )
    assert result.returncode == 0, f"`docker {' '.join(args)}` failed:\n{result.stdout}{result.stderr}"
    return result.stdout


# The test stack's own timings, laid over the unchanged docker-compose.yml: it checks every second and watches each updated
# replica for a second, so the rollout, the rollback and a failed update wait for what happens, not for production's
# windows (whose values test_compose.py checks). The check's timeout and retries stay docker-compose.yml's, so a replica busy
# beside a rollout is judged as in production.
TEST_TIMINGS = """services:
  web:
    healthcheck:
      interval: 1s
      start_period: {start_period}s
      start_interval: 1s
    deploy:
      update_config:
        monitor: 1s
      rollback_config:
        monitor: 1s
"""


@pytest.fixture(scope="module")
def start_period_s(project, contract, app_start_s, report) -> int:
    """The test stack's health start period: the app's own measured start, scaled, capped by docker-compose.yml's."""
    web = ComposeStack(project, "layercake-config", contract.port, files=[COMPOSE_FILE]).config()["services"]["web"]
    own = math.ceil(runtime.go_duration_s(web.get("healthcheck", {}).get("start_period", "0s")))
    scaled = max(SWARM_START_PERIOD_MIN_S, math.ceil(SWARM_START_PERIOD_PER_APP_START * app_start_s))
    seconds = min(scaled, max(own, SWARM_START_PERIOD_MIN_S))
    report.setdefault("swarm", {})["start_period_s"] = seconds
    return seconds


@pytest.fixture(scope="module")
def stack_files(tmp_path_factory, start_period_s) -> list[str]:
    """`docker stack deploy`'s -c arguments: docker-compose.yml as it is, then the test's timings."""
    timings = tmp_path_factory.mktemp("swarm-timings") / "timings.yaml"
    timings.write_text(TEST_TIMINGS.format(start_period=start_period_s))
    return ["-c", COMPOSE_FILE, "-c", str(timings)]


def deploy(cwd: Path, files: list[str], stack: str, image: str) -> None:
    """Deploy (or update) the stack from docker-compose.yml and the test's timings, and wait until it has converged."""
    docker_cli(cwd, "stack", "deploy", "--detach=false", *files, stack, IMAGE=image, REPLICAS=str(REPLICAS))


# Which processes use the test swarm, and whether the tests made it: test runs (xdist workers, a project's run inside
# a test) may share the engine's one swarm, which the last of them leaves.
SWARM_USERS = Path(tempfile.gettempdir()) / "layercake-swarm-users.json"


@contextlib.contextmanager
def swarm_users() -> Iterator[dict]:
    """The machine-wide list of the swarm's users, held under a lock while the caller changes it."""
    with shared_record(SWARM_USERS, {"made": False, "pids": []}) as users:
        users["pids"] = [pid for pid in users["pids"] if alive(pid)]
        yield users


@pytest.fixture(scope="module")
def swarm(docker_client):
    """A single-node swarm listening on 127.0.0.1 only, shared by the runs that need it at the same time; the last of
    them leaves it, unless it was here before the tests."""
    with swarm_users() as users:
        if docker_client.info()["Swarm"]["LocalNodeState"] != "active":
            users["gwbridge"] = bool(docker_client.networks.list(names=["docker_gwbridge"]))
            docker_client.swarm.init(
                advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377", data_path_addr="127.0.0.1"
            )
            users["made"] = True
        users["pids"].append(os.getpid())
    try:
        yield docker_client
    finally:
        with swarm_users() as users:
            users["pids"].remove(os.getpid())
            if users["made"] and not users["pids"]:
                docker_client.swarm.leave(force=True)
                if not users["gwbridge"]:
                    for network in docker_client.networks.list(names=["docker_gwbridge"]):
                        network.remove()
                users["made"] = False


def running_images(client, service: str) -> list[str]:
    """Return the image of every task of service that swarm wants running."""
    tasks = client.services.get(service).tasks(filters={"desired-state": "running"})
    return sorted(task["Spec"]["ContainerSpec"]["Image"].split("@")[0] for task in tasks)


def task_errors(client, service: str) -> list[str]:
    """Each of the service's tasks (those swarm still keeps) that ended in an error, with the error: why a replica went."""
    return [
        f"{task['Spec']['ContainerSpec']['Image'].split('@')[0]}: {task['Status'].get('Err')}"
        for task in client.services.get(service).tasks()
        if task["Status"].get("Err")
    ]


def on_the_stack(project, stack: str, name: str, options: list[str], script: str, *args: str) -> None:
    """`docker service create` of a Python script in the base image, on the stack's network (which takes no plain
    container) and labelled as the stack's, so that removing the stack removes it too."""
    docker_cli(
        project.root,
        *["service", "create", "--detach=false", "--quiet", "--name", name, "--network", f"{stack}_default", *options],
        *["--container-label", f"com.docker.stack.namespace={stack}", project.base_image, "python", "-c", script],
        *args,
    )


def start_client(swarm, project, contract, app_start_s: float, stack: str, name: str):
    """Start the client service on the stack's network; return its container once it has had a first answer."""
    on_the_stack(
        project,
        stack,
        name,
        ["--restart-condition", "none", "--update-monitor", "1s"],
        CLIENT,
        "web",
        str(contract.port),
        contract.change.probe,
        str(SWARM_CLIENT_MAX_S),
        str(SWARM_FIRST_ANSWER_MAX_S),
        str(SWARM_CONNECT_MAX_S),
        str(SWARM_ANSWER_MAX_S + app_start_s),
        contract.probe_at(contract.change.probe).body,
        contract.change.replace,
    )
    (probe,) = swarm.containers.list(filters={"label": f"com.docker.swarm.service.name={name}"})
    if not any(line.startswith(b"first answer") for line in probe.logs(stream=True, follow=True)):
        pytest.fail(
            f"the client on the stack's network got no answer from web:{contract.port}: {probe.logs().decode()}"
        )
    return probe


def records_job(swarm, project, contract, stack: str, command: str, numbers: list[int]) -> dict:
    """Run pytest_layercake/records.py once on the stack's network, as a swarm job (the stack's network takes no
    plain container): write or read the contract's records through `web`; return what it printed."""
    name = f"{stack}_records"
    spec = json.dumps(dataclasses.asdict(contract.write))
    try:
        arguments = [command, "web", str(contract.port), spec, json.dumps(numbers)]
        on_the_stack(project, stack, name, ["--mode", "replicated-job"], RECORDS, *arguments)
        (job,) = swarm.containers.list(all=True, filters={"label": f"com.docker.swarm.service.name={name}"})
        return json.loads(job.logs(stdout=True, stderr=False).decode().splitlines()[-1])
    finally:
        subprocess.run(["docker", "service", "rm", name], check=False, capture_output=True)


def stop_client(probe) -> dict:
    """Stop the client and return what it counted: answers by version, failures by kind and by address."""
    probe.kill(signal="SIGTERM")
    probe.wait(timeout=10)
    return json.loads(probe.logs().decode().splitlines()[-1])


def update_state(swarm, service: str, since: float, ends: set[str]) -> str:
    """Follow the service's update through Docker's events until it reaches one of ends; return the state."""
    service_id = swarm.services.get(service).id
    for event in swarm.events(
        since=int(since) - 1,
        until=int(since + SWARM_CONVERGE_MAX_S),
        filters={"type": "service", "service": service_id},
        decode=True,
    ):
        state = event["Actor"]["Attributes"].get("updatestate.new")
        if state in ends:
            return state
    return swarm.services.get(service).attrs.get("UpdateStatus", {}).get("State", "none")


def remove_stack(swarm, stack: str) -> None:
    """Remove the stack and its task containers, and wait (bounded) until swarm has removed its network too."""
    since = time.time()
    subprocess.run(["docker", "stack", "rm", stack], check=False, capture_output=True)
    for container in swarm.containers.list(
        all=True, ignore_removed=True, filters={"label": f"com.docker.stack.namespace={stack}"}
    ):
        try:
            container.remove(force=True)
        except docker.errors.APIError:  # swarm removed it first
            pass
    # `docker stack rm --detach=false` of CLI 26 can wait forever (docker/cli#7304), so follow Docker's events instead.
    networks = {n.id for n in swarm.networks.list(filters={"label": f"com.docker.stack.namespace={stack}"})}
    if networks:
        for event in swarm.events(
            since=int(since) - 1,
            until=int(time.time() + SWARM_CONVERGE_MAX_S),
            filters={"type": "network"},
            decode=True,
        ):
            if event["Action"] in ("destroy", "remove"):
                networks.discard(event["Actor"]["ID"])
            if not networks:
                break


@pytest.fixture(scope="module")
def rollout(swarm, image, project, contract, stack_files, app_start_s, tmp_path_factory):
    """Deploy v1, start a client on the stack's network, roll out v2, roll back; record what happened."""
    name = run_name("swarm")
    v1, v2 = f"{name}:v1", f"{name}:v2"
    web, client = f"{name}_web", f"{name}_client"
    copy = project.copy(tmp_path_factory.mktemp("swarm") / "v2")
    contract.change.apply(copy)
    swarm.images.get(str(image)).tag(v1)
    build(swarm, copy, v2, project.base_image)
    record = {"stack": name, "v1": v1, "v2": v2}
    try:
        deploy(project.root, stack_files, name, v1)
        record["deployed"] = running_images(swarm, web)
        record["containers"] = [
            c.attrs for c in swarm.containers.list(filters={"label": f"com.docker.swarm.service.name={web}"})
        ]
        probe = start_client(swarm, project, contract, app_start_s, name, client)
        if contract.write:
            numbers = list(range(records.FIRST, records.FIRST + records.RECORDS))
            record["written"] = records_job(swarm, project, contract, name, "write", numbers)
        start = time.perf_counter()
        deploy(project.root, stack_files, name, v2)
        record["rollout_s"] = time.perf_counter() - start
        record["rollout_state"] = swarm.services.get(web).attrs["UpdateStatus"]["State"]
        record["rolled_out"] = running_images(swarm, web)
        if contract.write:
            acknowledged = record["written"]["acknowledged"]
            record["read_back"] = records_job(swarm, project, contract, name, "read", acknowledged)
        start = time.perf_counter()
        docker_cli(project.root, "service", "rollback", "--detach=false", "--quiet", web)
        record["rollback_s"] = time.perf_counter() - start
        record["rollback_state"] = swarm.services.get(web).attrs["UpdateStatus"]["State"]
        record["rolled_back"] = running_images(swarm, web)
        record["client"] = stop_client(probe)
        record["task_errors"] = task_errors(swarm, web)
        yield record
    finally:
        subprocess.run(["docker", "service", "rm", client], check=False, capture_output=True)
        remove_stack(swarm, name)
        # `docker stack rm` keeps the stack's named volumes (an app's data); these were the test's own.
        for volume in swarm.volumes.list(filters={"label": f"com.docker.stack.namespace={name}"}):
            volume.remove(force=True)
        for tag in (v1, v2, f"{name}:v3"):
            try:
                swarm.images.remove(tag, force=True)
            except docker.errors.ImageNotFound:  # v3 exists only when the slow test ran
                pass


def test_stack_deploys_the_compose_file_unchanged(rollout):
    assert rollout["deployed"] == [rollout["v1"]] * REPLICAS, (
        f"`docker stack deploy -c docker-compose.yml` runs {rollout['deployed']}: keep deploy.replicas from REPLICAS "
        "and an image: tag from IMAGE in docker-compose.yml"
    )


def test_stack_replicas_keep_the_hardening(rollout):
    for attrs in rollout["containers"]:
        broken = runtime.broken(runtime.from_docker(attrs))
        assert not broken, f"a swarm replica breaks {broken}"
        host = attrs["HostConfig"]
        mounts = {(m["Type"], m["Target"]) for m in host.get("Mounts") or []}
        assert attrs["State"]["Health"]["Status"] == "healthy", "a replica is not healthy after the deploy"
        assert host["ReadonlyRootfs"], "a swarm replica has a writable root filesystem: keep read_only: true"
        assert host["CapDrop"] == ["ALL"], f"a swarm replica keeps capabilities ({host['CapDrop']}): keep cap_drop"
        assert host["Memory"] > 0 and (host["PidsLimit"] or 0) > 0, "a swarm replica has no memory or pids limit"
        assert ("tmpfs", "/tmp") in mounts, f"no tmpfs on /tmp in swarm ({mounts}): swarm ignores `tmpfs:`; use volumes"


def test_rollout_puts_every_replica_on_v2(rollout):
    assert rollout["rollout_state"] == "completed", f"the rollout ended {rollout['rollout_state']!r}"
    assert rollout["rolled_out"] == [rollout["v2"]] * REPLICAS, f"after the rollout swarm runs {rollout['rolled_out']}"


def test_rollback_brings_v1_back(rollout):
    assert rollout["rollback_state"] == "rollback_completed", f"the rollback ended {rollout['rollback_state']!r}"
    assert rollout["rolled_back"] == [rollout["v1"]] * REPLICAS, (
        f"after the rollback swarm runs {rollout['rolled_back']}"
    )


@pytest.mark.durability
def test_records_survive_a_rolling_update(rollout, contract):
    """Records written through the stack's replicas before the rollout are all read back from the new ones."""
    if contract.write is None:
        pytest.skip("layercake.toml declares no [write]: the app stores nothing for this proof to read back")
    written, read = rollout["written"], rollout["read_back"]
    assert not written["refused"], f"writing through the swarm replicas was refused: {written['refused'][:3]}"
    assert read["status"] == 200 and not read["missing"], (
        f"after the rolling update {len(read['missing'])} of {len(written['acknowledged'])} acknowledged records are "
        f"gone ({contract.write.read} answered {read['status']}): keep the folders the app stores in on a named "
        "volume in docker-compose.yml, which the new replicas mount"
    )


def test_rollout_and_rollback_fail_no_request(rollout, report):
    client = rollout["client"]
    failed = sum(client["failures"].values())
    sent = failed + sum(client["answers"].values())
    report.setdefault("swarm", {}).update(
        {
            "replicas": REPLICAS,
            "requests_sent": sent,
            "requests_failed": failed,
            "rollout_s": round(rollout["rollout_s"], 1),
            "rollback_s": round(rollout["rollback_s"], 1),
        }
    )
    assert set(client["answers"]) == {"v1", "v2"}, (
        f"the client saw {client['answers']}: it should have been answered by v1 and by v2 (change in layercake.toml)"
    )
    report["swarm"]["addresses"] = len(client["per_address"])
    report["swarm"]["fewest_replicas_answering"] = client["fewest"]
    assert failed <= ROLLOUT_FAILED_MAX, (
        f"{failed} of {sent} requests failed during the rollout and rollback (by address: {client['per_address']}; "
        f"{client['samples']}): keep update_config.order: start-first and the healthcheck, so a new replica serves "
        "before an old one stops"
    )
    assert client["fewest"] >= REPLICAS, (
        f"during the rollout and rollback the service was down to {client['fewest']} of {REPLICAS} replicas (tasks "
        f"that ended in an error: {rollout['task_errors'] or 'none'}): keep update_config.order: start-first, so a new "
        "replica serves before an old one stops"
    )
    assert len(client["per_address"]) >= REPLICAS, (
        f"the client reached only {sorted(client['per_address'])}: every replica's address should have answered"
    )


@pytest.mark.slow
def test_failed_update_rolls_back_by_itself(
    rollout, swarm, project, contract, stack_files, app_start_s, report, tmp_path
):
    """Deploy a v3 whose health check fails: failure_action: rollback brings v1 back on its own, no request fails."""
    name = rollout["stack"]
    web, client, v3 = f"{name}_web", f"{name}_client_v3", f"{name}:v3"
    sick = f"FROM {rollout['v1']}\nENV GUNICORN_CMD_ARGS=--bind=0.0.0.0:{contract.port + 1}\n"
    build(swarm, tmp_path, v3, project.base_image, dockerfile=sick)
    try:
        probe = start_client(swarm, project, contract, app_start_s, name, client)
        since, start = time.time(), time.perf_counter()
        docker_cli(
            project.root,
            "stack",
            "deploy",
            "--detach=true",
            *stack_files,
            name,
            IMAGE=v3,
            REPLICAS=str(REPLICAS),
        )
        state = update_state(swarm, web, since, {"rollback_completed", "rollback_paused", "paused", "completed"})
        seconds = time.perf_counter() - start
        images = running_images(swarm, web)
        counted = stop_client(probe)
    finally:
        subprocess.run(["docker", "service", "rm", client], check=False, capture_output=True)
    failed = sum(counted["failures"].values())
    report.setdefault("swarm", {})["auto_rollback_s"] = round(seconds, 1)
    report["swarm"]["auto_rollback_requests_failed"] = failed
    assert state == "rollback_completed", (
        f"after a v3 whose health check fails, the update ended {state!r}: keep update_config.failure_action: "
        "rollback and the healthcheck, so swarm undoes a bad release by itself"
    )
    assert images == [rollout["v1"]] * REPLICAS, f"after the failed update swarm runs {images}, not v1"
    assert failed <= ROLLOUT_FAILED_MAX, (
        f"{failed} requests failed while swarm tried v3 and rolled back ({counted['per_address']}; "
        f"{counted['samples']}): a replica must not get traffic before its health check passes"
    )
