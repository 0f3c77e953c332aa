# punchgate — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n 2
SOAK_ARGS ?= --duration 600
SOAK_FLEET_ARGS ?= --duration 120

.PHONY: demo test lint bench soak soak-fleet setup clean zk-clients

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the project's metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/punchgate demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check collector api devices rules tests bench soak
	$(BIN)/ruff format --check collector api devices rules tests bench soak
	$(BIN)/mypy

# The ZK emulator read by independent clients: node-zklib and zkteco-js (npm, installed from
# tests/node/package-lock.json into .node/) and pyzk's high-level calls (docs/zk.md).
zk-clients: $(STAMP)
	$(BIN)/python -m pytest -n 0 -q tests/devices/zk/test_independent_clients.py

# Every benchmark, each printing one JSON object (kept in .bench/results/), then one table
# of all their targets; it exits non-zero only when a benchmark failed to give a result.
bench: $(STAMP)
	@mkdir -p .bench/results && rm -f .bench/results/*.json
	@for script in bench/bench_*.py; do \
		out=.bench/results/$$(basename $$script .py).json; \
		echo "== $$script"; \
		$(BIN)/python $$script > $$out; \
		cat $$out; \
	done
	@echo; $(BIN)/python bench/summary.py .bench/results/bench_*.json

# The fault-injection soak on its own PostgreSQL and Mosquitto; exits non-zero unless every
# punch is stored exactly once. CI runs `make soak SOAK_ARGS="--duration 60"`.
soak: $(STAMP)
	$(BIN)/python -m soak $(SOAK_ARGS)

# Three collectors on one PostgreSQL and one Mosquitto (docs/fleet.md) at the issue's scale:
# 1,000 ZK terminals, 10 push terminals, 10,000 phones, HR readers, 10 minutes of traffic
# (~15 minutes in all); two SIGKILLs, SIGSTOP past the lease, broker and PostgreSQL restarts.
# Exits non-zero unless every punch is stored once, every quarantined item was sent bad on
# purpose and no two processes talked to one terminal at once. CI runs
# `make soak-fleet SOAK_FLEET_ARGS=--short` (about 100 terminals, 2–3 minutes).
soak-fleet: $(STAMP)
	$(BIN)/python -m soak.fleet $(SOAK_FLEET_ARGS)

clean:
	rm -rf $(VENV) .demo .bench .node .pytest_cache .mypy_cache .ruff_cache
