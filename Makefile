# Everything a user or CI needs starts here. `make test` and `make run` create their own virtual environment.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: help venv test unit integration lint run clean

help:
	@echo "make run          run the pipeline locally on sample documents and print the results"
	@echo "make test         create .venv and run the whole test suite"
	@echo "make unit         unit tests only (fast)"
	@echo "make integration  integration tests only (Postgres + AWS emulation)"
	@echo "make lint         ruff and mypy"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,local]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check functions local tests bench
	$(BIN)/mypy functions/invoice_pipeline local/invoice_local

run: $(STAMP)
	$(BIN)/invoices demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
