# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run worker scheduler test test-browser lint format migrate demo messages lock vendor-bootstrap bench faults check-deploy clean

# Python and make are all `make setup` and `make run` need: no npm (README, "Dependencies").
setup: $(VENV)/.installed .env

# pip itself comes hash-pinned from requirements/pip.txt, written by `make lock` from this version.
PIP_VERSION := 26.3

$(VENV)/.installed: requirements/pip.txt requirements/dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/pip.txt
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	touch $@

# axe-core, which the browser tests load for their accessibility checks: the only npm package.
# Only the targets that run browser tests install it.
AXE := node_modules/.installed
$(AXE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the browser tests (axe-core); without them: make test PYTEST_ARGS=\"-m 'not browser'\""; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

.env:
	$(PYTHON) scripts/write_env.py .env

migrate: setup
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) seed_demo

run: demo
	@echo "Open http://$(HOST):$(PORT)/ – log in with any demo user above."
	$(MANAGE) runserver $(HOST):$(PORT)

# Background jobs (README, "Jobs"): the worker runs queued tasks, on any number of hosts; the
# scheduler enqueues the daily jobs (one per site: with Redis it elects itself among hosts).
# Daily jobs need no fast pick-up, so the worker looks for work every 5 s, not every second.
WORKER_ARGS ?= --interval 5

worker: setup
	$(MANAGE) db_worker $(WORKER_ARGS)

scheduler: setup
	$(MANAGE) crontask --no-heartbeat

# `make test PYTEST_ARGS="-m 'not browser'"` runs without npm.
test: setup $(if $(findstring not browser,$(PYTEST_ARGS)),,$(AXE))
	$(BIN)/pytest $(PYTEST_ARGS)

test-browser: setup $(AXE)
	$(BIN)/pytest -m browser tests/browser $(PYTEST_ARGS)

# Template folders djade checks; widen to `templates` once every template is formatted
# (and the djade hook's `files:` in .pre-commit-config.yaml with it).
DJADE_DIRS ?= templates
DJANGO_TARGET := 6.1

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	find . -name '*.py' -not -path './.venv/*' -not -path './node_modules/*' -not -path './.git/*' -print0 \
		| xargs -0 $(BIN)/django-upgrade --target-version $(DJANGO_TARGET) --check
	find $(DJADE_DIRS) -name '*.html' -print0 | xargs -0 $(BIN)/djade --target-version $(DJANGO_TARGET) --check
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: setup
	$(MANAGE) makemessages --locale de --locale en --no-obsolete --ignore '.venv/*' --ignore 'node_modules/*' --ignore 'tests/*' --ignore 'staticfiles/*' --ignore 'bench/*'
	$(MANAGE) compilemessages --ignore '.venv/*' --ignore 'node_modules/*'

# pyproject.toml's dependencies → requirements/base.txt, plus its dev group → dev.txt, with
# hashes. Pins already in the lock stay as they are; LOCK_ARGS=--upgrade (or
# "--upgrade-package NAME") moves them.
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.12 \
	--custom-compile-command "make lock" $(LOCK_ARGS)

lock: setup
	$(UV_COMPILE) pyproject.toml -o requirements/base.txt
	$(UV_COMPILE) pyproject.toml --group dev -c requirements/base.txt -o requirements/dev.txt
	echo "pip==$(PIP_VERSION)" | $(UV_COMPILE) - -o requirements/pip.txt

# Maintainers only: replace the committed Bootstrap stylesheet with release VERSION from npm.
vendor-bootstrap:
	@test -n "$(VERSION)" || { echo "usage: make vendor-bootstrap VERSION=X.Y.Z"; exit 2; }
	$(PYTHON) scripts/vendor_bootstrap.py $(VERSION)

bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

# Runs behind nginx like production; Debian's package is installed when missing.
faults: setup
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light && \
		 (service nginx stop >/dev/null 2>&1 || true))
	$(BIN)/python scripts/faults.py $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3
