"""Runs firmware unit tests on the MicroPython unix port: micropython runner.py MODULE.

Prints one line per test function ("PASS name" / "FAIL name") with the traceback
after a failure, and exits 1 when any failed. tests/test_firmware_micropython.py
collects these lines into pytest results.
"""

import sys


def main(module_name):
    mod = __import__(module_name)
    failed = 0
    for name in sorted(dir(mod)):
        if not name.startswith("test_"):
            continue
        fn = getattr(mod, name)
        try:
            fn()
            print("PASS", name)
        except Exception as e:
            failed += 1
            print("FAIL", name)
            sys.print_exception(e)
            print("END", name)
    return failed


sys.exit(1 if main(sys.argv[1]) else 0)
