# Two commands on a fresh machine: `make demo` and `make test`. Each creates the virtual
# environment it needs. On a GPU box, install a CUDA build of torch instead of the pinned CPU one:
#   make demo TORCH_SPEC="torch"        (pip then picks the CUDA wheel for your platform)
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: demo test bench-attribution bench-scan clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[demo,test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/reportgen demo

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

bench-attribution: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/attribution.py --small

bench-scan: $(VENV)/.installed
	$(BIN)/python benchmarks/scan.py

clean:
	rm -rf $(VENV) build dist *.egg-info
