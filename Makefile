# nnlab: `make lab` opens the course, `make test` runs every test, `make demo` shows the labs.
# Each builds the virtual environment .venv the first time, with the extra it needs.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-stamp
LAB_ARGS ?=
# Options for Voila (make demo), e.g. DEMO_ARGS="--no-browser --port=8867".
DEMO_ARGS ?=
# Options for JupyterHub (make hub), e.g. HUB_ARGS="--port=8001"; class settings are NNLAB_HUB_*.
HUB_ARGS ?=
# The tested pins (environment.yml uses them too); `make install CONSTRAINTS=` installs unpinned.
CONSTRAINTS ?= constraints.txt
PIN := $(if $(CONSTRAINTS),--constraint $(CONSTRAINTS),)
# JupyterLab refuses to start as root unless told it is fine (containers, CI, JupyterHub images).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# One BLAS thread (faster for lesson-sized nets, and reproducible): `import nnlab` sets it,
# before NumPy loads (nnlab.ONE_BLAS_THREAD; tests/conftest.py imports nnlab first).

.PHONY: lab demo hub bench-class test test-matrix test-colab constraints install notebooks html bench runs assignments clean

install: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]" $(PIN)
	@touch $@

$(VENV)/.demo-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[demo]" $(PIN)
	@touch $@

# The class hub's packages: JupyterHub and its idle culler (the `hub` extra) and the proxy (npm).
$(VENV)/.hub-stamp: $(STAMP) deploy/package.json deploy/package-lock.json
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[hub,lab]" $(PIN)
	cd deploy && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# nbgrader, for `make assignments` and the round trip in tests/test_grading.py (`instructor` extra).
$(VENV)/.instructor-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[instructor]" $(PIN)
	@touch $@

# `make lab` needs only the lab extra (JupyterLab 4); `make install` (the test extra) holds it too.
$(VENV)/.lab-stamp: pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[lab]" $(PIN)
	@touch $@

lab: $(VENV)/.lab-stamp
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

# Every lesson's lab as a page without code, in lecture mode, served by Voila (the `demo`
# extra); the landing page is http://localhost:8866/voila/render/index.ipynb.
demo: $(VENV)/.demo-stamp
	$(BIN)/python -m nnlab.demo --build-dir build/demo $(DEMO_ARGS)

# A JupyterHub for a class on this machine (deploy/): prints its URL; see "Teaching a class".
hub: $(VENV)/.hub-stamp
	$(BIN)/python deploy/launch.py $(HUB_ARGS)

test: $(STAMP) $(VENV)/.hub-stamp $(VENV)/.instructor-stamp
	$(BIN)/python $(PYTEST_ALL)

# The versions pyproject.toml promises, tested (not part of `make test`: two fresh environments):
# the oldest supported Python with the declared minimum versions (constraints-min.txt), and
# the newest Python with the newest versions. Each in .matrix/<name>, running the whole suite;
# the lessons run under --nbval-lax there (every cell must run cleanly; their saved numbers are
# those of constraints.txt, and other NumPy versions may round a last digit differently).
# (pyenv's shims only run the version pyenv selects: take its interpreters directly when present.)
MATRIX_OLDEST ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10) python3.10)
MATRIX_NEWEST ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
PYTEST_ALL := -m pytest tests notebooks --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
	--ignore-glob='tests/*/*.ipynb'

test-matrix:
	$(MAKE) --no-print-directory matrix-one NAME=oldest MATRIX_PYTHON=$(MATRIX_OLDEST) \
	    PINS="--constraint constraints-min.txt"
	$(MAKE) --no-print-directory matrix-one NAME=newest MATRIX_PYTHON=$(MATRIX_NEWEST) \
	    PINS="--upgrade --upgrade-strategy eager"
	$(MAKE) --no-print-directory test-colab

matrix-one:
	@$(MATRIX_PYTHON) -c "" 2>/dev/null || { echo "make test-matrix: $(MATRIX_PYTHON) not found;" \
	    "set MATRIX_OLDEST / MATRIX_NEWEST to a Python interpreter" >&2; exit 1; }
	rm -rf .matrix/$(NAME) && $(MATRIX_PYTHON) -m venv .matrix/$(NAME)
	.matrix/$(NAME)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]" $(PINS)
	.matrix/$(NAME)/bin/python -m pip freeze --exclude-editable > .matrix/$(NAME)/versions.txt
	.matrix/$(NAME)/bin/python $(subst --nbval ,--nbval-lax ,$(PYTEST_ALL)) -p no:cacheprovider

# A Colab-like runtime (not part of `make test`: it builds .matrix/colab): Python 3.12 with
# constraints-colab.txt preinstalled (ipywidgets 7.7.1, the classic Notebook 6.5.7, ...).
# 1. the lessons' install cell, run there (installing this checkout, not the repository's),
#    must change none of it (the freeze before and after must agree);
# 2. the test tools go in under the runtime's own versions (a freeze as constraints);
# 3. every lesson runs top to bottom (nbval-lax), tests/test_compat.py checks the widget
#    layer, and lesson 01's lab is drawn and redrawn in the classic Notebook in Chromium.
# Old runtime packages warn about Python 3.12 (datetime.utcnow, ...): warnings are not
# errors there (-W default::DeprecationWarning), as they are in `make test`.
COLAB_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)
COLAB := .matrix/colab
test-colab:
	@$(COLAB_PYTHON) -c "" 2>/dev/null || { echo "make test-colab: $(COLAB_PYTHON) not found;" \
	    "set COLAB_PYTHON to a Python 3.12 interpreter" >&2; exit 1; }
	rm -rf $(COLAB) && $(COLAB_PYTHON) -m venv $(COLAB)
	$(COLAB)/bin/python -m pip install --quiet --disable-pip-version-check -r constraints-colab.txt
	$(COLAB)/bin/python -m pip freeze --all > $(COLAB)/runtime.txt
	cd $(COLAB) && bin/python $(CURDIR)/tools/install_cell.py --run-here $(CURDIR)
	$(COLAB)/bin/python -m pip freeze --all --exclude nnlab > $(COLAB)/after-nnlab.txt
	@diff -u $(COLAB)/runtime.txt $(COLAB)/after-nnlab.txt || { echo "make test-colab:" \
	    "installing nnlab changed the runtime's packages (above)" >&2; exit 1; }
	$(COLAB)/bin/python -m pip install --quiet --disable-pip-version-check \
	    --constraint $(COLAB)/runtime.txt "pytest>=7.4" "nbval>=0.11" "playwright>=1.40"
	$(COLAB)/bin/python -m pip freeze --all > $(COLAB)/versions.txt
	$(COLAB)/bin/python -m pytest -p no:cacheprovider -W default::DeprecationWarning \
	    tests/test_compat.py tests/browser/test_notebook_frontends.py \
	    notebooks --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg

# Rewrite constraints.txt from what .venv holds now (after changing pyproject.toml).
constraints: $(STAMP)
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -m pip freeze --all --exclude-editable \
	    --disable-pip-version-check | grep -v -E '^(#|pip==)'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# Re-run every lesson top to bottom in a fresh kernel (cwd notebooks/), saving outputs and widget state.
notebooks: $(STAMP)
	NNLAB_PROGRESS=0 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=python3 \
	    --ExecutePreprocessor.record_timing=False notebooks/*.ipynb

# The slow runs a lab needs at once (the dropout lab's 11 rates, 1000 epochs each), trained once
# and shipped in nnlab/lab_runs.npz (about 2.8 MB); experiments.outcome reads them.
runs: $(STAMP)
	$(BIN)/python -m nnlab.experiments

# Every lesson as static HTML in html/, viewable from file:// with no kernel and no network:
# MathJax copied into html/mathjax/ (jupyter-server-mathjax), each lab as every one of its
# presets' figures and numbers, switched in the page; the widget state still embedded.
html: $(STAMP)
	$(BIN)/python -m nnlab.export notebooks/*.ipynb --output-dir html

# An nbgrader course made from the lessons in build/course/ (nbgrader_config.py and
# source/<lesson>/<lesson>.ipynb); points per exercise in grading_points.json. Then, from
# build/course/: nbgrader generate_assignment <lesson> (README: Teaching with nnlab).
assignments: $(VENV)/.instructor-stamp
	$(BIN)/python -m nnlab.grading --output build/course --points grading_points.json

# Benchmarks: the engine beside PyTorch (when installed), telemetry, lab clicks, the course.
# Prints the tables and writes benchmarks/results.json and benchmarks/RESULTS.md.
# Options go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--only labs,memory".
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# A class on the local hub: N learners log in, Run All, click at a human pace, then leave
# (benchmarks/bench_class.py; options in BENCH_CLASS_ARGS, e.g. "--learners 20"). Minutes long.
bench-class: $(VENV)/.hub-stamp
	$(BIN)/python benchmarks/bench_class.py $(BENCH_CLASS_ARGS)

clean:
	rm -rf $(VENV) .matrix build *.egg-info .pytest_cache test-artifacts html
