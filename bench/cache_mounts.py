"""Decide pip's cache mount by measurement: today's Dockerfile against two BuildKit variants, built from the same base.

Each variant gets a cold build (no layer cache and an empty pip cache), a rebuild after a one-line app.py change, a
rebuild after one more dependency in requirements.txt, and its image size; median of --runs. Writes
cache-mounts.json and cache-mounts.md to --out.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import docker

from pytest_layercake.build import build, own_lineage
from pytest_layercake.containers import LABEL, RUN
from pytest_layercake.project import Project

ROOT = Path(__file__).resolve().parent.parent
PROJECT = Project(ROOT)
INSTALL = "RUN pip install --no-cache-dir"
# One more small, pure-Python package, pinned and with its wheel's hash, as a user adding a dependency would.
NEW_DEPENDENCY = "six==1.17.0"
NEW_DEPENDENCY_HASH = "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"


def add_dependency(folder: Path) -> None:
    """Add NEW_DEPENDENCY to the folder's requirements.txt, with its hash when the file is hash-locked, and a comment
    no other build had, so that BuildKit can't find the new layer in its cache from an earlier run."""
    requirements = folder / "requirements.txt"
    hashed = "--hash=" in requirements.read_text()
    line = NEW_DEPENDENCY + (f" --hash={NEW_DEPENDENCY_HASH}" if hashed else "") + f"  # added {uuid.uuid4().hex}"
    with requirements.open("a") as file:
        file.write(line + "\n")


def variants(dockerfile: str, cache_id: str) -> dict[str, str]:
    """Today's Dockerfile and the two ways to keep pip's cache between builds, each with its own cache."""
    assert INSTALL in dockerfile, f"the Dockerfile no longer has `{INSTALL}`: update bench/cache_mounts.py"
    cache = f"--mount=type=cache,id={cache_id},target=/root/.cache/pip"
    bind = "--mount=type=bind,source=requirements.txt,target=requirements.txt"
    return {
        "no pip cache (--no-cache-dir)": dockerfile,
        "cache mount": dockerfile.replace(INSTALL, f"RUN {cache} pip install"),
        "cache mount, requirements bound": dockerfile.replace("\nCOPY requirements.txt .\n", "\n").replace(
            INSTALL, f"RUN {cache} {bind} pip install"
        ),
    }


def remove_cache_mounts(marker: str) -> None:
    """Remove the pip caches this run made from BuildKit's cache, and no one else's."""
    listing = subprocess.run(["docker", "buildx", "du", "--verbose"], check=True, capture_output=True, text=True)
    record = None
    for line in listing.stdout.splitlines():
        if line.startswith("ID:"):
            record = line.split()[1]
        elif line.startswith("Description:") and marker in line and record:
            subprocess.run(
                ["docker", "buildx", "prune", "--force", "--filter", f"id={record}"], check=True, capture_output=True
            )


def measure(client: docker.DockerClient, runs: int, work: Path) -> dict:
    results = {}
    tag = f"layercake-cachemounts-{uuid.uuid4().hex[:8]}"
    try:
        for name in variants(PROJECT.dockerfile, "x"):
            figures = {"cold_build_s": [], "code_change_s": [], "dependency_change_s": [], "image_bytes": []}
            for run in range(runs):
                folder = PROJECT.copy(work / f"{len(results)}-{run}")
                # A pip cache and a layer cache of its own, so no run reuses another's builds.
                run_id = f"layercake-bench-{uuid.uuid4().hex}"
                dockerfile = own_lineage(variants(PROJECT.dockerfile, run_id)[name])
                lineage = {"LAYERCAKE_LINEAGE": run_id}
                print(f"cache mounts: {name}, run {run + 1} of {runs}", file=sys.stderr, flush=True)
                cold = build(client, folder, f"{tag}:{run}", PROJECT.base_image, True, dockerfile, lineage)
                figures["cold_build_s"].append(cold.seconds)
                figures["image_bytes"].append(cold.image.attrs["Size"])
                with (folder / "app.py").open("a") as app:
                    app.write("\n# a one-line change\n")
                figures["code_change_s"].append(
                    build(client, folder, f"{tag}:{run}", PROJECT.base_image, False, dockerfile, lineage).seconds
                )
                add_dependency(folder)
                figures["dependency_change_s"].append(
                    build(client, folder, f"{tag}:{run}", PROJECT.base_image, False, dockerfile, lineage).seconds
                )
            results[name] = {
                key: {"median": round(statistics.median(v), 3), "runs": [round(x, 3) for x in v]}
                for key, v in figures.items()
            }
    finally:
        # Every build of this run, the ones a rebuild untagged too.
        for image in client.images.list(filters={"label": f"{LABEL}={RUN}"}):
            client.images.remove(image.id, force=True)
        remove_cache_mounts("layercake-bench-")
    return results


def markdown(results: dict, runs: int) -> str:
    rows = [
        "| Dockerfile | cold build | rebuild after an app.py change | rebuild after one more dependency | image |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, figures in results.items():
        rows.append(
            f"| {name} | {figures['cold_build_s']['median']:.2f} s | {figures['code_change_s']['median']:.2f} s | "
            f"{figures['dependency_change_s']['median']:.2f} s | {figures['image_bytes']['median'] / 1e6:.1f} MB |"
        )
    return f"Median of {runs} runs each, BuildKit, base image `{PROJECT.base_image}`.\n\n" + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="layercake-cachemounts-") as work:
        results = measure(docker.from_env(), args.runs, Path(work))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cache-mounts.json").write_text(
        json.dumps({"runs": args.runs, "base_image": PROJECT.base_image, "variants": results}, indent=2) + "\n"
    )
    table = markdown(results, args.runs)
    (args.out / "cache-mounts.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
