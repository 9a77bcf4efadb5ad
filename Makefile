# avicviz: two commands.  `make lab` opens the notebooks; `make test` runs every test.
# Needs Python 3.11+ and make.  Everything is installed into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help lab test demo bench bench-workshop figures install install-dev clean

help:
	@echo "make lab     - install into .venv and open JupyterLab on the first notebook (127.0.0.1, token on)"
	@echo "make test    - install into .venv with test tools and run every test"
	@echo "make demo    - serve the explorers as a Voila workshop app on 127.0.0.1, ready for 30"
	@echo "               (DEMO_ARGS='--room 60 --ip 0.0.0.0' to change; see docs/instructor.md)"
	@echo "make bench   - run the interactivity benchmarks, write benchmarks/results.md"
	@echo "make bench-workshop - 1, 10 and 30 simulated attendees against avicviz demo, into benchmarks/results.md"
	@echo "make figures - redraw the static figures in notebooks/figures"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "avicviz needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamps re-run pip whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	@touch $@

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed $(VENV)/.installed-demo

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

lab: install
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) $(ROOT_FLAG) notebooks/00_start_here.ipynb

test: install-dev
	$(BIN)/python -m pytest

demo: $(VENV)/.installed-demo
	$(BIN)/avicviz demo $(DEMO_ARGS)

bench: install-dev
	$(BIN)/python benchmarks/run.py

bench-workshop: install-dev
	$(BIN)/python benchmarks/workshop.py

figures: install
	$(BIN)/python -m avicviz.plots.gallery notebooks/figures

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .hypothesis *.egg-info
