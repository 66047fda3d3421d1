# Threadly — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
PIP_FLAGS := --quiet --disable-pip-version-check
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help run test screenshots lint format audit migrate seed shell clean lock image pitr-rehearsal

help:
	@echo "make run    serve Threadly with demo data on http://127.0.0.1:8000"
	@echo "make test   run the whole test suite (PostgreSQL + Redis when reachable)"
	@echo "make lint   ruff check + format check + the import contract (pyproject.toml);  make screenshots  refresh docs/screenshots"
	@echo "make cluster  the production topology on 127.0.0.1 (docs/scaling.md);  make cluster-check  its failure rehearsal;  make cluster-down"

$(PY):
	@PY_BIN=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$PY_BIN"; \
	"$$PY_BIN" -m venv $(VENV)

$(VENV)/.installed: requirements.lock | $(PY)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements.lock 2>&1 | grep -v "is ignored: it is neither" || true
	@$(PY) -c "import django" && touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed
	$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.lock 2>&1 | grep -v "is ignored: it is neither" || true
	@$(PY) -c "import pytest" && touch $@

run: $(VENV)/.installed
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo
	@echo "Threadly is at http://127.0.0.1:8000  (demo logins are in README.md; Ctrl-C stops it)"
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed-dev
	@$(PY) scripts/run_tests.py $(ARGS)

screenshots: $(VENV)/.installed-dev
	UPDATE_SCREENSHOTS=1 $(PY) scripts/run_tests.py -m browser tests/browser

# `make bench`: every page under load on a 100 000-listing PostgreSQL catalogue with gunicorn in
# production mode, plus a mixed locust scenario; prints a table and writes bench/results.json.
# Needs PostgreSQL and Redis on 127.0.0.1 and Debian's `hey`; about 15-25 minutes the first time.
.PHONY: bench
bench: $(VENV)/.installed .venv-bench/.installed
	@command -v hey >/dev/null || { echo "bench needs hey: apt-get install hey"; exit 1; }
	$(PY) bench/run.py $(ARGS)

.venv-bench/.installed: requirements-bench.txt
	@PY_BIN=$$(scripts/find-python) || exit 1; "$$PY_BIN" -m venv .venv-bench
	.venv-bench/bin/python -m pip install $(PIP_FLAGS) -r requirements-bench.txt
	@touch $@

# Worst-case photo upload: seconds and peak MB per case (a minute or two; not part of `make test`).
.PHONY: bench-photos
bench-photos: $(VENV)/.installed
	DEBUG=1 $(PY) bench/photo_upload.py $(ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Lighthouse (mobile) on home, search and a listing of a production-like local server with demo
# data; prints the scores and what cost points (a few minutes; Lighthouse from npm, outside the
# repo: see scripts/lighthouse). Not part of `make test`.
.PHONY: lighthouse
lighthouse: $(VENV)/.installed
	$(PY) scripts/lighthouse $(ARGS)

# Known vulnerabilities in the locked dependencies (needs the PyPI advisory service online).
audit: $(VENV)/.installed-dev
	$(PY) -m pip install $(PIP_FLAGS) pip-audit
	$(VENV)/bin/pip-audit --strict --no-deps --disable-pip -r requirements-dev.lock

# Point-in-time recovery rehearsal on a throwaway PostgreSQL cluster (docs/operations.md).
# As root it runs PostgreSQL as the `postgres` user; it never touches the server on 5432.
pitr-rehearsal:
	scripts/pitr-rehearsal

# A local rehearsal of the production topology (docs/scaling.md): nginx :8080 over two gunicorn
# hosts, PostgreSQL primary + streaming replica, Redis, two workers and the scheduler, all on
# 127.0.0.1 with state in .cluster/. cluster-check kills an app host and the replica under load
# (a few minutes); cluster-down stops everything. Not part of `make test`.
.PHONY: cluster cluster-down cluster-check cluster-bench
cluster: $(VENV)/.installed
	$(PY) scripts/cluster.py up

cluster-down:
	$(PY) scripts/cluster.py down $(ARGS)

cluster-check: $(VENV)/.installed
	$(PY) scripts/cluster_check.py

# `make bench` driving the running cluster through nginx (no seeding, no gunicorn of its own).
cluster-bench: $(VENV)/.installed .venv-bench/.installed
	@command -v hey >/dev/null || { echo "bench needs hey: apt-get install hey"; exit 1; }
	$(PY) bench/run.py --target http://127.0.0.1:8080 --target-env .cluster/app.env $(ARGS)

migrate: $(VENV)/.installed
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate

seed: $(VENV)/.installed
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo

shell: $(VENV)/.installed
	DEBUG=$${DEBUG:-1} $(PY) manage.py shell

lock:
	uv pip compile pyproject.toml --python-version 3.12 --universal -o requirements.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.12 --universal -o requirements-dev.lock

# A container image tagged with the release version (needs a Docker daemon).
image:
	THREADLY_VERSION=$$(git describe --tags --always --dirty) docker compose build
	@echo "Built threadly:$$(git describe --tags --always --dirty)"

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles .pytest_cache
