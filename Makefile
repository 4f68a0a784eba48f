# The two commands of the README: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench bench-scale clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,frames,ocr,photos,distributed,vectors]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m core.cli.demo ./demo.vdfs

# VDFS_SYNC_EXAMPLES: the sync convergence property test runs 200 generated cases here.
test: $(STAMP)
	sh scripts/install-test-extras.sh
	VDFS_SYNC_EXAMPLES=$${VDFS_SYNC_EXAMPLES:-200} $(PY) -m pytest -q -p no:cacheprovider tests

# Benchmarks print ratios against baselines measured in the same run; never part of CI.
BENCHES := index query models jobs extensions magics wasm memory sync distributed
bench: $(STAMP)
	@for b in $(BENCHES); do echo "== benchmarks/$${b}_bench.py"; $(PY) benchmarks/$${b}_bench.py || exit 1; done

# 10M entries by default (minutes, ~10 GB of disk); ENTRIES=1000000 for a quicker run.
ENTRIES ?= 10000000
bench-scale: $(STAMP)
	$(PY) benchmarks/scale_bench.py --entries $(ENTRIES)

clean:
	rm -rf $(VENV) demo.vdfs .pytest_cache
