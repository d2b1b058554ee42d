# The two commands of the README: `make demo` (the main job on the embedded default) and
# `make test` (install everything, run the whole suite). Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lab lint clean

# The editable install builds the JupyterLab sidebar in place (npm packages through jlpm, ~1-2
# min the first time); `jupyter-builder develop` links that build into the venv's JupyterLab.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	$(BIN)/jupyter-builder develop --overwrite . >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py notebooks/quickstart.ipynb

# What the tests need beyond the venv is fetched or built once per user, outside the checkout
# (scripts/cache-dir.sh); the run ends by naming its slowest tests, so a new slow one shows.
test: $(STAMP)
	scripts/install-system-deps.sh
	scripts/install-widget-js.sh
	PYTHON=$(BIN)/python scripts/install-local-model.sh
	$(BIN)/python -m pytest --durations=15

lab: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[lab]'
	$(BIN)/jupyter lab notebooks/quickstart.ipynb

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server/nlsql_server nlsql_jupyter

clean:
	rm -rf $(VENV) .tmp .pytest_cache
