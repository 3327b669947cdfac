"""The dev loop: `make dev` syncs edits into a reloading container; the default compose and the image never reload."""

import subprocess
import threading
import uuid

import pytest
from budgets import STARTUP_TIMEOUT_S, SYNC_MAX_S
from support import APP_PORT, ComposeProject, copy_context, free_port
from testcontainers.core.wait_strategies import HttpWaitStrategy

pytestmark = pytest.mark.docker

DEV_FILES = ["docker-compose.yml", "docker-compose.override.yml", "compose.dev.yaml"]
NEVER_IN_PRODUCTION = ("--reload", "--debug", "FLASK_DEBUG", "debug=True")


def test_default_compose_never_reloads_or_debugs(image_attrs):
    config = ComposeProject("layercake-config", 5000).config()
    web = config["services"]["web"]
    assert "develop" not in web, "docker-compose.yml must not carry the watch rules; they belong in compose.dev.yaml"
    seen = (
        f"{web.get('command')} {web.get('environment')} {image_attrs['Config']['Cmd']} {image_attrs['Config']['Env']}"
    )
    found = [word for word in NEVER_IN_PRODUCTION if word in seen]
    assert not found, f"the default stack enables {found}: reload and the debugger belong in development only"


def test_dev_compose_is_valid_and_watches_the_source():
    web = ComposeProject("layercake-config", 5000, files=DEV_FILES).config()["services"]["web"]
    rules = {(rule["action"], rule["path"].rsplit("/", 1)[-1]) for rule in web["develop"]["watch"]}
    wanted = {("sync", "app.py"), ("sync", "static"), ("rebuild", "requirements.txt"), ("rebuild", "Dockerfile")}
    assert wanted <= rules, f"compose.dev.yaml's watch rules lack {sorted(wanted - rules)}"
    assert "--reload" in web["command"], "the dev stack should reload gunicorn's workers on a code change"
    assert not any(word in str(web) for word in ("--debug", "FLASK_DEBUG")), "the debugger stays off, even in dev"


def test_watch_serves_an_edit_without_a_rebuild(tmp_path, docker_client, base_image):
    folder = copy_context(tmp_path / "project")
    project = ComposeProject(f"layercake-test-{uuid.uuid4().hex[:8]}", free_port(), context=folder, files=DEV_FILES)
    with project:
        image_before = project.web(docker_client).image.id
        watch = subprocess.Popen(
            [*project.compose_command_property, "watch"],
            cwd=folder,
            env=project.environ(),
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
            app = folder / "app.py"
            app.write_text(app.read_text().replace('return "nice to meet you"', 'return "nice to meet you too"'))
            edited = HttpWaitStrategy(APP_PORT, "/hello").for_response_predicate(lambda body: body.endswith("too"))
            try:
                edited.with_startup_timeout(SYNC_MAX_S).with_poll_interval(0.2).wait_until_ready(project)
            except TimeoutError:
                pytest.fail(
                    f"the edit to app.py was not served within {SYNC_MAX_S} s: check compose.dev.yaml; watch said:\n"
                    + "".join(output)[-1500:]
                )
        finally:
            watch.terminate()
            watch.wait(timeout=30)
            reader.join(timeout=5)
        assert project.web(docker_client).image.id == image_before, "the edit rebuilt the image instead of syncing"
    assert any("Syncing" in line for line in output), f"compose watch did not sync:\n{''.join(output)[-2000:]}"
