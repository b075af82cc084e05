SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export XDG_RUNTIME_DIR ?= /tmp/dsr-kb-runtime-$(shell id -u)

.PHONY: help install run serve worker migrate data test lint audit format check stop superuser clean bench

help:
	@echo "make run        set up everything and serve the app with demo data on http://$(HOST):$(PORT)"
	@echo "make test       set up and run the whole test suite"
	@echo "make lint       ruff, Django checks, missing migrations"
	@echo "make audit      bandit over the code, pip-audit over the installed packages"
	@echo "make bench      generate 100,000 projects, load-test them against Datasette, write bench/RESULTS.md"
	@echo "make superuser  create an admin account"
	@echo "make stop       stop the embedded PostgreSQL server"
	@echo "make clean      remove the virtual environment and local data (.data/)"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
	@mkdir -p -m 700 $(XDG_RUNTIME_DIR)

migrate: install
	$(PY) manage.py migrate --noinput

data: migrate
	$(PY) manage.py load_reference_data
	$(PY) manage.py load_demo

# The worker runs in the background for as long as the web server does.
run: data
	@$(PY) -m celery -A dsr_kb worker --loglevel=INFO --concurrency=1 --queues=documents,datasets,celery --beat --schedule=.data/celerybeat-schedule & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	echo "Serving on http://$(HOST):$(PORT)/ (admin at /admin/, health at /healthz)"; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest

# The load driver is wrk (Debian's package); the benchmark database is dsr_bench on the server
# of DATABASE_URL, or on the embedded one. BENCH_ARGS passes options: see bench/run.py --help.
bench: install
	@command -v wrk >/dev/null || { \
		echo "Installing wrk, the load driver"; \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get install -y -qq wrk >/dev/null 2>&1 || { \
			$$sudo apt-get update -qq && $$sudo apt-get install -y -qq wrk >/dev/null; }; }
	$(PY) bench/run.py $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# Security scan of our code and known vulnerabilities of the dependencies (.ci/audit.py).
audit: install
	$(PY) .ci/audit.py

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

superuser: migrate
	$(PY) manage.py createsuperuser

stop: install
	$(PY) -m dsr_kb.embedded_db stop .data/postgres

clean: stop
	rm -rf $(VENV) .data
