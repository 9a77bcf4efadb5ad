# avicviz: two commands.  `make lab` opens the notebooks; `make test` runs every test.
# Needs Python 3.11+ and make.  Everything is installed into .venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help lab test test-oldest demo bench bench-workshop figures book book-tools install install-dev clean

help:
	@echo "make lab     - install into .venv and open JupyterLab on the first notebook (127.0.0.1, token on)"
	@echo "make test    - install into .venv with test tools and run every test"
	@echo "make test-oldest - the same in .venv-oldest with the oldest versions pyproject allows"
	@echo "make demo    - serve the explorers as a Voila workshop app on 127.0.0.1, ready for 30"
	@echo "               (DEMO_ARGS='--room 60 --ip 0.0.0.0' to change; see docs/instructor.md)"
	@echo "make bench   - run the interactivity benchmarks, write benchmarks/results.md"
	@echo "make bench-workshop - 1, 10 and 30 simulated attendees against avicviz demo, into benchmarks/results.md"
	@echo "make figures - redraw the static figures in notebooks/figures"
	@echo "make book    - build the static book of the lessons into _build/html (open _build/html/index.html)"

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
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) $(ROOT_FLAG) \
	  --ServerApp.kernel_websocket_connection_class=avicviz.kernel_socket.NoDelayConnection \
	  notebooks/00_start_here.ipynb

# The tests build the book themselves (tests/book_build.py) and check it in Chromium with axe-core.
test: install-dev book-tools
	$(BIN)/python -m pytest

# Every dependency at the minimum pyproject.toml states (.ci/oldest_constraints.py), every test.
OLDEST := .venv-oldest
test-oldest: book-tools
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "avicviz needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(OLDEST)/bin/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) .ci/oldest_constraints.py > $(OLDEST)/constraints.txt
	$(OLDEST)/bin/python -m pip install --quiet -c $(OLDEST)/constraints.txt -e '.[dev]'
	# old releases warn about their newer neighbours' APIs: shown, not errors (make test keeps them errors)
	$(OLDEST)/bin/python -m pytest -W default::DeprecationWarning -W default::PendingDeprecationWarning

demo: $(VENV)/.installed-demo
	$(BIN)/avicviz demo $(DEMO_ARGS)

bench: install-dev
	$(BIN)/python benchmarks/run.py

bench-workshop: install-dev
	$(BIN)/python benchmarks/workshop.py

figures: install
	$(BIN)/python -m avicviz.plots.gallery notebooks/figures

# The static book: Sphinx + MyST-NB run every lesson and write the site (offline: no CDN).
book: install-dev
	rm -rf _build/html
	$(BIN)/python -m sphinx -b html -q book _build/html
	@echo "the book is in _build/html/index.html"

# axe-core (npm) for the book's accessibility test, into book/node_modules (ignored by git).
book-tools: book/node_modules/axe-core/axe.min.js

book/node_modules/axe-core/axe.min.js: book/package.json book/package-lock.json
	npm ci --no-audit --no-fund --prefix book
	@touch $@  # npm keeps the package's 1985 timestamps: without this make would reinstall each time

clean:
	rm -rf $(VENV) $(OLDEST) test-artifacts .pytest_cache .hypothesis *.egg-info _build book/lessons book/node_modules
