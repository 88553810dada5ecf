"""The build step pyproject.toml cannot declare: firmware/, boards/ and chassis/ into the wheel.

They stay where they are in the repository (the only copies); building a wheel copies
them into the package as satmc/_data/firmware, _data/boards and _data/chassis, where
satmc.resources finds them in an installed satmc. Metadata lives in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA = ("firmware", "boards", "chassis")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


class BuildPyWithData(build_py):
    """build_py, then firmware/, boards/ and chassis/ copied whole into the built package."""

    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the checkout itself
            return
        for name in DATA:
            dst = Path(self.build_lib) / "satmc" / "_data" / name
            shutil.copytree(HERE / name, dst, ignore=SKIP, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithData})
