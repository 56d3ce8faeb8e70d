# Teller. `make run` serves the demo; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# axe-core, the accessibility checker that the browser tests (tests/browser)
# run on every page, comes from npm (package.json, for that alone). It is
# copied into static/ so the live server serves it like any other script,
# which the strict Content-Security-Policy allows; it is not committed.
# Without npm the copy is skipped, and the browser tests say what is missing.
AXE := static/vendor/axe.min.js
AXE_NPM := node_modules/axe-core/axe.min.js

.PHONY: run test lint qa bench clean axe

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py load_demo
	@echo "Demo only: officials are not asked for a second factor (TELLER_REQUIRE_MFA_FOR_ROLES=0)."
	DEBUG=1 TELLER_REQUIRE_MFA_FOR_ROLES=0 TELLER_SWEEP_SECONDS=15 $(PY) manage.py devserver 127.0.0.1:8000

test: $(STAMP) $(AXE)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

axe: $(AXE)

$(AXE_NPM): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund && touch $@; \
	else echo "npm not found: the browser tests need axe-core (apt-get install npm)"; fi

$(AXE): $(AXE_NPM)
	@if [ -f $< ]; then mkdir -p $(@D) && cp $< $@ && echo "axe-core copied to $@"; fi

# The benchmarks (docs/benchmarks.md). Each starts what it needs (gunicorn, a Celery
# worker, SMTP sinks) against the PostgreSQL and Redis on 127.0.0.1, in a database of
# its own, prints its figures beside a reference measured in the same run, and writes
# bench/results/NAME.json; then the chart is drawn from those. One that fails does not stop
# the others (the leading "-"). About 15 minutes on 2 cores with nothing else running.
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_PG ?= postgres://postgres@127.0.0.1:5432

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	touch $@

bench: $(BENCH_STAMP)
	mkdir -p bench/results
	-$(PY) bench/counting_bench.py
	-$(PY) bench/casting_bench.py
	-$(PY) bench/pages_bench.py
	-$(PY) bench/notifications_bench.py
	-DATABASE_URL=$(BENCH_PG)/teller_bench_roll_import $(PY) bench/roll_import_bench.py \
		--recreate --json-out bench/results/roll_import.json
	$(PY) bench/chart.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

qa: lint test

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
