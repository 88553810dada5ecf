"""Reliability under load: contention, the fault matrix at full rate, and the soak.

`make soak DURATION=1h` runs all three for the given time (python -m soak); make test
runs short slices of each (tests/test_soak.py). See README "Reliability: soak".
"""
