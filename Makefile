# Tuiguan: `make run` starts the embedded service with demo data; `make test` runs the suite.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
WEB_PORT ?= 5000
SANDBOX_PORT ?= 8801
PYTEST_ARGS ?=

.PHONY: venv run test lint migrate seed browser-deps bench clean settings-table openapi

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

migrate: venv
	mkdir -p instance
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo

# Embedded default: SQLite in instance/, jobs inline, WeChat calls to the bundled sandbox.
run: seed
	@echo "web      http://127.0.0.1:$(WEB_PORT)/staff/   (demo accounts above)"
	@echo "sandbox  http://127.0.0.1:$(SANDBOX_PORT)/"
	@WECHAT_API_BASE=http://127.0.0.1:$(SANDBOX_PORT)/ bash -c '\
	  trap "kill 0" INT TERM EXIT; \
	  $(FLASK) wechat-sandbox --port $(SANDBOX_PORT) & \
	  $(FLASK) worker & \
	  $(BIN)/gunicorn --bind 127.0.0.1:$(WEB_PORT) --worker-class gthread --workers 1 --threads 8 "app:create_app()" & \
	  wait'

# Browser tests drive Debian's chromium; install it when missing and we may (root, apt).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null; \
	  else \
	    echo "browser tests need chromium: sudo apt-get install -y chromium fonts-noto-cjk" >&2; exit 1; \
	  fi; \
	fi

test: venv browser-deps
	$(BIN)/ruff check app workers config tests bench migrations
	$(BIN)/pytest $(PYTEST_ARGS)

# The API's OpenAPI document, committed for client authors; a test fails when it is stale.
openapi: venv
	$(FLASK) openapi-write

lint: venv
	$(BIN)/ruff check app workers config tests bench migrations

# README's settings tables, regenerated from the declarations in config/.
settings-table: venv
	$(BIN)/python -m config.readme --write

# Benchmarks print figures; bench_booking and bench_fanout want DATABASE_URL (PostgreSQL) and REDIS_URL.
bench: venv
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_booking.py
	$(BIN)/python bench/bench_fanout.py

clean:
	rm -rf $(VENV) instance/tuiguan.db*
