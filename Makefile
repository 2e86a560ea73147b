# nnlab: `make lab` opens the course, `make test` runs every test.
# Both build their own virtual environment in .venv the first time.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-stamp
LAB_ARGS ?=
# Options for Voila (make demo), e.g. DEMO_ARGS="--no-browser --port=8867".
DEMO_ARGS ?=
# JupyterLab refuses to start as root unless told it is fine (containers, CI, JupyterHub images).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# One BLAS thread (faster for lesson-sized nets, and reproducible): `import nnlab` sets it,
# before NumPy loads (nnlab.ONE_BLAS_THREAD; tests/conftest.py imports nnlab first).

.PHONY: lab demo test install notebooks html bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $@

$(VENV)/.demo-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[demo]"
	@touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

# Every lesson's lab as a page without code, in lecture mode, served by Voila (the `demo`
# extra); the landing page is http://localhost:8866/voila/render/index.ipynb.
demo: $(VENV)/.demo-stamp
	$(BIN)/python -m nnlab.demo --build-dir build/demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest tests notebooks --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --ignore-glob='tests/*/*.ipynb'

# Re-run every lesson top to bottom in a fresh kernel (cwd notebooks/), saving outputs and widget state.
notebooks: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=600 --ExecutePreprocessor.kernel_name=python3 \
	    --ExecutePreprocessor.record_timing=False notebooks/*.ipynb

# Every lesson as static HTML in html/: each lab as its saved figure and numbers (no kernel or
# network needed to view it), with the widget state still embedded.
html: $(STAMP)
	$(BIN)/python -m nnlab.export notebooks/*.ipynb --output-dir html

# Benchmarks: the engine beside PyTorch (when installed), telemetry, lab clicks, the course.
# Prints the tables and writes benchmarks/results.json and benchmarks/RESULTS.md.
# Options go in BENCH_ARGS, e.g. make bench BENCH_ARGS="--only labs,memory".
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts html
