# The two commands a newcomer needs: `make run` and `make test`. See README.md.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Debian packages the tests need: Chromium for browser tests, poppler (pdftotext/pdftoppm) and
# qpdf for PDF checks and benchmarks, Pango for WeasyPrint, sqlite3/psql for benchmark references;
# Java and Node (for the Nu HTML checker) when the machine has none.
SYSTEM_PACKAGES := chromium poppler-utils qpdf libpango-1.0-0 libpangoft2-1.0-0 sqlite3 postgresql-client

.PHONY: vnu install run test test-sqlite test-postgres test-clock lint bench drill messages system-deps clean

$(VENV)/.installed: setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: install
	@$(BIN)/python -m portal.init_instance --development --port $(PORT)
	@$(BIN)/flask --app portal db upgrade
	@echo ""
	@echo "  The portal is starting on http://127.0.0.1:$(PORT)"
	@echo "  To sign in as staff, create an account in another terminal:"
	@echo "      $(BIN)/flask --app portal staff create you@example.org --role clerk --role supervisor"
	@echo "  then open the one-time link it prints to set a password and enrol MFA."
	@echo "  Sample data to try it with (fake people):  $(BIN)/flask --app portal demo-data"
	@echo "  Mail is written to instance/outbox/ and its links printed here."
	@echo ""
	@$(BIN)/flask --app portal run --port $(PORT)

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# The Nu HTML Checker the browser tests run over every page they saw (pinned in
# tests/browser/vnu/package-lock.json; Java and Node come from system-deps).
VNU_JAR := $(VENV)/vnu/node_modules/vnu-jar/build/dist/vnu.jar
$(VNU_JAR): tests/browser/vnu/package.json tests/browser/vnu/package-lock.json
	@mkdir -p $(VENV)/vnu
	@cp tests/browser/vnu/package.json tests/browser/vnu/package-lock.json $(VENV)/vnu/
	cd $(VENV)/vnu && npm ci --no-audit --no-fund --ignore-scripts --silent
	@touch $@

vnu: $(VNU_JAR)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install system-deps vnu lint test-sqlite test-postgres test-clock

# Everything once on SQLite, browser and PDF tests included.
test-sqlite: install vnu
	$(BIN)/pytest -q

# The database-dependent suite again on PostgreSQL (browser and PDF tests ran above).
test-postgres: install
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  PORTAL_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q -m "not browser and not pdf and not once"; \
	elif [ -n "$$PORTAL_REQUIRE_POSTGRES" ]; then echo "PostgreSQL is required but not answering"; exit 1; \
	else echo "PostgreSQL is not answering on 127.0.0.1:5432: skipped the PostgreSQL pass."; fi

# The database-dependent suite once more on SQLite, its clocks started at 11:30 pm on New Year's
# Eve in Los Angeles: the UTC date (and year) is already the next, so anything counting days by
# UTC instead of Los Angeles fails here whatever the hour CI runs.
TEST_CLOCK ?= 2026-12-31T23:30:00-08:00
test-clock: install
	PORTAL_TEST_NOW=$(TEST_CLOCK) $(BIN)/pytest -q -m "not browser and not pdf and not once"

bench: install system-deps
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The fault drill: submissions under kill -9 of web and job workers, an SMTP outage and a
# PostgreSQL restart (on a throwaway cluster of its own), then the counts; SQLite as the
# embedded default (one process, killed and restarted); then the file store on a small real
# filesystem that fills up (a tmpfs, where this machine allows mounting). About five minutes.
drill: install system-deps
	$(BIN)/python benchmarks/drill.py --database sqlite
	$(BIN)/python benchmarks/drill.py --database postgresql
	$(BIN)/python benchmarks/drill_storage_full.py

# Extract every string marked for translation (a Spanish catalog starts from this file).
messages: install
	mkdir -p portal/translations
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o portal/translations/messages.pot .

clean:
	rm -rf $(VENV) *.egg-info build .pytest_cache .ruff_cache
