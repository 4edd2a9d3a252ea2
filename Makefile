# Headshot Studio: `make demo` and `make test` set everything up from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_OUT ?= demo-output

.PHONY: demo test bench install dev clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamp files so a second `make` does not reinstall; they are rebuilt when pyproject.toml changes.
# pymatting's numba kernels compile on first import (~1 min on 2 cores) and are cached on disk, as
# does the retouch's spot kernel (headshot._spots, ~6 s): do it once here so the first headshot is fast.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -c "import pymatting; from headshot import _spots; _spots.warm()"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev,eval]"
	$(BIN)/python -c "import pymatting; from headshot import _spots; _spots.warm()"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

demo: $(VENV)/.installed
	$(BIN)/headshot make examples/astronaut.jpg --out $(DEMO_OUT)
	@echo
	@echo "Headshots written to: $$(cd $(DEMO_OUT) && pwd)"

# The web studio's end-to-end test drives Debian's chromium: install it when it is missing and we
# may (root or password-less sudo, with apt-get); otherwise that test skips and says why, loudly.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q chromium)); \
	  elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    (sudo -n apt-get install -y -q chromium >/dev/null 2>&1 || (sudo -n apt-get update -q && sudo -n apt-get install -y -q chromium)); \
	  else echo "*** chromium is not installed and cannot be installed here: the browser test will be SKIPPED ***"; fi; }

test: $(VENV)/.dev-installed browser
	$(BIN)/python -m pytest -q

bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/run_all.py

# The loader against hostile files (issue 9; docs/decoder.md): `make hostile` runs the hostile-file
# benchmark alone; `make fuzz` fuzzes the loader on one core for FUZZ_SECONDS (findings and the
# corpus in bench-output/fuzz/).
FUZZ_SECONDS ?= 300
.PHONY: fuzz hostile

hostile: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/bench_hostile.py

fuzz: $(VENV)/.dev-installed
	$(BIN)/python fuzz/fuzz_loader.py --seconds $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) $(DEMO_OUT) bench-output test-artifacts .pytest_cache
