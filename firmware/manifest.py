# MicroPython manifest: freeze the satmc firmware into a MicroPython build from source.
#
#   make frozen MPY_DIR=~/src/micropython BOARD=pico
#
# `make frozen` writes the board's main.py and board_config.py to SATMC_FROZEN_DIR and
# builds the port with FROZEN_MANIFEST pointing here. The frozen main.py starts the
# firmware at boot; a main.py on the board's filesystem is then not run.
# include/package/module are the manifest language's functions (tools/manifestfile.py).
import os

# The port's own frozen modules (asyncio, ...), then the firmware and the board's files.
include("$(PORT_DIR)/boards/manifest.py")  # noqa: F821
package("ipmc")  # noqa: F821
module("satboot.py")  # noqa: F821  (the boot selector main.py runs)
module("board_config.py", base_path=os.environ["SATMC_FROZEN_DIR"])  # noqa: F821
module("main.py", base_path=os.environ["SATMC_FROZEN_DIR"])  # noqa: F821
