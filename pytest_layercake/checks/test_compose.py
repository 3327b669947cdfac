"""`docker compose up` end to end: the project's own compose file, hardened, healthy, and at 127.0.0.1 only."""

import time

import pytest
import requests

from pytest_layercake.budgets import (
    HEALTH_DEAD_HEALTHY_MAX_S,
    HEALTH_START_PERIOD_MAX_S,
    STOP_RATIO_MAX,
    STOP_TIMEOUT_S,
)
from pytest_layercake.containers import DEV_FILES, LOG_NEVER, ComposeStack, gunicorn_settings
from pytest_layercake.runtime import NS, dead_healthy_s, health_timings

pytestmark = pytest.mark.docker


def test_stack_answers_every_probe(stack, contract):
    for probe in contract.probes:
        response = requests.get(stack.url(probe.path), timeout=5)
        assert probe.answered_by(response.status_code, response.text), (
            f"{probe.path} answered {response.status_code} {response.text[:200]!r}, want {probe.status} with "
            f"{probe.body!r} (layercake.toml)"
        )


def test_stack_publishes_on_loopback_only(stack, contract):
    published = stack.compose("port", "web", str(contract.port)).split()
    assert published == [f"127.0.0.1:{stack.port}"], (
        f'compose publishes the app on {published}: keep ports "127.0.0.1:${{PORT:-...}}:{contract.port}" in '
        "docker-compose.override.yml"
    )


def test_stack_is_healthy(web):
    assert web.attrs["State"]["Health"]["Status"] == "healthy", "the compose service is not healthy"


# As the app's user: write a temp file and one file in each writable path, then try the app's own folder.
TRY_WRITES = """
import sys, tempfile
with tempfile.TemporaryFile() as scratch:
    scratch.write(b"ok")
for path in sys.argv[1:]:
    with tempfile.NamedTemporaryFile(dir=path) as scratch:
        scratch.write(b"ok")
try:
    open("planted.py", "w")
except OSError as exc:
    print(exc.strerror)
"""


def test_stack_root_filesystem_is_read_only_but_writable_paths_work(web, contract):
    exit_code, output = web.exec_run(["python", "-c", TRY_WRITES, *contract.writable])
    assert exit_code == 0, (
        f"the app could not write to one of {list(contract.writable)} (writable in layercake.toml): give each a "
        f"tmpfs or a volume in docker-compose.yml owned by the app's user ({output.decode().strip()[-300:]})"
    )
    assert output.decode().strip() == "Read-only file system", (
        f"writing to the app's folder gave {output.decode().strip()!r}: keep read_only: true in docker-compose.yml"
    )


@pytest.mark.parametrize("line", LOG_NEVER)
def test_stack_log_never_shows(stack, contract, line):
    requests.get(stack.url(contract.probe.path), timeout=5).raise_for_status()
    stdout, stderr = stack.get_logs("web")
    assert line not in stdout + stderr, f"the compose log shows {line!r}: {LOG_NEVER[line]}"


def graceful_exit(docker_client, container_id: str, since: float) -> int | None:
    """Return the exit code of the container's `die` event after since, or None if it never died."""
    for event in docker_client.events(
        since=int(since) - 1,
        until=int(time.time()) + 1,
        filters={"container": container_id, "event": "die"},
        decode=True,
    ):
        return int(event["Actor"]["Attributes"]["exitCode"])
    return None


@pytest.mark.timed
@pytest.mark.parametrize("command", ["stop", "down"])
def test_compose_stop_and_down_are_graceful(docker_client, compose_stack, contract, command, report):
    with compose_stack() as stack:
        web = stack.web(docker_client)
        grace = web.attrs["Config"].get("StopTimeout")
        signal = web.attrs["Config"].get("StopSignal") or "SIGTERM"
        since = time.time()
        start = time.perf_counter()
        stack.compose(command, *(["--volumes"] if command == "down" else []))
        seconds = time.perf_counter() - start
        exit_code = graceful_exit(docker_client, web.id, since)
    report[f"compose_{command}_s"] = round(seconds, 2)
    assert grace and signal in ("SIGTERM", "15"), (
        f"compose stops the app with {signal} after {grace} s: keep stop_grace_period in docker-compose.yml and no "
        "stop_signal other than SIGTERM, which gunicorn drains on"
    )
    assert exit_code == 0, f"`docker compose {command}` ended the app with exit code {exit_code} (137 is SIGKILL)"
    assert seconds <= grace * STOP_RATIO_MAX, (
        f"`docker compose {command}` took {seconds:.1f} s of the {grace} s grace period: PID 1 must handle SIGTERM"
    )


def test_stop_grace_period_outlasts_graceful_timeout(web):
    """Compose's SIGKILL must come after gunicorn has let its in-flight requests finish, as the container runs."""
    grace = web.attrs["Config"].get("StopTimeout") or STOP_TIMEOUT_S
    graceful = float(gunicorn_settings(web)["graceful_timeout"])
    assert grace > graceful, (
        f"compose kills the app {grace} s after SIGTERM, but gunicorn's graceful_timeout gives requests {graceful:g} s: "
        "make stop_grace_period in docker-compose.yml longer than graceful_timeout in gunicorn.conf.py"
    )


def test_restart_policy_has_one_source(project, contract, web):
    """Compose takes deploy.restart_policy over `restart:`, so a second policy in the file would say one thing and do
    another; the container's effective policy is the one of deploy.restart_policy."""
    service = ComposeStack(project, "layercake-config", contract.port).config()["services"]["web"]
    policy = (service.get("deploy") or {}).get("restart_policy") or {}
    effective = web.attrs["HostConfig"]["RestartPolicy"]
    said = {"on-failure": "on-failure", "any": "always", "none": "no"}.get(policy.get("condition"), "")
    if policy.get("max_attempts") and said == "on-failure":
        said += f":{policy['max_attempts']}"
    if "restart" in service:
        assert service["restart"] == said, (
            f"docker-compose.yml says `restart: {service['restart']}` and deploy.restart_policy means {said!r}; "
            f"compose runs the container with {effective}: keep only deploy.restart_policy, which compose and swarm read"
        )
    running = effective["Name"] + (f":{effective['MaximumRetryCount']}" if effective["MaximumRetryCount"] else "")
    assert running == said, f"deploy.restart_policy means {said!r}, but the container runs with {running!r}"


@pytest.mark.parametrize("source", ["image", "compose"])
def test_dead_app_is_noticed_in_time(web, source):
    """However long the timings, a dead app may pass as healthy only this long (pytest_layercake/budgets.py says why)."""
    check = (web.image.attrs if source == "image" else web.attrs)["Config"]["Healthcheck"]
    interval, timeout, retries = health_timings(check)
    seconds = dead_healthy_s(interval, timeout, retries)
    start_period = check.get("StartPeriod", 0) / NS
    where = "the Dockerfile's HEALTHCHECK" if source == "image" else "healthcheck: in docker-compose.yml"
    assert seconds <= HEALTH_DEAD_HEALTHY_MAX_S, (
        f"with {where} (every {interval:g} s, timeout {timeout:g} s, {retries} retries), a dead app "
        f"passes as healthy for up to {seconds:g} s, over the budget of {HEALTH_DEAD_HEALTHY_MAX_S} s: check more "
        "often or give up sooner"
    )
    assert start_period <= HEALTH_START_PERIOD_MAX_S, (
        f"{where} gives the app a start period of {start_period:g} s, over the budget of {HEALTH_START_PERIOD_MAX_S} "
        "s, during which a dead app is never marked unhealthy: shorten start_period"
    )


def test_compose_down_leaves_nothing(docker_client, compose_stack, contract):
    with compose_stack() as stack:
        assert requests.get(stack.url(contract.health), timeout=5).ok
    label = {"label": f"com.docker.compose.project={stack.name}"}
    containers = docker_client.containers.list(all=True, filters=label)
    networks = docker_client.networks.list(filters=label) + docker_client.networks.list(names=[f"{stack.name}_default"])
    volumes = docker_client.volumes.list(filters=label)
    assert not containers and not networks and not volumes, f"compose down left {containers} {networks} {volumes}"


def test_default_image_tag_is_never_latest(project, contract):
    image = ComposeStack(project, "layercake-config", contract.port, env={"IMAGE": None}).config()["services"]["web"][
        "image"
    ]
    name, _, tag = image.rpartition(":")
    assert name and tag and tag != "latest", (
        f"with IMAGE unset, compose tags the image {image!r}: give ${{IMAGE:-...}} a default tag other than latest"
    )


def test_dev_overlay_keeps_a_user_and_loopback(project, contract):
    web = ComposeStack(project, "layercake-config", contract.port, files=DEV_FILES).config()["services"]["web"]
    user = str(web.get("user", ""))
    assert user.split(":")[0] not in ("", "0", "root"), f"the dev overlay runs as {user!r}: keep a non-root user"
    hosts = {port.get("host_ip") for port in web.get("ports") or []}
    assert hosts == {"127.0.0.1"}, f"the dev stack publishes on {hosts}: keep the port on 127.0.0.1"


def test_compose_ignores_the_callers_settings(project_copy, project, contract):
    """The tests run what the files say: a user's .env and FLASK_* variables in the shell reach no test's stack (the
    values the compose files set themselves do)."""

    def environment() -> dict:
        web = ComposeStack(project, "layercake-config", contract.port, context=project_copy).config()["services"]["web"]
        return {name: value for name, value in (web.get("environment") or {}).items() if value is not None}

    own = environment()
    (project_copy / ".env").write_text("FLASK_MAX_CONTENT_LENGTH=5000000\nWEB_CONCURRENCY=9\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FLASK_SECRET_KEY", "from-the-shell")
        passed = {name: value for name, value in environment().items() if own.get(name) != value}
    assert not passed, f"compose passed {passed} from the caller's .env or shell into the test stack"
