"""The harness, the pytest plugin pytest-layercake: generic proofs of Docker practices, run against a
Flask-and-gunicorn image.

A project needs, at its root, a Dockerfile, docker-compose.yml (plus docker-compose.override.yml, which publishes the app's port
on 127.0.0.1) and layercake.toml, the app contract that contract.py reads. Install the plugin's wheel beside the
pinned test libraries (requirements-dev.txt), with the tools in a venv of their own (requirements-tools.txt, found by
tools.py), and `pytest` there does the rest: the `pytest11` entry point loads
plugin.py, which registers its markers (docker, slow, swarm) and adds the checks in checks/ to a run that names no
paths. A project that keeps this folder in its tree (as the template does) loads it with
`pytest_plugins = ["pytest_layercake.plugin"]` in conftest.py instead, and needs no wheel.

`pytest` builds the image once and runs every check against it; checks of an optional part (deploy/k8s/) skip with
a reason when that part is absent. What the checks take for granted, as the template has it: an `ARG
BASE_IMAGE=<pinned tag>` that FROM uses, a `pip install --require-hashes` step after `COPY requirements.txt` (a hash
lock; `cyclonedx-bom` in the tools' venv names the SBOM generator's version), a WORKDIR that holds the app, the OCI labels
(BUILDX_GIT_LABELS for the git ones), gunicorn as PID 1 with python in the image, a HEALTHCHECK, and one compose
service named `web`. Inside: contract.py and project.py (what is checked), build.py, containers.py, http.py, load.py,
layers.py, supply.py, reproduce.py, tools.py (how), budgets.py (every limit, with its reason), report.py (the figures), plugin.py (the
fixtures), checks/ (the proofs).
"""

import os

# testcontainers reads these at import time. Containers are removed by the fixtures' `with` blocks, so the Ryuk
# reaper (an image pulled from a registry) is not needed; published ports are bound to 127.0.0.1, the host to reach.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
os.environ.setdefault("TC_HOST", "127.0.0.1")
