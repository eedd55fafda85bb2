# The two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test test-browser lint format migrate demo messages lock bench faults check-deploy clean

setup: $(VENV)/.installed node_modules/.installed .env

$(VENV)/.installed: requirements/dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
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

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

test-browser: setup
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

lock: setup
	cd requirements && ../$(BIN)/uv pip compile --upgrade --generate-hashes --python-version 3.12 -q base.in -o base.txt
	cd requirements && ../$(BIN)/uv pip compile --upgrade --generate-hashes --python-version 3.12 -q dev.in -o dev.txt

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
