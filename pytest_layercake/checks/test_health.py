"""Health that can fail: compose runs the image's own check, and an app that can't answer turns the container
unhealthy and makes `docker compose up --wait` fail."""

import time

import pytest

from pytest_layercake.budgets import HEALTH_CONTROL_INTERVAL_S, HEALTH_CONTROL_RETRIES, HEALTH_DEAD_HEALTHY_MAX_S
from pytest_layercake.containers import COMPOSE_FILES, LoopbackContainer
from pytest_layercake.runtime import NS

pytestmark = pytest.mark.docker


def moved(contract) -> dict[str, str]:
    """Settings that start gunicorn on another port, so the app runs but its health check finds nothing."""
    return {"GUNICORN_CMD_ARGS": f"--bind=0.0.0.0:{contract.port + 1}"}


def test_compose_runs_the_image_health_check(web):
    image_check = web.image.attrs["Config"]["Healthcheck"]["Test"]
    running = web.attrs["Config"]["Healthcheck"]["Test"]
    assert running == image_check, (
        f"compose replaces the image's health check {image_check} with {running}: set only its timings in "
        "docker-compose.yml, so the check stays the one that can fail"
    )


# Not timed: Docker's own verdict is the judge. Its worst case, retries x (interval + timeout), is what an idle machine
# gives; a busy one starts each probe late, so the wait is the budget a dead app has to leave the rotation.
def test_failing_health_check_turns_the_container_unhealthy(image, contract, docker_client, app_start_s, report):
    """The negative control: the image's own check, run every second, must give up on an app that doesn't answer."""
    # A start period of 0 would mean "the image's", so the control's is the shortest Docker takes: 1 ms.
    timings = {
        "interval": HEALTH_CONTROL_INTERVAL_S * NS,
        "retries": HEALTH_CONTROL_RETRIES,
        "start_period": NS // 1000,
    }
    sick = LoopbackContainer(str(image), contract.port).with_envs(**moved(contract)).with_kwargs(healthcheck=timings)
    with sick:
        wrapped = sick.get_wrapped_container()
        limit = HEALTH_DEAD_HEALTHY_MAX_S + app_start_s
        started = time.time()
        verdict = None
        for event in docker_client.events(
            since=int(started) - 1,
            until=int(started + limit) + 1,
            filters={"container": wrapped.id, "event": "health_status"},
            decode=True,
        ):
            if event["Action"] in ("health_status: unhealthy", "health_status: healthy"):
                verdict = (event["Action"].split()[-1], event["timeNano"] / NS)
                break
        wrapped.reload()
        health = wrapped.attrs["State"]["Health"]
    probes = [(probe["ExitCode"], probe["Output"].strip()[-120:]) for probe in health["Log"]]
    report["unhealthy_after_s"] = round(verdict[1] - started, 1) if verdict and verdict[0] == "unhealthy" else None
    assert verdict is not None and verdict[0] == "unhealthy" and health["Status"] == "unhealthy", (
        f"a container whose app answers on no port was {health['Status']!r} after "
        f"{(verdict[1] if verdict else time.time()) - started:.0f} s (limit {limit:.0f} s), its probes {probes}: the "
        "HEALTHCHECK must ask the app itself, on ENV PORT"
    )


# Not timed: it has no budget, only the failure compose reports.
def test_up_wait_fails_on_an_unhealthy_service(compose_stack, contract, tmp_path):
    override = tmp_path / "sick.yaml"
    override.write_text(
        "services:\n  web:\n    environment:\n"
        + "".join(f"      {name}: '{value}'\n" for name, value in moved(contract).items())
        + f"    healthcheck:\n      interval: {HEALTH_CONTROL_INTERVAL_S}s\n      start_period: 1ms\n"
        + f"      retries: {HEALTH_CONTROL_RETRIES}\n"
    )
    files = [*COMPOSE_FILES, str(override)]
    sick = compose_stack(files=files)
    try:
        with pytest.raises(AssertionError) as failed:
            sick.start()
    finally:
        sick.stop()
    assert "unhealthy" in str(failed.value), f"`up --wait` failed, but not for the health check: {failed.value}"
