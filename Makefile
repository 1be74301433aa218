# coldvault: two entry points for a fresh machine with Python >= 3.11.
#   make demo   set up a virtualenv and run the whole story on the offline sandbox
#   make test   set up a virtualenv and run every quality gate and test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.sandbox: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[sandbox]'
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.sandbox
	$(BIN)/pip install -q -e '.[sandbox]' --group dev
	touch $@

demo: $(VENV)/.sandbox
	$(BIN)/coldvault demo

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.dev
	$(BIN)/mypy --strict src

pytest: $(VENV)/.dev
	$(BIN)/pytest -n 2 --dist loadgroup

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
