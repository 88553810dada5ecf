"""ipmc: MicroPython firmware of an IPMI satellite management controller (satmc).

import board_config
from ipmc import main
main.run(board_config.CONFIG)
"""

VERSION = "0.1.0"
