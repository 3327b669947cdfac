"""Containers of the images: docker run to the first 200, docker stop, and the CIS runtime rules they keep."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench.config import APP_PORT, CONTRACT, START_TIMEOUT_S, STOP_TIMEOUT_S, summary
from bench.images import Images
from pytest_layercake.containers import ComposeStack, memory_used
from pytest_layercake.http import free_port
from pytest_layercake.load import run_wrk
from pytest_layercake.project import Project
from pytest_layercake.runtime import judge


def start(images: Images, variant: str, command: list[str] | None = None, **env: str):
    """Run the image (with its own command, or this one) at 127.0.0.1 only; return the container, its port and the
    seconds to the first 200."""
    port = free_port()
    started = time.perf_counter()
    container = images.client.containers.run(
        images.tag(variant),
        command,
        detach=True,
        environment=env,
        labels=images.label,
        ports={f"{APP_PORT}/tcp": ("127.0.0.1", port)},
    )
    while time.perf_counter() - started < START_TIMEOUT_S:
        try:
            if requests.get(f"http://127.0.0.1:{port}{CONTRACT.probe.path}", timeout=1).status_code == 200:
                return container, port, time.perf_counter() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.02)  # The measurement's resolution; this is a benchmark, not a test.
    raise RuntimeError(
        f"{variant} did not answer {CONTRACT.probe.path} within {START_TIMEOUT_S} s:\n{container.logs().decode()}"
    )


def lifecycles(images: Images, variants: tuple[str, ...]) -> dict[str, dict]:
    """Time docker run to the first 200 over fresh containers, every variant in turn; then docker stop of them all at
    once, each timed on its own (a peer that ignores SIGTERM waits out the whole timeout, which need not be waited
    for three times)."""
    timed = {variant: {"start": [], "stop": [], "exit_codes": []} for variant in variants}
    for _ in range(images.runs):
        running = {}
        for variant in variants:
            running[variant], _, seconds = start(images, variant)
            timed[variant]["start"].append(seconds)
        with ThreadPoolExecutor(len(running)) as pool:
            stops = dict(zip(running, pool.map(stop, running.values())))
        for variant, container in running.items():
            timed[variant]["stop"].append(stops[variant])
            container.reload()
            timed[variant]["exit_codes"].append(container.attrs["State"]["ExitCode"])
            container.remove()
    return {
        variant: {
            "start_s": summary(figures["start"]),
            "stop_s": summary(figures["stop"]),
            "stop_exit_codes": figures["exit_codes"],
        }
        for variant, figures in timed.items()
    }


def stop(container) -> float:
    """docker stop with Docker's default timeout; return the seconds it took."""
    stopping = time.perf_counter()
    container.stop(timeout=STOP_TIMEOUT_S)
    return time.perf_counter() - stopping


def runtime_rules(images: Images, folder: Path, variant: str) -> dict[str, bool]:
    """Judge the CIS rules on a running container, run as its project runs it: layercake by its compose files,
    the others by `docker run` with only a loopback port, which is all their compose files add."""
    image = images.client.images.get(images.tag(variant))
    if variant != "layercake":
        container, _, _ = start(images, variant)
        try:
            return judge(container.attrs, image.attrs)
        finally:
            container.remove(force=True)
    with ComposeStack(Project(folder), f"layercake-bench-{images.run_id}", free_port()) as stack:
        return judge(stack.web(images.client).attrs, image.attrs)


# Python's own HTTP server, answering 200 to every GET: what a container of the image and its interpreter cost alone.
BARE_SERVER = (
    "import http.server as h\n"
    "class Ok(h.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        self.send_response(200)\n"
    "        self.end_headers()\n"
    "h.HTTPServer(('', {port}), Ok).serve_forever()\n"
)
# Inside a running container: how long importing gunicorn (master and gthread worker) takes, then the app.
IMPORTS = (
    "import importlib, time\n"
    "start = time.perf_counter()\n"
    "import gunicorn.app.wsgiapp, gunicorn.arbiter, gunicorn.workers.gthread\n"
    "middle = time.perf_counter()\n"
    "importlib.import_module({module!r})\n"
    "print(middle - start, time.perf_counter() - middle)\n"
)


def start_breakdown(images: Images, folder: Path, load_s: float, variant: str = "layercake") -> dict[str, dict]:
    """Where the image's start goes, each part measured in the same image, fresh containers in turn: a bare Python
    server, importing gunicorn and the app, the app on Flask's dev server; and what preloading the app would change,
    against the same image built with `preload_app = True`, in time to the first 200 and in memory, after a few answers
    and after a short load (which makes the workers write to the pages they share with the master)."""
    preloaded = f"{variant} preload"
    conf = folder / "gunicorn.conf.py"
    shipped = conf.read_text()
    conf.write_text(shipped + "\npreload_app = True\n")
    try:
        images.build(folder, preloaded, nocache=False)
    finally:
        conf.write_text(shipped)
    image = images.client.images.get(images.tag(variant))
    module, _, name = image.attrs["Config"]["Cmd"][-1].partition(":")
    dev_server = f"from {module} import {name} as app\napp.run(host='0.0.0.0', port={APP_PORT})\n"
    timed = {key: [] for key in BREAKDOWN}
    for _ in range(images.runs):
        container, _, seconds = start(images, variant, ["python", "-c", BARE_SERVER.format(port=APP_PORT)])
        timed["bare_python_s"].append(seconds)
        container.remove(force=True)
        container, _, seconds = start(images, variant, ["python", "-c", dev_server])
        timed["dev_server_s"].append(seconds)
        container.remove(force=True)
        for prefix, image_variant in (("", variant), ("preload_", preloaded)):
            container, port, seconds = start(images, image_variant)
            timed[f"{prefix}start_s"].append(seconds)
            timed[f"{prefix}memory_bytes"].append(memory_after_answers(container, port))
            run_wrk(port, [CONTRACT.probe.path], 8, load_s)
            timed[f"{prefix}loaded_memory_bytes"].append(memory_used(container))
            if not prefix:
                exit_code, output = container.exec_run(["python", "-c", IMPORTS.format(module=module)])
                if exit_code:
                    raise RuntimeError(f"timing the imports in {variant} failed: {output.decode()}")
                gunicorn, app = (float(value) for value in output.split())
                timed["gunicorn_import_s"].append(gunicorn)
                timed["app_import_s"].append(app)
            container.remove(force=True)
    return {key: summary(values) for key, values in timed.items()}


BREAKDOWN = (
    "bare_python_s",
    "gunicorn_import_s",
    "app_import_s",
    "dev_server_s",
    "start_s",
    "preload_start_s",
    "memory_bytes",
    "preload_memory_bytes",
    "loaded_memory_bytes",
    "preload_loaded_memory_bytes",
)


def memory_after_answers(container, port: int, answers: int = 20) -> int:
    """The container's memory once every worker may have answered."""
    for _ in range(answers):
        requests.get(f"http://127.0.0.1:{port}{CONTRACT.probe.path}", timeout=5).raise_for_status()
    return memory_used(container)
