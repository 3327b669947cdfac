"""The dev loop: `make dev` syncs edits into a reloading container; the default compose and the image never reload."""

import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from testcontainers.core.wait_strategies import HttpWaitStrategy

from pytest_layercake.budgets import STARTUP_TIMEOUT_S, SYNC_MAX_S
from pytest_layercake.containers import DEV_FILES, LABELS, ComposeStack

pytestmark = pytest.mark.docker

NEVER_IN_PRODUCTION = ("--reload", "--debug", "FLASK_DEBUG", "debug=True")


def test_default_compose_never_reloads_or_debugs(image_attrs, project, contract):
    config = ComposeStack(project, "layercake-config", contract.port).config()
    web = config["services"]["web"]
    assert "develop" not in web, (
        "docker-compose.yml must not carry the watch rules; they belong in docker-compose.dev.yml"
    )
    seen = (
        f"{web.get('command')} {web.get('environment')} {image_attrs['Config']['Cmd']} {image_attrs['Config']['Env']}"
    )
    found = [word for word in NEVER_IN_PRODUCTION if word in seen]
    assert not found, f"the default stack enables {found}: reload and the debugger belong in development only"


def test_dev_compose_is_valid_and_watches_the_source(project, contract):
    web = ComposeStack(project, "layercake-config", contract.port, files=DEV_FILES).config()["services"]["web"]
    rules = web["develop"]["watch"]
    edited = project.root / contract.change.file
    synced = [r for r in rules if r["action"] == "sync" and edited.is_relative_to(Path(r["path"]))]
    assert synced, f"no sync rule of docker-compose.dev.yml covers {contract.change.file}, the file a change edits"
    rebuilt = {Path(r["path"]).name for r in rules if r["action"] == "rebuild"}
    assert {"requirements.txt", "Dockerfile"} <= rebuilt, f"docker-compose.dev.yml rebuilds only on {sorted(rebuilt)}"
    assert "--reload" in web["command"], "the dev stack should reload gunicorn's workers on a code change"
    assert not any(word in str(web) for word in ("--debug", "FLASK_DEBUG")), "the debugger stays off, even in dev"


def test_make_dev_loads_the_dev_files(project):
    """`make dev` names the compose files itself; they must be the ones this check and the dev loop test load."""
    if not (project.root / "Makefile").is_file():
        pytest.skip("no Makefile: nothing but docker-compose.dev.yml's own comment names the dev files")
    makefile = (project.root / "Makefile").read_text()
    recipe = re.search(r"^dev:.*\n\t(.+)$", makefile, re.MULTILINE)
    assert recipe, "the Makefile has no `dev` target: keep `make dev`, the live-reload loop"
    named = re.findall(r"-f (\S+)", recipe[1])
    assert named == DEV_FILES, (
        f"`make dev` loads {named}: load {DEV_FILES}, in that order (pytest_layercake/containers.py)"
    )


def test_watch_serves_an_edit_without_a_rebuild(project_copy, docker_client, compose_stack, contract, app_start_s):
    change = contract.change
    with compose_stack(context=project_copy, files=DEV_FILES) as stack:
        image_before = stack.web(docker_client).image.id
        # --no-up: the stack is up already, and a build by watch's own start could take the edit in as a rebuild.
        watch = subprocess.Popen(
            [*stack.compose_command_property, "watch", "--no-up"],
            cwd=project_copy,
            env=stack.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output, watching = [], threading.Event()

        def read_output():
            for line in watch.stdout:
                output.append(line)
                if "Watch enabled" in line:
                    watching.set()

        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        try:
            assert watching.wait(STARTUP_TIMEOUT_S), f"compose watch did not start:\n{''.join(output)[-2000:]}"
            change.apply(project_copy)
            budget = SYNC_MAX_S + app_start_s
            edited = HttpWaitStrategy(contract.port, change.probe).for_response_predicate(lambda b: change.replace in b)
            try:
                edited.with_startup_timeout(budget).with_poll_interval(0.2).wait_until_ready(stack)
            except TimeoutError:
                pytest.fail(
                    f"the edit to {change.file} was not served within {budget:.0f} s ({SYNC_MAX_S} s plus the app's "
                    f"start, {app_start_s:.1f} s): check docker-compose.dev.yml; "
                    "watch said:\n" + "".join(output)[-1500:]
                )
        finally:
            watch.terminate()
            watch.wait(timeout=30)
            reader.join(timeout=5)
        assert stack.web(docker_client).image.id == image_before, "the edit rebuilt the image instead of syncing"
    assert any("Syncing" in line for line in output), f"compose watch did not sync:\n{''.join(output)[-2000:]}"


def test_python_app_py_binds_loopback_without_the_debugger(image, docker_client, contract):
    """`python app.py`, a quick local run: Flask's dev server on 127.0.0.1 only, with the debugger off."""
    dev = docker_client.containers.run(image, ["python", "app.py"], detach=True, labels=LABELS)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while b"Running on" not in dev.logs() and time.monotonic() < deadline:
            dev.reload()
            if dev.status == "exited":
                pytest.skip("`python app.py` starts no dev server (app.py has no app.run under __main__)")
            time.sleep(0.1)
        _, tcp = dev.exec_run(["cat", "/proc/net/tcp"])
        log = dev.logs().decode()
    finally:
        dev.remove(force=True)
    listening = [row.split()[1] for row in tcp.decode().splitlines()[1:] if row.split()[3] == "0A"]
    assert "Running on" in log, f"`python app.py` did not start within {STARTUP_TIMEOUT_S} s:\n{log[-1000:]}"
    assert listening == [f"0100007F:{contract.port:04X}"], (
        f"python app.py listens on {listening} (hex): want only 127.0.0.1:{contract.port}; keep app.run's default host"
    )
    assert "Debugger is active" not in log, "python app.py turned the debugger on: it runs any code a page sends it"
