# The two set-up commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Test processes: the end-to-end tests mostly wait on the sandbox's rate windows and polls, so four
# share two cores well (pytest-xdist; each has its own sandbox, moto server and PostgreSQL schemas).
TEST_WORKERS ?= 4

.PHONY: install demo test lint ui sandbox bench clean

$(BIN)/batch-orchestration: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/batch-orchestration

demo: install
	$(BIN)/batch-orchestration demo --dir .demo

# The tests that drive dagster dev (marker `daemon`) mostly wait on the daemon's 30 s ticks: they run side by
# side, one process each, beside the rest of the suite; their output follows it.
test: install
	$(BIN)/ruff check batch_orchestration batch_orchestration_tests bench
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(BIN)/dg check defs
	$(BIN)/pytest -q -p no:cacheprovider -m daemon -n 3 > $(VENV)/daemon-tests.log 2>&1 & daemon=$$!; \
	$(BIN)/pytest -q -p no:cacheprovider -m "not daemon" -n $(TEST_WORKERS) --dist worksteal; rest=$$?; \
	wait $$daemon; daemon_status=$$?; echo "--- the daemon-driven tests:"; cat $(VENV)/daemon-tests.log; \
	exit $$(( rest != 0 || daemon_status != 0 ))

lint: install
	$(BIN)/ruff check batch_orchestration batch_orchestration_tests bench

# The Dagster UI (webserver and daemon) on the demo's folder, the sandbox started beside it.
ui: install
	$(BIN)/batch-orchestration ui --dir .demo

sandbox: install
	$(BIN)/batch-orchestration sandbox serve --db .demo/sandbox.sqlite

bench: install
	$(BIN)/python bench/bench_staging.py

clean:
	rm -rf .demo .batch_orchestration
