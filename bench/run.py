"""Benchmark layercake against the guide's first attempt, built from the same base image; write results."""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker
import requests

from bench.cache_mounts import add_dependency, remove_cache_mounts
from bench.report import draw, markdown
from pytest_layercake.build import build
from pytest_layercake.containers import ComposeProject
from pytest_layercake.contract import Contract
from pytest_layercake.http import free_port
from pytest_layercake.load import run_wrk
from pytest_layercake.project import Project
from pytest_layercake.report import machine as report_machine
from pytest_layercake.runtime import judge

ROOT = Path(__file__).resolve().parent.parent
PROJECT = Project(ROOT)
CONTRACT = PROJECT.contract
BASE_IMAGE = PROJECT.base_image
APP_PORT = CONTRACT.port

SCHEMA_VERSION = 3
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
# Medians of a few builds or starts on a 2-core machine move by up to this much between runs, so a smaller lead is
# a tie, not a loss.
TIE = 0.10
# Why a peer may be ahead: a choice of the peer's that layercake refuses, and what the choice costs.
REFUSED = {
    ("compose sample", "start_s"): (
        "Flask's dev server starts sooner than gunicorn's master and workers, but it is one process, ignores "
        "SIGTERM (see docker stop) and is not meant for production, its own docs say"
    ),
}
# The other layercake bases, measured when the image is already on this machine (a benchmark never pulls).
OTHER_BASES = {"alpine": PROJECT.default_base_image, "slim": "python:3.13-slim-bookworm"}
CONCURRENCY = (1, 8, 32)


def load_paths(contract: Contract) -> tuple[str, ...]:
    """What the load cells ask: the contract's first probe (an answer of the app), then its page if it has one."""
    return tuple(dict.fromkeys([contract.probe.path, *([contract.page.path] if contract.page else [])]))


PATHS = load_paths(CONTRACT)
# What is loaded: layercake as shipped, layercake with sync workers, and the naive image's dev server.
SERVERS = {
    "layercake": ("layercake", {}),
    "layercake sync": ("layercake", {"GUNICORN_CMD_ARGS": "--worker-class=sync"}),
    "dev server": ("naive", {}),
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
EXPOSE 5000
CMD ["python", "app.py"]
"""
# ...and its app.py ends the way the guide's does, so that the dev server is reachable from outside.
NAIVE_MAIN = '\n\nif __name__ == "__main__":\n    app.run(host="0.0.0.0", port=5000)\n'
# What each peer brings from bench/peers/ and whether it runs the dev server (then its app.py ends like the naive).
PEER_DEV_SERVER = {"compose sample": True, "docker init": False}
# The goals the template promises, each as (what, figure, baseline, bound, kind): layercake's figure divided by the
# baseline's must be at most ("max") or at least ("min") the bound, in the same run.
GOALS = {
    "rebuild": ("rebuild after a one-line app.py change", "rebuild_s", "naive", 0.2, "max"),
    "context": ("build context sent", "context_bytes", "naive", 0.01, "max"),
    "overhead": ("image overhead above the base", "overhead_bytes", "naive", 0.5, "max"),
    "stop": ("docker stop time", "stop_s", "naive", 0.1, "max"),
    "throughput": ("/hello requests/s at 8 connections", "hello_c8_rps", "dev server", 3, "min"),
}


class Bench:
    def __init__(self, client: docker.DockerClient, runs: int, load_runs: int, load_s: float, work: Path):
        self.client, self.runs, self.work = client, runs, work
        self.load_runs, self.load_s = load_runs, load_s
        self.run_id = uuid.uuid4().hex[:8]
        self.label = {"layercake.bench": self.run_id}
        self.image_ids: set[str] = set()

    def log(self, message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    def working_folder(self, name: str) -> Path:
        """Copy the project into a folder that also has what a real one has: a .git with history, and a venv."""
        folder = PROJECT.copy(self.work / name)
        git = ["git", "-C", str(folder), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "app"], check=True)
        # A dataset committed once and deleted later: gone from the folder, but 24 MB of history in .git.
        (folder / "sample.bin").write_bytes(os.urandom(24_000_000))
        subprocess.run([*git, "add", "sample.bin"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "add sample data"], check=True)
        subprocess.run([*git, "rm", "-q", "sample.bin"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "drop sample data"], check=True)
        # Named .venv, the name docker init's .dockerignore knows, so no peer pays for a folder's name.
        subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True)
        return folder

    def foreign_folder(self, source: Path, name: str, dockerfile: str, dev_server: bool) -> Path:
        """Copy layercake's folder without its Docker files and gunicorn settings, for another image's own."""
        folder = self.work / name.replace(" ", "-")
        shutil.copytree(source, folder, symlinks=True)
        for own in (".dockerignore", "gunicorn.conf.py"):
            (folder / own).unlink()
        (folder / "Dockerfile").write_text(dockerfile.replace("5000", str(APP_PORT)))
        if dev_server:
            app = folder / "app.py"
            text = app.read_text()
            main = NAIVE_MAIN.replace("5000", str(APP_PORT))
            app.write_text(text.split('\nif __name__ == "__main__":')[0].rstrip() + main)
        return folder

    def naive_folder(self, source: Path) -> Path:
        return self.foreign_folder(source, "naive", NAIVE_DOCKERFILE.format(base=BASE_IMAGE), dev_server=True)

    def cache_id(self, variant: str) -> str:
        return f"layercake-bench-{self.run_id}-{variant.replace(' ', '-')}"

    def peer_folder(self, source: Path, name: str) -> Path:
        """A peer's folder: its Dockerfile (with a pip cache of this run's own) and its .dockerignore, if it has one."""
        stem = name.replace(" ", "-")
        dockerfile = (PEERS / f"{stem}.Dockerfile").read_text()
        dockerfile = dockerfile.replace("--mount=type=cache,", f"--mount=type=cache,id={self.cache_id(name)},")
        folder = self.foreign_folder(source, name, dockerfile, PEER_DEV_SERVER[name])
        if (PEERS / f"{stem}.dockerignore").exists():
            shutil.copy(PEERS / f"{stem}.dockerignore", folder / ".dockerignore")
        return folder

    def tag(self, variant: str) -> str:
        return f"layercake-bench-{self.run_id}:{variant.replace(' ', '-')}"

    def build(self, folder: Path, variant: str, nocache: bool, base: str = BASE_IMAGE):
        built = build(self.client, folder, self.tag(variant), base, nocache=nocache)
        self.image_ids.add(built.image.id)
        return built

    def cold_build(self, folder: Path, variant: str):
        """Build with no layer cache and an empty pip cache mount (`--no-cache` keeps cache mounts)."""
        remove_cache_mounts(self.cache_id(variant))
        return self.build(folder, variant, nocache=True)

    def builds(self, folders: dict[str, Path]) -> dict[str, dict]:
        """Time cold builds, rebuilds after a one-line app.py change and after one more dependency; size each image.
        Each round builds every variant in turn, so a slow spell of the machine hits them all alike."""
        timed = {variant: {"cold": [], "rebuild": [], "dependency": []} for variant in folders}
        for _ in range(self.runs):
            for variant, folder in folders.items():
                timed[variant]["cold"].append(self.cold_build(folder, variant))
        for run in range(self.runs):
            for variant, folder in folders.items():
                with (folder / "app.py").open("a") as app:
                    app.write(f"# edit {run}\n")
                timed[variant]["rebuild"].append(self.build(folder, variant, nocache=False).seconds)
        images = {variant: self.client.images.get(self.tag(variant)) for variant in folders}
        requirements = {variant: (folder / "requirements.txt").read_text() for variant, folder in folders.items()}
        for _ in range(self.runs):
            for variant, folder in folders.items():
                (folder / "requirements.txt").write_text(requirements[variant])
                self.build(folder, variant, nocache=False)  # back to the lock, from the layer cache
                add_dependency(folder)
                timed[variant]["dependency"].append(self.build(folder, variant, nocache=False).seconds)
        base = self.client.images.get(BASE_IMAGE).attrs["Size"]
        figures = {}
        for variant, folder in folders.items():
            (folder / "requirements.txt").write_text(requirements[variant])
            self.build(folder, variant, nocache=False)
            image = images[variant].attrs
            figures[variant] = {
                "cold_build_s": summary([built.seconds for built in timed[variant]["cold"]]),
                "rebuild_s": summary(timed[variant]["rebuild"]),
                "dependency_rebuild_s": summary(timed[variant]["dependency"]),
                "context_bytes": timed[variant]["cold"][0].context_bytes,
                "image_bytes": image["Size"],
                "overhead_bytes": image["Size"] - base,
                "user": image["Config"]["User"] or "root",
                "command": image["Config"]["Cmd"],
            }
        return figures

    def start(self, variant: str, **env: str):
        """Run the image at 127.0.0.1 only; return the container, its port and the seconds to the first 200."""
        port = free_port()
        started = time.perf_counter()
        container = self.client.containers.run(
            self.tag(variant),
            detach=True,
            environment=env,
            labels=self.label,
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

    def lifecycles(self, variants: tuple[str, ...]) -> dict[str, dict]:
        """Time docker run to the first 200, then docker stop, over fresh containers, every variant in turn."""
        timed = {variant: {"start": [], "stop": [], "exit_codes": []} for variant in variants}
        for _ in range(self.runs):
            for variant in variants:
                container, _, seconds = self.start(variant)
                timed[variant]["start"].append(seconds)
                stopping = time.perf_counter()
                container.stop(timeout=STOP_TIMEOUT_S)
                timed[variant]["stop"].append(time.perf_counter() - stopping)
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

    def runtime_rules(self, folder: Path, variant: str) -> dict[str, bool]:
        """Judge the CIS rules on a running container, run as its project runs it: layercake by its compose files,
        the others by `docker run` with only a loopback port, which is all their compose files add."""
        image = self.client.images.get(self.tag(variant))
        if variant != "layercake":
            container, _, _ = self.start(variant)
            try:
                return judge(container.attrs, image.attrs)
            finally:
                container.remove(force=True)
        with ComposeProject(Project(folder), f"layercake-bench-{self.run_id}", free_port()) as stack:
            return judge(stack.web(self.client).attrs, image.attrs)

    def other_base(self, folder: Path, name: str, base: str) -> dict:
        """Build layercake on another base image that is already here, and size and start it."""
        built = self.build(folder, name, nocache=True, base=base)
        container, _, seconds = self.start(name)
        container.remove(force=True)
        return {
            "base_image": base,
            "available": True,
            "cold_build_s": round(built.seconds, 4),
            "image_bytes": built.image.attrs["Size"],
            "overhead_bytes": built.image.attrs["Size"] - self.client.images.get(base).attrs["Size"],
            "start_s": round(seconds, 4),
        }

    def load_round(self, server: str, variant: str, **env: str) -> dict[tuple, dict]:
        """Drive a fresh container with wrk at each concurrency on each path, for a fixed time each."""
        container, port, _ = self.start(variant, **env)
        cells = {}
        try:
            run_wrk(port, [CONTRACT.probe.path], 8, 1)  # warm-up, not recorded
            for path in PATHS:
                for connections in CONCURRENCY:
                    self.log(f"load: {server} {path} c={connections} for {self.load_s} s")
                    cpu_before = cpu_seconds(container)
                    result = run_wrk(port, [path], connections, self.load_s)
                    result["cpu_s"] = round(cpu_seconds(container) - cpu_before, 4)
                    result["requests_per_cpu_s"] = round(result["requests"] / result["cpu_s"], 1)
                    cells[server, path, connections] = {key: result[key] for key in LOAD_FIGURES}
        finally:
            container.remove(force=True)
        return cells

    def load(self) -> list[dict]:
        """Load every server in turn, round after round, so a slow spell of the machine hits them all alike."""
        rounds = []
        for number in range(self.load_runs):
            self.log(f"load round {number + 1} of {self.load_runs}")
            cells = {}
            for server, (variant, env) in SERVERS.items():
                cells |= self.load_round(server, variant, **env)
            rounds.append(cells)
        cells = []
        for server, path, connections in rounds[0]:
            runs = [cells_of_round[server, path, connections] for cells_of_round in rounds]
            cells.append(
                {
                    "server": server,
                    "path": path,
                    "connections": connections,
                    "requests_per_s": statistics.median(run["requests_per_s"] for run in runs),
                    "requests_per_cpu_s": statistics.median(run["requests_per_cpu_s"] for run in runs),
                    "p50_ms": statistics.median(run["p50_ms"] for run in runs),
                    "p99_ms": statistics.median(run["p99_ms"] for run in runs),
                    "errors": sum(run["errors"] for run in runs),
                    "non_2xx": sum(run["non_2xx"] for run in runs),
                    "runs": runs,
                }
            )
        return cells

    def cleanup(self) -> None:
        remove_cache_mounts(f"layercake-bench-{self.run_id}")
        for container in self.client.containers.list(all=True, filters={"label": f"layercake.bench={self.run_id}"}):
            container.remove(force=True)
        for image_id in self.image_ids:
            try:
                self.client.images.remove(image_id, force=True)
            except docker.errors.ImageNotFound:
                pass


def cpu_seconds(container) -> float:
    """Return the CPU time the container's processes have used so far, from its cgroup (as `docker stats` reads it)."""
    return container.stats(stream=False, one_shot=True)["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 4), "runs": [round(value, 4) for value in values]}


def figure(results: dict, variant: str, key: str) -> float:
    if key == "hello_c8_rps":
        server = {"naive": "dev server"}.get(variant, variant)
        (cell,) = [
            c
            for c in results["load"]
            if c["server"] == server and c["path"] == CONTRACT.probe.path and c["connections"] == 8
        ]
        return cell["requests_per_s"]
    value = results["variants"][variant][key]
    return value["median"] if isinstance(value, dict) else value


def goals(results: dict) -> list[dict]:
    """Compare layercake with its baseline on each goal, from the figures of this run."""
    checked = []
    for name, (what, key, baseline, bound, kind) in GOALS.items():
        ours = figure(results, "layercake", key)
        theirs = figure(results, "naive", key)
        ratio = ours / theirs
        checked.append(
            {
                "name": name,
                "what": what,
                "baseline": baseline,
                "layercake": ours,
                "other": theirs,
                "ratio": float(f"{ratio:.4g}"),  # significant digits: the context ratio is far below 1e-4
                "bound": bound,
                "kind": kind,
                "met": ratio <= bound if kind == "max" else ratio >= bound,
            }
        )
    return checked


def behind(results: dict) -> list[dict]:
    """Every figure on which a peer beats layercake by more than a tie, and every CIS rule a peer holds and it not."""
    ours = results["variants"]["layercake"]
    found = []
    for peer in PEER_DEV_SERVER:
        theirs = results["variants"][peer]
        for key in COMPARED:
            a, b = (figure(results, "layercake", key), figure(results, peer, key))
            if a > b * (1 + TIE):
                found.append(
                    {"peer": peer, "figure": key, "layercake": a, "other": b, "why": REFUSED.get((peer, key), "")}
                )
        for rule, held in theirs["cis"].items():
            if held and not ours["cis"][rule]:
                found.append({"peer": peer, "figure": f"CIS {rule}", "layercake": 0, "other": 1, "why": ""})
    return found


def machine(client: docker.DockerClient) -> dict:
    """The run report's machine (CPUs, memory, Docker), with the OS and the base image the bench built from."""
    base = client.images.get(BASE_IMAGE)
    return report_machine() | {
        "os": platform.platform(),
        "base_image": BASE_IMAGE,
        "base_image_description": (base.attrs["Config"].get("Labels") or {}).get(
            "org.opencontainers.image.description", ""
        ),
        "base_bytes": base.attrs["Size"],
    }


def run(client: docker.DockerClient, quick: bool) -> dict:
    runs, load_runs, load_s = (1, 1, 2) if quick else (5, 3, 5)
    with tempfile.TemporaryDirectory(prefix="layercake-bench-") as work:
        bench = Bench(client, runs, load_runs, load_s, Path(work))
        try:
            bench.log(f"base image {BASE_IMAGE}; {runs} run(s) each; {load_runs} load round(s) of {load_s} s per cell")
            ours = bench.working_folder("layercake")
            folders = {"naive": bench.naive_folder(ours)}
            folders |= {peer: bench.peer_folder(ours, peer) for peer in PEER_DEV_SERVER}
            folders["layercake"] = ours
            bench.log(f"building {', '.join(VARIANTS)}, in turn")
            variants = bench.builds({variant: folders[variant] for variant in VARIANTS})
            bench.log("starting and stopping each, in turn")
            for variant, figures in bench.lifecycles(VARIANTS).items():
                variants[variant] |= figures
            for variant in VARIANTS:
                bench.log(f"judging the runtime of {variant}")
                variants[variant]["cis"] = bench.runtime_rules(folders[variant], variant)
            other_bases = {}
            for name, base in OTHER_BASES.items():
                if base == BASE_IMAGE:
                    continue
                try:
                    client.images.get(base)
                except docker.errors.ImageNotFound:
                    other_bases[name] = {"base_image": base, "available": False}
                    continue
                other_bases[name] = bench.other_base(ours, name, base)
            load = bench.load()
        finally:
            bench.cleanup()
    results = {
        "schema_version": SCHEMA_VERSION,
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "runs": runs,
        "load_runs": load_runs,
        "load_seconds": load_s,
        "machine": machine(client),
        "variants": variants,
        "other_bases": other_bases,
        "load": load,
    }
    results["goals"] = goals(results)
    results["behind"] = behind(results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run of each and 2 s load cells, for CI")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="folder for latest.{json,md,png}")
    parser.add_argument(
        "--redraw", action="store_true", help="measure nothing: recompute the verdicts of --out/latest.json and redraw"
    )
    args = parser.parse_args()
    if args.redraw:
        results = json.loads((args.out / "latest.json").read_text())
        results["goals"], results["behind"] = goals(results), behind(results)
    else:
        results = run(docker.from_env(), args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (args.out / "latest.md").write_text(table)
    draw(results, args.out / "latest.png")
    print(table)
    print(f"written to {args.out}/latest.json, latest.md and latest.png", file=sys.stderr)


if __name__ == "__main__":
    main()
