"""Benchmark layercake against the guide's first attempt and two peers, built from the same base image; write results.

bench/config.py says what is compared and with what, images.py builds the images, lifecycle.py starts and stops their
containers, load.py drives them with wrk; this module runs them in turn and judges the figures.
"""

import argparse
import datetime
import json
import platform
import sys
import tempfile
from pathlib import Path

import docker

from bench.config import (
    BASE_IMAGE,
    COMPARED,
    COMPARED_MORE,
    CONTRACT,
    GOALS,
    OTHER_BASES,
    PEER_DEV_SERVER,
    REFUSED,
    ROOT,
    SCHEMA_VERSION,
    SERVER_OF,
    TIE,
    VARIANTS,
    log,
)
from bench.images import Images
from bench.lifecycle import lifecycles, runtime_rules, start, start_breakdown
from bench.load import load
from bench.tables import draw, markdown
from pytest_layercake.report import machine as report_machine


def figure(results: dict, variant: str, key: str) -> float:
    if key == "probe_c8_rps":
        (cell,) = [
            c
            for c in results["load"]
            if c["server"] == SERVER_OF[variant] and c["path"] == CONTRACT.probe.path and c["connections"] == 8
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
        for key in COMPARED + COMPARED_MORE:
            a, b = (figure(results, "layercake", key), figure(results, peer, key))
            if (a > b * (1 + TIE)) if key in COMPARED else (b > a * (1 + TIE)):
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


def other_base(images: Images, folder: Path, name: str, base: str) -> dict:
    """Build layercake on another base image that is already here, and size and start it."""
    built = images.build(folder, name, nocache=True, base=base)
    container, _, seconds = start(images, name)
    container.remove(force=True)
    return {
        "base_image": base,
        "available": True,
        "cold_build_s": round(built.seconds, 4),
        "image_bytes": built.image.attrs["Size"],
        "overhead_bytes": built.image.attrs["Size"] - images.client.images.get(base).attrs["Size"],
        "start_s": round(seconds, 4),
    }


def run(client: docker.DockerClient, quick: bool) -> dict:
    runs, load_runs, load_s = (1, 1, 1) if quick else (5, 3, 5)
    with tempfile.TemporaryDirectory(prefix="layercake-bench-") as work:
        images = Images(client, runs, Path(work))
        try:
            log(f"base image {BASE_IMAGE}; {runs} run(s) each; {load_runs} load round(s) of {load_s} s per cell")
            ours = images.working_folder("layercake")
            folders = {"naive": images.naive_folder(ours)}
            folders |= {peer: images.peer_folder(ours, peer) for peer in PEER_DEV_SERVER}
            folders["layercake"] = ours
            log(f"building {', '.join(VARIANTS)}, in turn")
            variants = images.builds({variant: folders[variant] for variant in VARIANTS})
            log("starting and stopping each, in turn")
            for variant, figures in lifecycles(images, VARIANTS).items():
                variants[variant] |= figures
            log("where layercake's start goes")
            breakdown = start_breakdown(images, ours, load_s)
            for variant in VARIANTS:
                log(f"judging the runtime of {variant}")
                variants[variant]["cis"] = runtime_rules(images, folders[variant], variant)
            other_bases = {}
            for name, base in OTHER_BASES.items():
                if base == BASE_IMAGE:
                    continue
                try:
                    client.images.get(base)
                except docker.errors.ImageNotFound:
                    other_bases[name] = {"base_image": base, "available": False}
                    continue
                other_bases[name] = other_base(images, ours, name, base)
            load_cells = load(images, load_runs, load_s)
        finally:
            images.cleanup()
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
        "start_breakdown": breakdown,
        "load": load_cells,
    }
    results["goals"] = goals(results)
    results["behind"] = behind(results)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run of each and 1 s load cells, for CI")
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
