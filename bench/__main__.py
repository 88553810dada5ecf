"""Run every benchmark module (bench/bench_*.py) and print its figures."""

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )
    only = sys.argv[1:]
    for name in names:
        if only and name.removeprefix("bench_") not in only:
            continue
        print(f"== {name.removeprefix('bench_')} ==", flush=True)
        importlib.import_module(f"bench.{name}").run()
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
