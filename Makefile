# Crocevia: `make up` runs the development network, `make test` runs every test.
# Both install uv when it is missing, then the locked environment.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# Test processes in parallel; each test file stays on one worker (they start real servers).
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
# Extra options for `crocevia up`, e.g. UP_ARGS="--base-port 19000".
UP_ARGS ?=
# `make up DEMO_SEED=no` (or DEMO_SEED=no in the environment): a new data directory stays empty
# instead of getting the fictional demo households.
DEMO_SEED ?= yes
# Which benchmark and its options, e.g. BENCH="network --quick"; empty: every benchmark.
BENCH ?=
# The fault suite's long run: its seeds, and how many times each fault is injected per seed.
FAULT_SEEDS ?= 1 2 3
FAULT_ROUNDS ?= 2
FAULT_DATABASES ?= sqlite postgresql
FAULT_NATS ?= server cluster

# uv on PATH, else where `pip install --user` puts it, else as a module of $(PYTHON).
# Expanded when a recipe runs, so after the `uv` target has installed it.
UV = $(shell command -v uv 2>/dev/null \
	|| { p="$$($(PYTHON) -m site --user-base 2>/dev/null)/bin/uv"; [ -x "$$p" ] && echo "$$p"; } \
	|| echo "$(PYTHON) -m uv")

# mypy --strict: the contracts, the shared package, the launcher, the three services and the witness, whole.
STRICT_TYPED := contracts/src/crocevia_contracts common/src/crocevia_common src/crocevia \
	services/referrals/src/crocevia_referrals \
	services/notifications/src/crocevia_notifications \
	services/audit/src/crocevia_audit \
	services/witness/src/crocevia_witness

# Debian's Chromium, which the browser tests drive (Playwright never downloads a browser).
CHROMIUM := /usr/bin/chromium
# The OpenID provider the single sign-on tests start: panva's oidc-provider, run with Node.js.
OIDC_KIT := tests/kit/oidc

.PHONY: help uv sync browser oidc-provider up test lint schemas screenshots bench faults clean

help:
	@echo "make up       run NATS, a referrals node per demo agency, notifications and audit"
	@echo "make test     run the whole test suite (PYTEST_WORKERS=$(PYTEST_WORKERS))"
	@echo "make browser  install Debian's chromium for the browser tests, if it is missing"
	@echo "make oidc-provider  install Node.js and the OpenID provider for the single sign-on tests, if missing"
	@echo "make lint     ruff check, ruff format --check, mypy --strict"
	@echo "make schemas  export the JSON Schemas of the contracts"
	@echo "make screenshots  refresh docs/screenshots from the browser tests"
	@echo "make bench    run the benchmarks (BENCH=\"network --quick\": one, with its options)"
	@echo "make faults   the fault suite over FAULT_SEEDS=\"$(FAULT_SEEDS)\", counts in bench/results/faults.txt"
	@echo "make clean    remove .data and caches"

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || { \
		echo "uv not found: installing it with $(PYTHON) -m pip install --user uv"; \
		$(PYTHON) -m pip install --user --quiet uv \
		|| $(PYTHON) -m pip install --user --quiet --break-system-packages uv; \
		echo "uv is in $$($(PYTHON) -m site --user-base)/bin: add it to PATH to run the README's uv commands"; }

# Bytecode is compiled once here: with PYTHONDONTWRITEBYTECODE set, as on many CI machines,
# every service process would otherwise compile each module it imports, each time it starts.
sync: uv
	$(UV) sync --locked --compile-bytecode --quiet
	$(UV) run --no-sync python -m compileall -q -j 0 contracts/src common/src src services tests bench >/dev/null

browser:
	@test -x $(CHROMIUM) || { \
		echo "$(CHROMIUM) not found: installing Debian's chromium for the browser tests"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update && $$sudo apt-get install -y chromium; }

oidc-provider:
	@{ command -v node && command -v npm; } >/dev/null 2>&1 || { \
		echo "node or npm not found: installing Debian's nodejs and npm for the single sign-on tests"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update && $$sudo apt-get install -y nodejs npm; }
	@test $(OIDC_KIT)/node_modules/.package-lock.json -nt $(OIDC_KIT)/package-lock.json || { \
		echo "installing the OpenID provider for the tests in $(OIDC_KIT)"; \
		cd $(OIDC_KIT) && npm ci --no-audit --no-fund --loglevel=error; }

up: sync
	$(UV) run crocevia up $(if $(filter no,$(DEMO_SEED)),--no-seed) $(UP_ARGS)

test: sync browser oidc-provider
	$(UV) run pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy --strict $(STRICT_TYPED)

schemas: sync
	$(UV) run python -m crocevia_contracts.schemas
	$(UV) run python -m crocevia_contracts.asyncapi

screenshots: sync browser
	CROCEVIA_REFRESH_SCREENSHOTS=1 $(UV) run pytest -n 0 tests/browser/test_referral_journey.py \
		tests/browser/test_household_pathway.py

bench: sync
	@test -f bench/__main__.py || { echo "make bench: bench/__main__.py is missing" >&2; exit 1; }
	$(UV) run python -m bench $(BENCH)

faults: sync
	$(UV) run python -m tests.faults --seeds $(FAULT_SEEDS) --rounds $(FAULT_ROUNDS) \
		--databases $(FAULT_DATABASES) --nats $(FAULT_NATS) --output bench/results/faults.txt

clean:
	rm -rf .data .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './.venv/*' -prune -exec rm -rf {} +
