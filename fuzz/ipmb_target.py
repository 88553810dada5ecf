"""atheris target: IPMB frames through the satellite's dispatcher and handlers (CPython).

    python -m fuzz.ipmb_target [--firmware DIR] [libFuzzer options] CORPUS_DIR

Any property of fuzz.properties that fails raises AssertionError with the frame,
which atheris reports as a crash and saves as crash-<hash>.
"""

from __future__ import annotations

import sys
import tempfile


def main(argv: list[str]) -> None:
    import atheris

    from . import firmware

    tree = None
    if len(argv) > 2 and argv[1] == "--firmware":  # a firmware tree (a mutant's)
        tree, argv = argv[2], argv[:1] + argv[3:]
    firmware.import_firmware(atheris.instrument_imports, tree)
    from .firmware import Firmware
    from .frames import frame_from, registered_commands
    from .properties import check

    fw = Firmware("sim", tempfile.mkdtemp(prefix="satmc-fuzz-"))
    registered = registered_commands()

    def one(data: bytes) -> None:
        frame = frame_from(data, registered)
        problem = check(fw, frame)
        if problem:
            raise AssertionError(f"{problem}: frame {frame.hex(' ')}")

    atheris.Setup(argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
