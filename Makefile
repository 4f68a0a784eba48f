# The two commands of the README: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,frames,ocr,photos,distributed]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m core.cli.demo ./demo.vdfs

test: $(STAMP)
	sh scripts/install-test-extras.sh
	$(PY) -m pytest -q -p no:cacheprovider tests

# Benchmarks print ratios against baselines measured in the same run; never part of CI.
BENCHES := index query models jobs extensions magics wasm memory
bench: $(STAMP)
	@for b in $(BENCHES); do echo "== benchmarks/$${b}_bench.py"; $(PY) benchmarks/$${b}_bench.py || exit 1; done

clean:
	rm -rf $(VENV) demo.vdfs .pytest_cache
