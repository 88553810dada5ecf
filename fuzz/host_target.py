"""atheris runner for fuzz.targets: python -m fuzz.host_target NAME [libFuzzer options] DIR"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> None:
    import atheris

    from . import firmware

    name, argv = argv[1], argv[:1] + argv[2:]
    firmware.import_firmware(atheris.instrument_imports)
    # The parsers the loaders use, uninstrumented: with atheris 2.3 on CPython 3.11 their
    # instrumented code, once hot, now and then finds a str where its own object should
    # be (PyYAML's scanner: "'str' object has no attribute 'prefix'"; tomllib: "'str'
    # object does not support the context manager protocol"), false findings that no
    # plain run reproduces. satmc's loaders above them are what is fuzzed.
    import tomllib  # noqa: F401

    import yaml  # noqa: F401

    with atheris.instrument_imports():
        import satmc.bmc.lan.session  # noqa: F401
        import satmc.bmc.lan.users  # noqa: F401
        import satmc.bmc.lan.wire  # noqa: F401
        import satmc.board  # noqa: F401
        import satmc.board.chassis  # noqa: F401
        import satmc.fru.image  # noqa: F401
        import satmc.transports.serial  # noqa: F401
    from .targets import make

    one = make(name)
    atheris.Setup(argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
