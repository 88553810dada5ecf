"""Replay a corpus through the firmware under CPython and check every property.

    python -m fuzz.replay [--firmware DIR] CORPUS_DIR...   # JSON summary; exit 1 on a failure
    python -m fuzz.replay --target fru|board|serial CORPUS_DIR...

What `make test` runs (tests/test_fuzz.py): the corpus atheris grew, kept in
fuzz/corpus/, replayed without atheris.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    from . import firmware

    tree = None
    if argv[:1] == ["--firmware"]:
        tree, argv = argv[1], argv[2:]
    firmware.import_firmware(None, tree)
    if argv[:1] == ["--target"]:
        return _replay_target(argv[1], argv[2:])
    from .frames import frame_from, registered_commands
    from .properties import check

    fw = firmware.Firmware("sim", tempfile.mkdtemp(prefix="satmc-replay-"))
    registered = registered_commands()
    inputs = sorted(p for d in argv for p in Path(d).iterdir() if p.is_file())
    failures = []
    answered = 0
    for p in inputs:
        frame = frame_from(p.read_bytes(), registered)
        before = fw.mc.stats["requests"]
        problem = check(fw, frame)
        answered += fw.mc.stats["requests"] - before
        if problem:
            failures.append({"input": p.name, "frame": frame.hex(" "), "problem": problem})
    summary = {
        "inputs": len(inputs),
        "answered": answered,
        "dropped": len(inputs) - answered,
        "commands": len(registered),
        "failures": failures,
    }
    print(json.dumps(summary, indent=1))
    return 1 if failures else 0


def _replay_target(name: str, dirs: list[str]) -> int:
    from .targets import make

    one = make(name)
    inputs = sorted(p for d in dirs for p in Path(d).iterdir() if p.is_file())
    failures = []
    for p in inputs:
        try:
            one(p.read_bytes())
        except AssertionError as e:
            failures.append({"input": p.name, "problem": str(e)})
    print(json.dumps({"target": name, "inputs": len(inputs), "failures": failures}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
