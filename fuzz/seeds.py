"""The corpus as frames for the MicroPython run: fuzz/corpus/ipmb through frame_from().

python -m fuzz.seeds OUT      # a length byte, then the frame without our address, each
"""

from __future__ import annotations

import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus" / "ipmb"


def write_seeds(out: Path, corpus: Path = CORPUS) -> int:
    from . import firmware

    firmware.import_firmware()
    from .frames import frame_from, registered_commands

    registered = registered_commands()
    data = bytearray()
    for p in sorted(corpus.iterdir()):
        f = frame_from(p.read_bytes(), registered)[1:41]
        data += bytes((len(f),)) + f
    Path(out).write_bytes(data)
    return len(data)


if __name__ == "__main__":
    write_seeds(Path(sys.argv[1]))
