"""What the benchmark measures and with what: the project under test, its contract, the images compared, the load;
and the two helpers every measurement uses."""

import statistics
import sys
from pathlib import Path

from pytest_layercake.contract import Contract
from pytest_layercake.project import Project

ROOT = Path(__file__).resolve().parent.parent
PROJECT = Project(ROOT)
CONTRACT = PROJECT.contract
BASE_IMAGE = PROJECT.base_image
APP_PORT = CONTRACT.port

SCHEMA_VERSION = 4
PEERS = ROOT / "bench" / "peers"
# Every image measured, in the order the tables show them: the guide's first attempt, the peers, layercake.
VARIANTS = ("naive", "compose sample", "docker init", "layercake")
# Figures where less is better, compared between layercake and each peer.
COMPARED = (
    "cold_build_s",
    "rebuild_s",
    "dependency_rebuild_s",
    "context_bytes",
    "image_bytes",
    "overhead_bytes",
    "start_s",
    "stop_s",
)
# Figures where more is better, compared the same way.
COMPARED_MORE = ("probe_c8_rps",)
# Medians of a few builds or starts on a 2-core machine move by up to this much between runs, so a smaller lead is
# a tie, not a loss.
TIE = 0.10
# Why a peer may be ahead: a choice of the peer's that layercake refuses, and what the choice costs.
REFUSED = {
    ("compose sample", "start_s"): (
        "Flask's dev server skips gunicorn's own import (see where layercake's start goes), but it is one process, "
        "ignores SIGTERM (see docker stop) and is not meant for production, its own docs say"
    ),
    ("docker init", "start_s"): (
        "gunicorn's one default sync worker boots sooner than a master that sizes its workers to the CPU limit; "
        "that single worker holds one request at a time (see the load rows)"
    ),
}
# The other layercake bases, measured when the image is already on this machine (a benchmark never pulls).
OTHER_BASES = {"alpine": PROJECT.default_base_image, "slim": "python:3.13-slim-bookworm"}
CONCURRENCY = (1, 8, 32)


def load_paths(contract: Contract) -> tuple[str, ...]:
    """What the load cells ask: the contract's first probe (an answer of the app), then its page if it has one."""
    return tuple(dict.fromkeys([contract.probe.path, *([contract.page.path] if contract.page else [])]))


PATHS = load_paths(CONTRACT)
# What is loaded: layercake as shipped, layercake with sync workers, the naive image's dev server, and both peers as
# they ship (the compose sample's dev server, docker init's gunicorn with its defaults).
SERVERS = {
    "layercake": ("layercake", {}),
    "layercake sync": ("layercake", {"GUNICORN_CMD_ARGS": "--worker-class=sync"}),
    "dev server": ("naive", {}),
    "compose sample": ("compose sample", {}),
    "docker init": ("docker init", {}),
}
# The loaded server that stands for each image in the comparisons.
SERVER_OF = {
    "naive": "dev server",
    "compose sample": "compose sample",
    "docker init": "docker init",
    "layercake": "layercake",
}
LOAD_FIGURES = (
    "seconds",
    "requests",
    "requests_per_s",
    "cpu_s",
    "requests_per_cpu_s",
    "p50_ms",
    "p99_ms",
    "errors",
    "non_2xx",
)
STOP_TIMEOUT_S = 10  # Docker's default: what `docker stop` waits before SIGKILL.
START_TIMEOUT_S = 60
# The guide's first attempt: source before dependencies, no .dockerignore, the dev server, root.
NAIVE_DOCKERFILE = """FROM {base}
WORKDIR /app
COPY . .
RUN pip install -r requirements.txt
EXPOSE {port}
CMD ["python", "app.py"]
"""
# ...and its app.py ends the way the guide's does, so that the dev server is reachable from outside.
NAIVE_MAIN = '\n\nif __name__ == "__main__":\n    app.run(host="0.0.0.0", port={port})\n'
# What each peer brings from bench/peers/ and whether it runs the dev server (then its app.py ends like the naive).
PEER_DEV_SERVER = {"compose sample": True, "docker init": False}
# The goals the template promises, each as (what, figure, baseline, bound, kind): layercake's figure divided by the
# baseline's must be at most ("max") or at least ("min") the bound, in the same run.
GOALS = {
    "rebuild": ("rebuild after a one-line app.py change", "rebuild_s", "naive", 0.2, "max"),
    "context": ("build context sent", "context_bytes", "naive", 0.01, "max"),
    "overhead": ("image overhead above the base", "overhead_bytes", "naive", 0.5, "max"),
    "stop": ("docker stop time", "stop_s", "naive", 0.1, "max"),
    "throughput": (f"{CONTRACT.probe.path} requests/s at 8 connections", "probe_c8_rps", "dev server", 3, "min"),
}


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 4), "runs": [round(value, 4) for value in values]}
