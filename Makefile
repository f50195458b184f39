# The two commands of the README, plus lint and bench. Idempotent; work from a clean clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean-venv

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: apt-get install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	VAULT_COOKIE_SECURE=$${VAULT_COOKIE_SECURE:-false} $(VENV)/bin/vault demo

test: $(STAMP)
	scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check vault tests bench scripts migrations
	$(VENV)/bin/mypy

bench: $(STAMP)
	@set -e; for f in bench/*.py; do echo "== $$f"; $(PY) $$f; done

clean-venv:
	rm -rf $(VENV)
