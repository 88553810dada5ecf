# satmc: every target sets up what it needs (virtual environment, pinned packages).
# MICROPYTHON=/path/to/micropython uses a self-built unix port instead of the PyPI one.
# Boards and flashing (boards/README.md, docs/flashing.md):
#   make bundle BOARD=pico                      build/pico/bundle: .mpy files, config, manifest
#   make flash BOARD=pico PORT=/dev/ttyACM0     deploy changed files, reset, verify (PORT=auto)
#   make flash BOARD=pico TARGET=ftdi://ftdi:232h/1   ... and verify over IPMB via the FT232H
#   make flash BOARD=pico_sim PORT=/dev/pts/N VERIFY_TIMEOUT=160   onto the emulated RP2040
#   make frozen BOARD=pico MPY_DIR=~/src/micropython  a MicroPython image with the firmware frozen in

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BOARD ?= sim
CHASSIS ?=
# PORT only from the command line: an unrelated $PORT in the environment must not leak in
PORT = auto
MPY_DIR ?=
FROZEN_DIR = $(CURDIR)/build/$(BOARD)/frozen
export MICROPYTHON

TARGET ?= sim
RIG ?=
# make sim PLATFORM=rp2emu: the official MicroPython rp2 image on the emulated RP2040
# (RP2_UF2, RP2_BOOTROM name the inputs; Node.js needed; rp2040js installed on first use)
PLATFORM ?= unix

.PHONY: setup demo sim test bench hil fuzz soak clean bundle flash frozen rp2emu

setup: $(STAMP)

# The pinned wheels are kept in $(VENV)/wheels: the venv installs from them, and so does
# tests/test_install.py's fresh venv (offline).
$(STAMP): requirements.txt pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "make setup: satmc needs Python >= 3.11; $(PYTHON) is" \
		"$$($(PYTHON) -V 2>/dev/null || echo missing). Install a newer one (Debian/Ubuntu:" \
		"apt-get install python3) or name it: make PYTHON=python3.12"; exit 2; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
		echo "make setup: $(PYTHON) has no venv module (with ensurepip); Debian/Ubuntu:" \
		"apt-get install python3-venv"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip wheel --quiet --wheel-dir $(VENV)/wheels -r requirements.txt
	$(PY) -m pip install --quiet --no-index --find-links $(VENV)/wheels -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

demo: setup
	$(PY) -m satmc.demo --board $(BOARD)

sim: setup
	$(PY) -m satmc.sim $(if $(CHASSIS),--chassis $(CHASSIS),--platform $(PLATFORM) \
		$(if $(filter rp2emu,$(PLATFORM)),$(if $(filter sim,$(BOARD)),,--board $(BOARD)),--board $(BOARD)))

# the pinned rp2040js (bridge/satmc/ports/rp2emu/package-lock.json) into that folder
rp2emu: setup
	$(PY) -c 'from satmc.ports import rp2emu; rp2emu.install(); print("rp2040js installed")'


test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bundle: setup
	$(VENV)/bin/satmc bundle --board $(BOARD)

flash: setup
	$(VENV)/bin/satmc flash --board $(BOARD) --port $(PORT) \
		$(if $(filter-out sim%,$(TARGET)),--via $(TARGET)) \
		$(if $(VERIFY_TIMEOUT),--verify-timeout $(VERIFY_TIMEOUT))

frozen: setup
	@test -n "$(MPY_DIR)" || { echo "make frozen: set MPY_DIR to a MicroPython source tree" \
		"(git clone https://github.com/micropython/micropython; make -C mpy-cross there)"; exit 2; }
	args="$$($(VENV)/bin/satmc bundle --board $(BOARD) --frozen $(FROZEN_DIR))" && \
	SATMC_FROZEN_DIR=$(FROZEN_DIR) $(MAKE) -C $(MPY_DIR)/$$args \
		FROZEN_MANIFEST=$(CURDIR)/firmware/manifest.py

hil: setup
	mkdir -p hil-results
	$(PY) -m pytest hil $(if $(CHASSIS),--hil-chassis $(CHASSIS),$(if $(RIG),--hil-rig $(RIG),--hil-target $(TARGET))) \
		--junitxml=hil-results/junit.xml $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench

# The long fuzzing campaign (the short form runs in make test): SECONDS of atheris per
# target, FRAMES random frames on the MicroPython unix port, RP2EMU_SECONDS of them on the
# emulated RP2040 (RP2_UF2, RP2_BOOTROM); build/fuzz/summary.json, fuzz.png
SECONDS ?= 60
FRAMES ?= 1000000
RP2EMU_SECONDS ?= 180
fuzz: setup
	$(PY) -m fuzz --seconds $(SECONDS) --frames $(FRAMES) --rp2emu-seconds $(RP2EMU_SECONDS)

# The soak (a slice runs in make test): contention, the fault matrix at full load, the
# 16-satellite event storm under that matrix, mixed traffic with resets, for DURATION
# (90s, 10m, 1h); build/soak/summary.json, soak.png
# (TARGET=rp2emu: mixed traffic with resets on the official rp2 image, emulated)
DURATION ?= 5m
soak: setup
	$(PY) -m soak --duration $(DURATION) $(if $(filter rp2emu,$(TARGET)),--target rp2emu)

clean:
	rm -rf build .pytest_cache hil-results
