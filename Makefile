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

# tests/support holds the fakes of the AWS adapters: mypy checks them against coldvault.pipeline.ports.
typecheck: $(VENV)/.dev
	$(BIN)/mypy --strict src tests/support

# Branch coverage (pyproject [tool.coverage]) of the whole suite, then per package; pipeline/ must stay
# at 90 % or more.
COVERAGE_PACKAGES := pipeline restore cloud aws sandbox cli
# The HTML pages (plan --html, the audit) are checked in a real headless browser: Debian's Chromium.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

pytest: $(VENV)/.dev $(CHROMIUM)
	$(BIN)/pytest -n 2 --dist loadgroup --cov --cov-report=
	@echo "branch coverage (statements and branches):"
	@printf "  %-10s %s%%\n" all "$$($(BIN)/coverage report --format=total)"
	@for package in $(COVERAGE_PACKAGES); do \
	  printf "  %-10s %s%%\n" "$$package/" "$$($(BIN)/coverage report --format=total --include="*/coldvault/$$package/*")"; \
	done
	@$(BIN)/coverage report --include='*/coldvault/pipeline/*' --fail-under=90 > /dev/null \
	  || { echo "pipeline/ branch coverage is under 90 %"; exit 1; }

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
