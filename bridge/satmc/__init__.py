"""satmc: host bridge, simulator and HIL suite for the satmc IPMI satellite controller."""

__version__ = "0.1.0"
