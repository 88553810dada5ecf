"""The hardware-in-the-loop suite's plugin and rig descriptions (see hil/README.md)."""
