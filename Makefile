# The two commands of the README: `make demo` (the main job on the embedded default) and
# `make test` (install everything, run the whole suite). Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lab lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py notebooks/quickstart.ipynb

test: $(STAMP)
	scripts/install-system-deps.sh
	scripts/install-widget-js.sh
	PYTHON=$(BIN)/python scripts/install-local-model.sh
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[lab]'
	$(BIN)/jupyter lab notebooks/quickstart.ipynb

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .tmp .pytest_cache
