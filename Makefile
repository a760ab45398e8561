# The two commands of a fresh machine: `make demo` and `make test` (both as root: the lab
# binds loopback addresses and runs real Postfix, Dovecot, NSD and Unbound).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RESOLVER := 127.0.53.53
CA_FILE := /run/maildoctor-lab/ca/ca.crt
LAB_FLAGS := --resolver $(RESOLVER) --allow-private --ca-file $(CA_FILE)
DEMO_DOMAINS := open-relay.test spf-lookups.test cert-expired.test dkim-weak512.test no-mx.test sub-plain.test

.PHONY: all venv test unit lint lab-up lab-down demo docs symptoms-doc bench clean

all: test

$(BIN)/maildoctor: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

venv: $(BIN)/maildoctor

lab-up:
	lab/up

lab-down:
	lab/down

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

unit: venv
	$(BIN)/python -m pytest tests/unit -q

test: venv lab-up lint
	$(BIN)/python -m pytest -q

demo: venv lab-up
	@echo; echo "\$$ maildoctor check good.test $(LAB_FLAGS)"
	@$(BIN)/maildoctor check good.test $(LAB_FLAGS) || true
	@for d in $(DEMO_DOMAINS); do \
	  echo; echo "\$$ maildoctor check $$d $(LAB_FLAGS) --quiet"; \
	  $(BIN)/maildoctor check $$d $(LAB_FLAGS) --quiet; \
	done; true
	@echo; echo "\$$ maildoctor explain '550 5.7.1 <bob@example.org>: Relay access denied'"
	@$(BIN)/maildoctor explain '550 5.7.1 <bob@example.org>: Relay access denied' || true

docs: venv
	$(BIN)/maildoctor findings --markdown > docs/findings.md
	$(BIN)/python -m maildoctor.explain --markdown > docs/explain.md

symptoms-doc: venv lab-up
	$(BIN)/python lab/sessions.py

bench: venv
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
