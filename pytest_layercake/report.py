"""The figures the checks measured: printed at the end of the run and written to build/report.json."""

import datetime
import json
import os
import subprocess
from pathlib import Path

import pytest

from pytest_layercake import durations

FIGURES = pytest.StashKey[dict]()


def merge(into: dict, measured: dict) -> None:
    """Add a worker's figures to the run's; a figure several tests fill (a dict, such as the swarm's) is joined."""
    for name, value in measured.items():
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            into[name] |= value
        else:
            into[name] = value


def machine() -> dict:
    """What the figures were measured on."""
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], check=False, capture_output=True, text=True
    )
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(int(meminfo["MemTotal"].split()[0]) / 2**20, 1),
        "docker": docker.stdout.strip() or "unknown",
    }


def run_summary(terminalreporter, config) -> dict:
    """Which tests ran (the -m and -k selection) and how they ended, so a partial run is never taken for a full one."""
    counts = {
        outcome: len(terminalreporter.stats.get(outcome, [])) for outcome in ("passed", "failed", "skipped", "error")
    }
    paths = [] if config.args_source == pytest.Config.ArgsSource.TESTPATHS else config.args
    selection = " ".join(filter(None, [config.option.markexpr, config.option.keyword, *paths]))
    return {"selection": selection, **counts}


def write(
    terminalreporter, figures: dict, base_image: str, out: Path, run: dict, spent: dict, accepted: list[dict]
) -> None:
    """Print the figures, the app's declared exceptions and where the time went under a section of pytest's summary,
    and keep them in out as JSON, with the machine and the run they came from."""
    terminalreporter.section("layercake report")
    terminalreporter.write_line(f"base image: {base_image}")
    for entry in accepted:
        terminalreporter.write_line(f"accepted {entry['header']}: {entry['value']!r}, because {entry['reason']}")
    for name, value in figures.items():
        if isinstance(value, dict):
            terminalreporter.write_line(name)
            for key, item in value.items():
                terminalreporter.write_line(f"  {key:<38} {item}")
        else:
            terminalreporter.write_line(f"{name:<40} {value}")
    durations.write(terminalreporter, spent)
    out.parent.mkdir(exist_ok=True)
    document = {
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "base_image": base_image,
        "run": run,
        "figures": figures,
        "accepted": accepted,
        "durations": spent,
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    terminalreporter.write_line(f"written to {out}")
