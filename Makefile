# Two commands do all the set-up themselves: `make demo` and `make test`. `make lab` opens JupyterLab.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PYTHONHASHSEED := 0

.PHONY: demo test lint format test-fast lab explorer assignments table notebooks expected clean browser scaling-full site

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (effnet workbook)"
	touch $(STAMP)

demo: $(STAMP)  ## the main job: train, evaluate and predict on the built-in data (headless); DEMO_ARGS="--epochs 1" for a shorter one
	$(BIN)/python -m effnet_lib demo --out runs/demo $(DEMO_ARGS)

test: $(STAMP) browser lint  ## the linter, then every test, the notebooks included (each executed twice in quick mode, cold then warm, and checked as nbval checks)
	$(BIN)/python -m pytest -p no:cacheprovider tests

lint: $(STAMP)  ## ruff's linter on every Python file and its formatter's check (rules in pyproject.toml; the notebooks' .py sources linted, laid out by hand)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .

format: $(STAMP)  ## lay the code out as the formatter wants it (`make lint` checks it)
	$(BIN)/ruff format --no-cache .

test-fast: $(STAMP)  ## the inner loop: every test but the notebooks, the browser, several processes and whole commands (one pytest-xdist worker per core, a file per worker)
	$(BIN)/python -m pytest -p no:cacheprovider -n auto --dist loadfile -m "not slow" tests

browser:  ## Chromium for the real-browser widget test (Debian/Ubuntu as root; skipped elsewhere)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: the browser test will be skipped"; }

lab: $(STAMP)  ## JupyterLab on notebooks/ (127.0.0.1:8888 or the next free port; LAB_IP, LAB_PORT change them)
	BIN=$(BIN) scripts/lab.sh

explorer: $(STAMP)  ## notebook 05 as a Voila app: the error explorer without the code (127.0.0.1:8866; EXPLORER_IP, EXPLORER_PORT change them)
	BIN=$(BIN) scripts/explorer.sh

assignments: $(STAMP)  ## nbgrader's teacher and student versions of every notebook -> build/assignments (source/, release/)
	$(BIN)/python scripts/make_assignments.py

table: $(STAMP)  ## the B0-B7 table
	$(BIN)/python -m effnet_lib table

scaling-full: $(STAMP)  ## the scaling experiments in full mode (2 configs at a time on 2 cores) -> data/results/scaling_full.csv
	$(BIN)/python -m effnet_lib scaling --mode full --jobs 2

site: $(STAMP)  ## a static HTML site of the executed notebooks (quick mode) and a teacher's page with the student versions, in build/site; open build/site/index.html
	$(BIN)/python scripts/build_site.py build/site

notebooks: $(STAMP)  ## write each notebook's questionnaire from teaching/questionnaires.toml, then the .ipynb pairs from the .py sources (output-free)
	$(BIN)/python scripts/questionnaires.py --write
	$(BIN)/jupytext --update --to ipynb notebooks/*.py

expected: $(STAMP)  ## re-record the expected output of the notebooks' NBVAL_CHECK_OUTPUT cells
	$(BIN)/python tests/nbexpect.py record

clean:
	rm -rf runs data/builtin test-artifacts
