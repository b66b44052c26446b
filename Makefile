# Two commands set everything up on a fresh machine:
#   make app    create .venv, install, serve the kernel explorer on 127.0.0.1:8866
#   make test   create .venv, install with the test extras, run the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8866
PRESET ?= paper

.PHONY: app test paper

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]'
	touch $@ $(VENV)/.installed-app

app: $(VENV)/.installed-app
	@$(BIN)/python -m lsn_explorer.apps.serving --port=$(PORT)
	$(BIN)/voila apps/kernel_explorer.ipynb --Voila.ip=127.0.0.1 --port=$(PORT) --no-browser

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# The full reproduction (Table 2 on the data in $(DATA), then the kernel atlas), sized for a GPU.
DATA ?= phantom
paper: $(VENV)/.installed-app
	$(BIN)/lsn-explorer table2 --data $(DATA) --preset $(PRESET) --out runs/table2-$(PRESET)
