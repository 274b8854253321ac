# Two commands on a fresh machine:
#   make demo   set up .venv and run example_repo end to end (Python 3.10+ and make only)
#   make test   set up everything the tests need, system packages included (apt), and run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FSCTL  := $(BIN)/fsctl
DEMO   := --repo example_repo
# The time $(1) days ago, UTC, ISO 8601, worked out when used (python: BSD and GNU date differ).
utc_days_ago = $(shell $(PYTHON) -c 'from datetime import datetime, timedelta, timezone; print((datetime.now(timezone.utc) - timedelta(days=$(1))).strftime("%Y-%m-%dT%H:%M:%SZ"))')

.PHONY: demo example-data test lint typecheck pytest bench sysdeps clean

# System packages the tests need (installed only when missing; apt-get as root or with sudo).
# Each is a Debian package whose command has the same name: git, redis-server, and chromium
# (/usr/bin/chromium, the browser of tests/web: Playwright drives it, never a browser of its own);
# plus fonts-liberation, so screenshots show text (chromium only recommends it; apt set up with
# --no-install-recommends would leave Chromium with no font).
# Packages whose command has another name are listed as package:command (openjdk-17-jre-headless
# gives `java`, which the Spark engine's local master runs).
SYSTEM_PACKAGES := git redis-server chromium openjdk-17-jre-headless:java
sysdeps:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do pkg=$${entry%%:*}; cmd=$${entry#*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if ! $(PYTHON) -c "import venv, ensurepip" >/dev/null 2>&1; then missing="$$missing python3-venv"; fi; \
	if [ ! -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ]; then missing="$$missing fonts-liberation"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

# The dev extra includes Playwright (browser tests). Its pip package downloads no browser, and
# `playwright install` is never run: the tests launch Debian's /usr/bin/chromium (sysdeps).
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 makes sure nothing tries to, whatever the version.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@

# example_repo's sample data, as of now (drivers report hourly until a day ago, driver 1005 stopped
# 2.5 days ago); not committed: make it before running fsctl on example_repo by hand.
example-data: $(BIN)/.installed
	$(BIN)/python -m fsctl.services.sample_data example_repo/data

# Feast's own client, for the drop-in test of the feature server (tests/serving/test_feast_client.py):
# a separate virtualenv, so that Feast's dependencies (uvloop, pandas pins, ...) never change fsctl's.
FEAST_VENV := .venv-feast
$(FEAST_VENV)/bin/.installed:
	$(PYTHON) -m venv $(FEAST_VENV)
	$(FEAST_VENV)/bin/python -m pip install -q --upgrade pip
	$(FEAST_VENV)/bin/python -m pip install -q "feast==0.67.0"
	@touch $@

demo: $(BIN)/.installed
	rm -rf example_repo/data
	$(BIN)/python -m fsctl.services.sample_data example_repo/data
	$(FSCTL) --version
	$(FSCTL) validate $(DEMO)
	$(FSCTL) plan $(DEMO)
	$(FSCTL) apply --yes $(DEMO)
	$(FSCTL) list views $(DEMO)
	$(FSCTL) list models $(DEMO)
	$(FSCTL) describe models churn_classifier $(DEMO)
	$(FSCTL) describe services driver_activity_v1 $(DEMO)
	$(FSCTL) plan --detailed-exitcode $(DEMO)
	$(FSCTL) registry history $(DEMO)
	$(FSCTL) historical $(DEMO) --entities example_repo/data/entities.csv --service driver_activity_v1 \
	  --output example_repo/data/training_set.parquet
	$(FSCTL) materialize-incremental $(call utc_days_ago,2) $(DEMO)
	$(FSCTL) materialize-incremental $(call utc_days_ago,0) $(DEMO)
	@echo "# driver 1005 stopped reporting 2.5 days ago: its newest values are older than the view's 2d TTL"
	$(FSCTL) online $(DEMO) --features driver_hourly_stats:conv_rate,driver_hourly_stats:avg_daily_trips --entity driver_id=1005
	$(FSCTL) online $(DEMO) --service driver_activity_v1 --entity driver_id=1001 --entity customer_id=2001
	$(FSCTL) score $(DEMO) --model churn_classifier@Production --entities example_repo/data/entities.csv \
	  --output example_repo/data/scores.parquet
	@echo "demo: done; see example_repo/data/ (sample data, registry.json, training_set.parquet, online.db, scores.parquet)"

lint: $(BIN)/.installed
	$(BIN)/ruff check fsctl tests benchmarks

typecheck: $(BIN)/.installed
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(BIN)/.installed $(FEAST_VENV)/bin/.installed
	$(BIN)/pytest -n 2 --dist loadgroup -q

test: sysdeps $(BIN)/.installed $(FEAST_VENV)/bin/.installed
	$(BIN)/ruff check fsctl tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist loadgroup -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_retrieval.py --sizes 1000000:100000 10000000:1000000
	$(BIN)/python benchmarks/bench_materialize.py --sizes 1000000 10000000
	$(BIN)/python benchmarks/bench_stats.py --rows 10000000
	$(BIN)/python benchmarks/bench_process.py --sizes 1000000:100000 10000000:1000000 --wait-idle 30

clean:
	rm -rf $(VENV) $(FEAST_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis benchmarks/out example_repo/data
