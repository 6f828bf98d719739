# Two commands on a fresh machine with only Python: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export LANGGRAPH_CLI_NO_ANALYTICS := 1
export LANGSMITH_TRACING := false
export LANGGRAPH_NO_VERSION_CHECK := 1

.PHONY: demo test lint format typecheck bench studio install clean native clean-native

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,llm]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/auraquant demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy tools memos agents graph decisions exchange backtest auraquant feeds

bench: $(VENV)/.installed-dev
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

# langgraph dev, offline: telemetry and version checks off so it starts and stops cleanly.
studio: $(VENV)/.installed-dev
	$(BIN)/langgraph dev --no-browser --port 2124

clean:
	rm -rf $(VENV) .auraquant

# Opt-in compiled exchange core (mypyc; exchange/NATIVE.md): ~1.4x faster backtests, same trades.
# Pure Python stays the default; `import exchange` refuses a build whose sources changed since.
NATIVE := $(BIN)/python -c 'import sys; from exchange.native import main; sys.exit(main(sys.argv[1:]))'

native: $(VENV)/.installed-dev clean-native
	$(NATIVE) build
	$(NATIVE) check

clean-native:
	rm -rf build
	rm -f exchange/*.so exchange/.native-build.json exchange/*.c exchange/*.h *__mypyc*.so
