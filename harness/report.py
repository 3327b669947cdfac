"""The figures the checks measured: printed at the end of the run and written to build/report.json."""

import json
from pathlib import Path

import pytest

FIGURES = pytest.StashKey[dict]()


def write(terminalreporter, figures: dict, base_image: str, out: Path) -> None:
    """Print the figures under a section of pytest's summary, and keep them in out as JSON."""
    terminalreporter.section("layercake report")
    terminalreporter.write_line(f"base image: {base_image}")
    for name, value in figures.items():
        if isinstance(value, dict):
            terminalreporter.write_line(name)
            for key, item in value.items():
                terminalreporter.write_line(f"  {key:<38} {item}")
        else:
            terminalreporter.write_line(f"{name:<40} {value}")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"base_image": base_image, "figures": figures}, indent=2) + "\n")
    terminalreporter.write_line(f"written to {out}")
