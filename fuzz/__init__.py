"""Fuzzing the firmware and the host: `make fuzz` (python -m fuzz), corpus replay in `make test`.

The firmware's portable core (ipmc: framing, dispatcher, handlers, Serial Basic Mode,
SDR and FRU encoders) imports only MicroPython names; under CPython, fuzz/shims gives
`micropython` and `machine` (with the host's device models in-process) and
fuzz.firmware adds the MicroPython-only names of time, gc and asyncio. atheris (a
well-kept libFuzzer binding) drives coverage-guided runs; the properties every input is
held to are in fuzz.properties, the same for atheris, the corpus replay and the random
frames on the MicroPython unix port.
"""
