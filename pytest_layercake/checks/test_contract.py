"""layercake.toml agrees with what the image and compose really run: the port and the health path."""

import pytest

from pytest_layercake.containers import gunicorn_settings

pytestmark = [pytest.mark.docker, pytest.mark.inner_loop]


def test_image_exposes_the_contract_port(image_attrs, contract):
    exposed = set(image_attrs["Config"].get("ExposedPorts") or {})
    assert exposed == {f"{contract.port}/tcp"}, (
        f"the image exposes {sorted(exposed)}, layercake.toml says port {contract.port}: set ENV PORT in the Dockerfile"
    )


def test_gunicorn_binds_the_contract_port(container, contract):
    bind = gunicorn_settings(container.get_wrapped_container())["bind"]
    assert f":{contract.port}'" in bind, (
        f"gunicorn binds {bind} in the container, layercake.toml says port {contract.port}: gunicorn.conf.py should "
        "bind the PORT that the Dockerfile sets"
    )


def test_healthcheck_asks_the_contract_health_path(image_attrs, contract):
    test = " ".join((image_attrs["Config"].get("Healthcheck") or {}).get("Test") or [])
    assert f"{contract.health}'" in test or f'{contract.health}"' in test, (
        f"the image's HEALTHCHECK runs {test!r}, which does not ask {contract.health} (health in layercake.toml)"
    )


def test_compose_publishes_the_contract_port(stack, contract):
    ports = stack.config()["services"]["web"].get("ports") or []
    targets = {int(port["target"]) for port in ports}
    assert targets == {contract.port}, (
        f"compose publishes container ports {sorted(targets)}, layercake.toml says {contract.port}: fix the target "
        "of ports: in docker-compose.override.yml"
    )
