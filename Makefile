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

# checkov pins boto3/packaging versions that conflict with coldvault's: it gets a venv of its own.
CHECKOV := $(VENV)/checkov/bin/checkov
$(CHECKOV): | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install -q 'checkov==3.3.30'

lint: $(VENV)/.dev $(CHECKOV)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	# The template as written and as packaged (ASLs inlined), and each ASL as deployed (substitutions filled).
	$(BIN)/python -m coldvault.cloud.packaging template build/lint/template.packaged.yaml
	$(BIN)/python -m coldvault.cloud.packaging render-asl build/lint/asl
	$(BIN)/cfn-lint src/coldvault/cloud/template.yaml build/lint/template.packaged.yaml
	$(BIN)/statelint build/lint/asl/archive.asl.json build/lint/asl/restore.asl.json
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation -f build/lint/template.packaged.yaml

typecheck: $(VENV)/.dev
	$(BIN)/mypy --strict src

pytest: $(VENV)/.dev
	$(BIN)/pytest -n 2 --dist loadgroup

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
