"""Nothing lost: every record the app acknowledged (layercake.toml's [write]) is read back through the app after its
PID 1 is killed, after `docker compose restart`, and after a rebuild and `up` (how an update is deployed)."""

import dataclasses
from collections.abc import Iterator

import pytest

from pytest_layercake import records
from pytest_layercake.budgets import RESTART_HEALTHY_MAX_S
from pytest_layercake.containers import healthy_within, kill_from_host

pytestmark = [pytest.mark.docker, pytest.mark.durability]


class Ledger:
    """The records written through the app that it acknowledged, and which of them it no longer shows."""

    def __init__(self, stack, write):
        self.stack, self.spec, self.acknowledged, self.next = stack, dataclasses.asdict(write), [], records.FIRST

    def add(self, count: int = records.RECORDS) -> None:
        written = records.write("127.0.0.1", self.stack.port, self.spec, list(range(self.next, self.next + count)))
        self.next += count
        self.acknowledged += written["acknowledged"]
        assert not written["refused"], (
            f"writing to {self.spec['path']} did not answer {self.spec['status']} (layercake.toml's [write]): "
            f"{written['refused'][:3]}"
        )

    def missing(self) -> list[int]:
        read = records.missing("127.0.0.1", self.stack.port, self.spec, self.acknowledged)
        assert read["status"] == 200, f"{self.spec['read']} answered {read['status']} after the fault"
        return read["missing"]


@pytest.fixture(scope="module")
def ledger(compose_stack, contract) -> Iterator[Ledger]:
    """The hardened compose stack, with the records written so far."""
    if contract.write is None:
        pytest.skip("layercake.toml declares no [write]: the app stores nothing for this proof to read back")
    with compose_stack() as stack:
        yield Ledger(stack, contract.write)


def lost(ledger: Ledger, fault: str) -> str:
    missing = ledger.missing()
    return (
        f"{len(missing)} of {len(ledger.acknowledged)} acknowledged records are gone after {fault}: keep each folder "
        "the app stores in on a volume in docker-compose.yml (a tmpfs or the container's own layer dies with it)"
        if missing
        else ""
    )


def test_records_survive_a_killed_pid_1(ledger, docker_client, project, app_start_s):
    ledger.add()
    web = ledger.stack.web(docker_client)
    restarts = web.attrs["RestartCount"]
    kill_from_host(docker_client, project.base_image, web.attrs["State"]["Pid"])
    budget = RESTART_HEALTHY_MAX_S + app_start_s
    assert healthy_within(web, budget) and web.attrs["RestartCount"] == restarts + 1, (
        f"the app was not back and healthy within {budget:.0f} s of losing PID 1: keep deploy.restart_policy"
    )
    assert not lost(ledger, "PID 1 was killed"), lost(ledger, "PID 1 was killed")


def test_records_survive_compose_restart(ledger, docker_client, app_start_s):
    ledger.add()
    ledger.stack.compose("restart", "web")
    assert healthy_within(ledger.stack.web(docker_client), RESTART_HEALTHY_MAX_S + app_start_s), "no healthy restart"
    assert not lost(ledger, "`docker compose restart`"), lost(ledger, "`docker compose restart`")


def test_records_survive_a_rebuild_and_up(ledger, docker_client, app_start_s):
    ledger.add()
    before = ledger.stack.web(docker_client).id
    ledger.stack.compose("up", "--detach", "--build", "--force-recreate", "--wait", "web")
    web = ledger.stack.web(docker_client)
    assert web.id != before, "`up --force-recreate` kept the container, so this proves nothing of a new one"
    assert healthy_within(web, RESTART_HEALTHY_MAX_S + app_start_s), "the new container is not healthy"
    assert not lost(ledger, "a rebuild and `up`"), lost(ledger, "a rebuild and `up`")
