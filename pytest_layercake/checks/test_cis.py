"""CIS Docker Benchmark 1.6 checks, on the image and on the running compose container; each named by its number."""

import pytest

from pytest_layercake import runtime
from pytest_layercake.budgets import MEMORY_LIMIT_MAX_BYTES, PIDS_LIMIT_MAX, WORKERS_PER_CPU_MAX
from pytest_layercake.containers import gunicorn_settings

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def stack_image(stack, docker_client):
    return docker_client.images.get(stack.web(docker_client).image.id)


def test_cis_4_1_image_user_is_not_root(stack_image, web):
    user = stack_image.attrs["Config"]["User"]
    assert user and user.split(":")[0] not in ("root", "0"), f"the image runs as {user!r}: keep USER 10001:10001"
    assert web.attrs["Config"]["User"] == user, "compose overrides the image's user"


def test_cis_4_6_healthcheck_is_present(stack_image, web):
    check = stack_image.attrs["Config"].get("Healthcheck") or {}
    assert check.get("Test", ["NONE"])[0] != "NONE", "the image has no HEALTHCHECK: keep it in the Dockerfile"
    assert web.attrs["State"].get("Health"), "the compose container has no health state"


def test_cis_4_9_copy_is_used_instead_of_add(stack_image, base_image):
    history = stack_image.history()
    own = [step["CreatedBy"] for step in history[: len(history) - len(base_image.history())]]
    added = [step for step in own if step.split("#(nop)")[-1].strip().startswith("ADD")]
    assert own and not added, f"the app's layers use ADD: {added}; use COPY, which does no unpacking or downloading"


def test_cis_5_4_all_capabilities_are_dropped(web):
    host = web.attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"], f"CapDrop is {host['CapDrop']}: keep cap_drop: [ALL]"
    assert not host["CapAdd"], f"capabilities are added back: {host['CapAdd']}"


def test_cis_5_11_memory_is_limited(web):
    memory = web.attrs["HostConfig"]["Memory"]
    assert memory > 0, "no memory limit: keep deploy.resources.limits.memory"
    assert memory <= MEMORY_LIMIT_MAX_BYTES, (
        f"the memory limit is {memory / 2**20:.0f} MiB, over the budget of {MEMORY_LIMIT_MAX_BYTES / 2**20:.0f} MiB: "
        "lower deploy.resources.limits.memory, or raise the budget in pytest_layercake/budgets.py and say why"
    )


def test_cis_5_12_cpu_is_limited_and_workers_match(web):
    cpus = runtime.from_docker(web.attrs).cpus
    assert cpus > 0, "no CPU limit: set deploy.resources.limits.cpus, which gunicorn.conf.py sizes its workers to"
    workers = int(gunicorn_settings(web)["workers"])
    assert workers <= cpus * WORKERS_PER_CPU_MAX, (
        f"gunicorn runs {workers} workers on a limit of {cpus:g} CPUs: size them from the CPU quota in gunicorn.conf.py, "
        f"at most {WORKERS_PER_CPU_MAX} per CPU, and don't set WEB_CONCURRENCY above that"
    )


def test_cis_5_13_root_filesystem_is_read_only(web):
    assert web.attrs["HostConfig"]["ReadonlyRootfs"], "the root filesystem is writable: keep read_only: true"


def test_cis_5_14_ports_are_bound_to_loopback(web):
    bindings = [b for published in web.attrs["NetworkSettings"]["Ports"].values() for b in published or []]
    assert bindings and all(b["HostIp"] == "127.0.0.1" for b in bindings), (
        f"published on {bindings}: bind to 127.0.0.1, Docker's ports bypass the host firewall"
    )


def test_cis_5_15_restart_retries_are_bounded(web):
    policy = web.attrs["HostConfig"]["RestartPolicy"]
    assert policy["Name"] == "on-failure" and 0 < policy["MaximumRetryCount"] <= 5, (
        f"restart policy is {policy}: keep deploy.restart_policy at on-failure with max_attempts 5 or fewer, so a crash "
        "loop stops and gets noticed"
    )


def test_cis_5_26_no_new_privileges(web):
    options = web.attrs["HostConfig"]["SecurityOpt"] or []
    assert "no-new-privileges:true" in options, f"security_opt is {options}: keep no-new-privileges:true"


def test_cis_5_29_pids_are_limited(web):
    pids = web.attrs["HostConfig"]["PidsLimit"] or 0
    assert pids > 0, "no pids limit: keep deploy.resources.limits.pids"
    assert pids <= PIDS_LIMIT_MAX, f"the pids limit is {pids}, over the budget of {PIDS_LIMIT_MAX}: lower it"


@pytest.mark.parametrize("rule", runtime.RULES)
def test_cis_runtime_rule_holds_under_compose(web, rule):
    check, fix = runtime.RULES[rule]
    assert check(runtime.from_docker(web.attrs)), f"the compose container breaks CIS {rule}: {fix}"
