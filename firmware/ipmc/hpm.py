"""PICMG HPM.1 firmware upgrade (netFn 2Ch, defining body 00h): component 0, the bundle.

Importing this module registers the handlers. The commands, with what they do here:

    00 Get PICMG Properties          extension 4.1 (AMC), the highest FRU device ID
    2E Get Target Upgrade Capab.     self test, automatic and manual rollback; component 0
    2F Get Component Properties      general, current version, description, rollback version
    30 Abort Firmware Upgrade        drops the staged upload
    31 Initiate Upgrade Action       backup (kept anyway), prepare, upload for upgrade
    32 Upload Firmware Block         appends to the staging file hpm/stage (never RAM)
    33 Finish Firmware Upload        length and SHA-256 checked, unpacked into a free slot
    34 Get Upgrade Status            the last long-duration command and its completion code
    35 Activate Firmware             the record names the new bundle "new"; reset
    36 Query Self-test Results       the new bundle's self test (80h while its trial runs)
    37 Query Rollback Status         component mask of the last rollback
    38 Initiate Manual Rollback      the two bundles change places; reset

Component 0's image (what `satmc bundle --hpm` puts in the HPM.1 file's upload action)
is a bundle archive, the one definition of its format:

    "SATMCBA1"                                   8 bytes
    entries: name length (u8, 1..), name (ASCII path), size (u32 LE), the file's bytes
    0x00                                         end of entries
    SHA-256 of everything above                  32 bytes

The last entry is manifest.json: a slot counts as holding a bundle once its manifest
is there (satboot.present), so an unpacking cut short leaves no bundle. Which bundle
boots, and the rollback, are satboot's (the boot selector beside main.py).

Completion codes beyond the generic ones, as ipmitool reads them: 80h in progress,
81h image length mismatch / invalid component mask, 82h integrity check failure /
invalid component ID / upload mode or rollback override not supported, 83h invalid
component property selector. A refused request changes nothing.
"""

from micropython import const

from .dispatch import NETFN_GROUP, command

try:
    import satboot
except ImportError:  # a frozen or older image without the boot selector
    satboot = None

_CMD_ACTIVATE = const(0x35)

LAST = bytearray(2)  # Get Upgrade Status: the last long-duration command, its code

# netFn 2Ch commands: (cmd, request data bytes min, max); their handlers (hpm_cmds) are
# loaded at the first of them, so that a board that is not being upgraded does without
_COMMANDS = (
    (0x00, 1, 1),
    (0x2E, 1, 1),
    (0x2F, 3, 3),
    (0x30, 1, 1),
    (0x31, 3, 3),
    (0x32, 3, 40),  # 23 image bytes fit an IPMB frame, 31 a Serial Basic one
    (0x33, 6, 6),
    (0x34, 1, 1),
    (0x35, 1, 2),
    (0x36, 1, 1),
    (0x37, 1, 1),
    (0x38, 1, 1),
)
_handlers = None


def _load(mc, rq, rs):
    global _handlers
    if _handlers is None:
        import gc

        gc.collect()
        from . import hpm_cmds

        _handlers = hpm_cmds.HANDLERS
    return _handlers[rq.cmd](mc, rq, rs)


for _cmd, _lo, _hi in _COMMANDS:
    command(NETFN_GROUP, _cmd, _lo, _hi)(_load)


def serving(mc):
    """Called once the firmware serves: a trial bundle stays if its self test passed."""
    if satboot is not None:
        satboot.served()  # the line is Serial Basic Mode's now: Ctrl-C stays off
    if satboot is None or not satboot.in_trial():
        return
    if mc.self_test_bits:
        print(
            "satmc: self test failed (0x%02x) in the new bundle: rolling back" % mc.self_test_bits
        )
        satboot.rollback()
    satboot.commit()
    LAST[0] = _CMD_ACTIVATE
    LAST[1] = 0
