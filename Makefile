# Entry points. Each target creates .venv on first use with the newest Python 3.11+ it finds.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in e-mails point at the server make run starts, unless SITE_URL says otherwise.
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: help run test test-e2e lint format worker beat migrate seed bench bench-load clean

help:
	@echo "make run       serve the demo site on http://$(HOST):$(PORT) (SQLite, in-process tasks)"
	@echo "make test      run the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)"
	@echo "make test-e2e  real-browser tests (Debian's chromium)"
	@echo "make lint      ruff format --check and ruff check"
	@echo "make worker    a Celery worker (needs REDIS_URL)"
	@echo "make beat      Celery beat, the periodic jobs (needs REDIS_URL)"
	@echo "make bench     the evaluation scale benchmark, then disclosure control and what a lead reads at 50-5,000 groups (needs DATABASE_URL to a scratch PostgreSQL database)"
	@echo "make bench-load  50 people at once against gunicorn + PostgreSQL + Redis + a worker (locust; DATABASE_URL, REDIS_URL)"

$(VENV)/.installed: requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11, python3.12 or python3.13 on PATH)."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	SITE_URL="$(SITE_URL)" $(PY) manage.py migrate --noinput

seed: migrate
	SITE_URL="$(SITE_URL)" $(PY) manage.py seed_demo

run: seed
	@echo
	@echo "Serving on http://$(HOST):$(PORT)/  (stop with Ctrl-C)"
	SITE_URL="$(SITE_URL)" $(PY) manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-dev
	$(PY) -m pytest

test-e2e: $(VENV)/.installed-dev
	$(PY) -m pytest tests/e2e -m e2e

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

worker: $(VENV)/.installed
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0): without it tasks run in-process."; exit 1; }
	$(VENV)/bin/celery -A peersupport worker --loglevel=INFO

beat: $(VENV)/.installed
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0): without it tasks run in-process."; exit 1; }
	$(VENV)/bin/celery -A peersupport beat --loglevel=INFO

bench: $(VENV)/.installed-dev
	@test -n "$$DATABASE_URL" || { echo "make bench needs PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench make bench"; exit 1; }
	$(PY) -m benchmarks.evaluation $(BENCH_ARGS)
	$(PY) benchmarks/reads.py $(READS_ARGS)

bench-load: $(VENV)/.installed-dev
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "make bench-load needs PostgreSQL and Redis: DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load REDIS_URL=redis://127.0.0.1:6379/9 make bench-load"; exit 1; }
	$(PY) benchmarks/load/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
