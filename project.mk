# This repository's own make targets, which a project made from the template never gets (copier.yml excludes this
# file); the Makefile includes it when it is here.
.PHONY: bench bench-quick bench-cache docs

bench: venv ## Measure layercake against the guide's first attempt; writes bench/results/ (about 12 min)
	$(VENV)/bin/python -m bench.run --out bench/results

bench-quick: venv ## The same, one run of each and 1 s of load per cell (as CI runs it); writes build/bench/
	$(VENV)/bin/python -m bench.run --quick --out build/bench

bench-cache: venv ## Measure pip's BuildKit cache mount against today's Dockerfile; writes bench/results/cache-mounts.*
	$(VENV)/bin/python -m bench.cache_mounts

docs: venv ## Write the lessons pages, the test figures and the benchmark tables in docs/ from their sources
	$(VENV)/bin/python -m docs.build
