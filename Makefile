# The two commands of a fresh machine: `make demo` and `make test` (both as root: the lab
# binds loopback addresses and runs real Postfix, Dovecot, NSD and Unbound).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RESOLVER := 127.0.53.53
DEMO_DOMAINS := good.test no-mx.test mx-noaddr.test mx-cname.test null-mx.test nxdomain.test

.PHONY: all venv test unit lint lab-up lab-down demo docs bench clean

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
	@for d in $(DEMO_DOMAINS); do \
	  echo; echo "\$$ maildoctor check $$d --resolver $(RESOLVER) --allow-private"; \
	  $(BIN)/maildoctor check $$d --resolver $(RESOLVER) --allow-private; \
	done; true

docs: venv
	$(BIN)/maildoctor findings --markdown > docs/findings.md
	$(BIN)/python -m maildoctor.explain --markdown > docs/explain.md

bench: venv
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
