# shopstack: every target sets up what it needs on a fresh machine by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup web chromium run test test-e2e test-unit test-infra test-integration reliability synth lint bench lock clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## web: the storefront in web/dist/ (esbuild; rebuilt only when a source under web/ changed)
WEB_STAMP := web/dist/.built
WEB_SOURCES := web/build.mjs $(shell find web/storefront web/console web/shared web/public -type f 2>/dev/null)
web: $(WEB_STAMP)

$(WEB_STAMP): $(NODE_STAMP) $(WEB_SOURCES)
	node web/build.mjs
	touch $@

## chromium: Debian's Chromium for the browser tests (Playwright's own browser download is not used)
chromium:
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get update && $$sudo apt-get install -y chromium; }

## run: the whole stack on http://127.0.0.1:3000 with the demo catalog
run: setup web
	$(BIN)/python -m shopstack up --seed demo

## test: every test suite (unit, local cloud, infra, browser, integration, security, reliability at
## a small setting); the infra suite synthesizes on both cores (its tests share no state), the suites
## that start no shared local cloud (unit, local cloud, Stripe emulator: each test on its own ports
## and directories) run on both cores too; the browser, integration and security suites run on two
## workers, each with a local cloud of its own (a module stays on one worker); the reliability suite
## last, alone, as it measures memory and load
test: setup web chromium
	$(BIN)/python -m pytest -n 2 tests/infra
	$(BIN)/python -m pytest -n 2 tests/unit tests/localcloud tests/stripe_emulator
	$(BIN)/python -m pytest -n 2 --dist loadfile tests/e2e tests/integration tests/security --durations=25
	$(BIN)/python -m pytest tests/reliability --durations=10

## test-e2e: the browser tests (tests/e2e: Playwright driving Chromium against the local cloud)
test-e2e: setup web chromium
	$(BIN)/python -m pytest tests/e2e --durations=10

test-unit: setup
	$(BIN)/python -m pytest tests/unit

test-infra: setup
	$(BIN)/python -m pytest tests/infra

test-integration: setup
	$(BIN)/python -m pytest tests/integration

## reliability: the reliability suite at full size (200 orders through the memory budget, a 150-order
## lifecycle battery, restarts after SIGTERM and SIGKILL, 50 concurrent buyers)
reliability: setup
	SHOPSTACK_MEMORY_ORDERS=200 $(BIN)/python -m pytest -s tests/reliability

## synth: the deployable CloudFormation templates in cdk.out/ (bundles the shared layer; builds the
## apidocs function's static OpenAPI document and Swagger page into functions/apidocs/generated/)
synth: setup
	node_modules/.bin/cdk synth --no-notices --quiet
	@ls cdk.out/*.template.json

## lint: ruff, mypy and the architecture rules (import-linter contracts in .importlinter)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions layers/shared/python/commerce shopstack infra bench tests/unit
	PYTHONPATH=functions:layers/shared/python:. $(BIN)/lint-imports

## bench: benchmarks that print ratios against a baseline measured in the same run
bench: setup
	$(BIN)/python -m bench

## lock: re-resolve requirements.lock from pyproject.toml
lock:
	$(PYTHON) -m venv /tmp/shopstack-lock && /tmp/shopstack-lock/bin/pip install --quiet ".[dev]"
	/tmp/shopstack-lock/bin/pip freeze --exclude-editable | grep -v '^shopstack' > requirements.lock

clean:
	rm -rf .shopstack cdk.out .pytest_cache .mypy_cache .ruff_cache .import_linter_cache functions/apidocs/generated
