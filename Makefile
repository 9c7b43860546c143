# Quick start: `make demo` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Programs some tests drive, from Debian packages of the same name: tmux (the TUI in a real
# terminal). Installed with apt-get only when missing (and only as root); otherwise make says so.
SYSTEM_TOOLS := tmux

.PHONY: test demo bench lint tools clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check vault tui migrations tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

tools:
	@for tool in $(SYSTEM_TOOLS); do \
	    command -v $$tool >/dev/null 2>&1 && continue; \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	        echo "installing $$tool (apt-get)"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$tool \
	            && command -v $$tool >/dev/null || { echo "make: $$tool could not be installed." >&2; exit 1; }; \
	    else \
	        echo "make: the tests need $$tool: install it (e.g. sudo apt-get install $$tool) and run make again." >&2; \
	        exit 1; \
	    fi; \
	done

# -n auto: one pytest worker per core (pytest-xdist). Every test keeps to its own tmp_path and
# its own tmux session name, so the workers share nothing; `$(BIN)/pytest` alone still runs serially.
test: lint tools
	$(BIN)/pytest -n auto

demo: $(STAMP)
	$(BIN)/incident-vault demo

bench: $(STAMP)
	$(BIN)/python scripts/bench.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
