"""FRU inventory on the host: images from board files, checks, decoding, device access.

    from satmc.fru import image, access
    img = image.build(load_board("sim"), fru_id=0)      # frugy, from the board file
    image.check(img)                                    # FRUImageError naming area + checksum
    print("\n".join(image.describe(img, 0)))            # ipmitool's `fru print` layout
    dev = access.FRUAccess(sat, 0)
    dev.write_image(img)                                # header last, read-back verified

Board-file section: see satmc.board.fru; the simulator's EEPROM models are programmed by sim.py.
"""

from ..errors import SatmcError


class FRUError(SatmcError):
    """A FRU operation failed."""


class FRUImageError(FRUError):
    """A FRU image is corrupt (bad checksum, format or offset) or cannot be built."""


class FRUWriteProtectedError(FRUError):
    """The FRU device refused a write: write protected (completion code 80)."""


class FRUVerifyError(FRUError):
    """What was read back after a write differs from what was written."""
