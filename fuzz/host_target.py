"""atheris runner for fuzz.targets: python -m fuzz.host_target NAME [libFuzzer options] DIR"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    import atheris

    from . import firmware

    name, argv = argv[1], argv[:1] + argv[2:]
    firmware.import_firmware(atheris.instrument_imports)
    with atheris.instrument_imports():
        import satmc.bmc.lan.session  # noqa: F401
        import satmc.bmc.lan.users  # noqa: F401
        import satmc.bmc.lan.wire  # noqa: F401
        import satmc.board  # noqa: F401
        import satmc.fru.image  # noqa: F401
        import satmc.transports.serial  # noqa: F401
    from .targets import make

    one = make(name)
    atheris.Setup(argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
