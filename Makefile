# OKRly. The two set-up commands in the README are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install oidc-provider run test lint format chromium migrate seed worker beat clean bench fuzz

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The real OpenID Connect provider the single sign-on tests start (tests/oidc_provider/):
# npm ci again only when its lock file changes.
OIDC_PROVIDER := tests/oidc_provider
$(OIDC_PROVIDER)/node_modules/.package-lock.json: $(OIDC_PROVIDER)/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20+ and npm are needed for the SSO tests' provider"; exit 1; }
	cd $(OIDC_PROVIDER) && npm ci --no-audit --no-fund
	touch $@

install: $(STAMP)

# Only the tests need Node.js: `make run` works without it.
oidc-provider: $(OIDC_PROVIDER)/node_modules/.package-lock.json

## The zero-setup app: SQLite, embedded Celery broker, real worker and beat, demo data.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/honcho -f Procfile.dev start

## The whole test suite (browser tests included; installs Debian's Chromium if missing).
test: install oidc-provider chromium
	$(BIN)/pytest $(PYTEST_ARGS)

## Every page against a trivial one, each request just after a check-in is written, over HTTP on
## gunicorn with a large seeded organisation; each figure with its bar, exit 1 on a miss.
## BENCH_ARGS="--scale 10" also seeds and measures a 10x organisation and compares the two.
## (recreates the PostgreSQL databases okrly_bench and okrly_bench_N; needs PostgreSQL and
## Redis on 127.0.0.1).
bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## schemathesis against a live server (gunicorn, a fresh SQLite demo, a leader's API token);
## reports every server error or answer that breaks the schema. FUZZ_ARGS="--max-examples 500".
fuzz: install
	$(BIN)/python -m tests.fuzz.run $(FUZZ_ARGS)

## ruff, mypy and the app graph's import contracts (pyproject.toml, docs/architecture.md);
## the graph builds in about a second, so lint-imports writes no cache into the work tree.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

chromium:
	@test -x /usr/bin/chromium || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }

clean:
	rm -rf var/broker var/celerybeat-schedule* var/test-okrly.sqlite3
