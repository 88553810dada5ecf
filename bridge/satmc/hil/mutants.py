"""Deliberately broken firmware builds: each flips one behaviour the HIL suite checks.

    tree = make_mutant("lun-unchecked", tmp_path)    # a firmware tree to build a bundle from
    pytest hil --firmware-mutant lun-unchecked       # the suite must fail, in the named test

They prove the suite can fail: tests/test_hil_mutants.py runs the suite against each
and expects the named test to fail (and the rest to pass).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..board import FIRMWARE_DIR
from ..errors import SatmcError


@dataclass(frozen=True)
class Mutant:
    file: str  # under firmware/ipmc
    old: str
    new: str
    caught_by: tuple[str, ...]  # the HIL tests that must fail (and no others)


MUTANTS = {
    "lun-unchecked": Mutant(
        "dispatch.py",
        "if not (entry[_LUNS] >> rq.rs_lun) & 1:",
        "if False:",
        ("test_conformance.py::test_wrong_lun_is_c2",),
    ),
    "product-id-off-by-one": Mutant(
        "app.py",
        "d[9] = mc.product_id & 0xFF",
        "d[9] = (mc.product_id + 1) & 0xFF",
        (
            "test_conformance.py::test_device_id_matches_the_board_file",
            "test_conformance.py::test_broadcast_get_device_id",
        ),
    ),
    "broadcast-for-anyone": Mutant(
        "mc.py",
        "return _BROADCAST_FOR_US if b[0] == self.address else _BROADCAST_OTHER",
        "return _BROADCAST_FOR_US",
        ("test_conformance.py::test_broadcast_get_device_id",),
    ),
}


def make_mutant(name: str, where: Path) -> Path:
    """A copy of the firmware with the mutant's change; returns its directory."""
    if name not in MUTANTS:
        raise SatmcError(f"no firmware mutant {name!r}; mutants: {', '.join(MUTANTS)}")
    m = MUTANTS[name]
    tree = Path(where) / f"firmware-{name}"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(FIRMWARE_DIR, tree)
    path = tree / "ipmc" / m.file
    text = path.read_text()
    if text.count(m.old) != 1:
        raise SatmcError(f"mutant {name}: {m.file} no longer has exactly one {m.old!r}")
    path.write_text(text.replace(m.old, m.new))
    return tree
