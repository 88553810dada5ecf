"""The boot selector: which of the board's firmware bundles runs, and the way back.

    import satboot
    satboot.boot()            # main.py: pick the bundle, run it, roll back if it fails

The bundle `make flash` deploys sits at the filesystem root; an HPM.1 upgrade
(ipmc.hpm) unpacks a new bundle into the slot directory hpm/a or hpm/b, and one
record, hpm/boot, says which bundle is active and which one comes back on a rollback.
The record is one line written to hpm/boot.tmp and renamed over hpm/boot, so a power
cut leaves the old record or the new one, never a torn one (on FAT, which cannot rename
over a file, a cut between removing and renaming leaves none: the root bundle boots).
Its fields:

    satboot1 ACTIVE PREVIOUS STATE DEADLINE_MS OUTCOME ROLLED

ACTIVE and PREVIOUS are slots: "-" (the root bundle), "a", "b", or "x" (none). STATE:
"ok" (committed), "new" (activated, not booted yet), "try" (its trial boot began),
"back" (a manual rollback: the bundles changed places, the reset is under way).
OUTCOME is the last trial's: "none", "pass" or "fail"; ROLLED the component mask of
the last rollback (1: component 0), until the next activation.

A trial: boot() turns "new" into "try" before the new bundle's code runs and arms a
one-shot timer of DEADLINE_MS. The firmware calls commit() once it serves and its self
test passes. A record still at "try" at boot (the trial boot crashed, hung into a
watchdog or lost power), a trial that raises, a failed self test (rollback()) and the
timer running out all put PREVIOUS back and reset. The root bundle is always there.
While a boot comes up, Ctrl-C is off (_quiet_line); main.py turns it off first.

This module, not ipmc.wiring, imports `machine`: it runs before a bundle is chosen,
and resetting out of a failed trial must not depend on the failing bundle's code.
It is not part of a slot's bundle (an upgrade replaces slots, never the selector).
"""

import os
import sys

RECORD = "hpm/boot"
_TMP = "hpm/boot.tmp"
_TAG = "satboot1"
SLOTS = ("a", "b")
NONE = "x"
ROOT = "-"

_committed = [False]
_timer = [None]
BOOT_QUIET_MS = 30000  # a boot not serving by then gets Ctrl-C back (see _quiet_line)
_quiet_timer = [None]


def slot_dir(slot):
    """The directory a slot's bundle lives in ("" for the root bundle)."""
    return "" if slot == ROOT else "hpm/" + slot


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def present(slot):
    """True when the slot holds a bundle (its manifest is written last when unpacking)."""
    if slot == ROOT:
        return True
    if slot not in SLOTS:
        return False
    return _exists(slot_dir(slot) + "/manifest.json")


def read():
    """The record as a list [active, previous, state, deadline_ms, outcome, rolled]."""
    try:
        with open(RECORD) as f:
            p = f.read().split()
        if len(p) == 7 and p[0] == _TAG:
            return [p[1], p[2], p[3], int(p[4]), p[5], int(p[6])]
    except (OSError, ValueError):
        pass
    return [ROOT, NONE, "ok", 0, "none", 0]


def write(r):
    """Replace the record atomically (write aside, then rename over it)."""
    try:
        os.mkdir("hpm")
    except OSError:
        pass
    with open(_TMP, "w") as f:
        f.write("%s %s %s %s %d %s %d\n" % (_TAG, r[0], r[1], r[2], r[3], r[4], r[5]))
    try:
        os.rename(_TMP, RECORD)  # atomic on littlefs and unix
    except OSError:  # FAT refuses to rename over a file: for an instant there is no record,
        os.remove(RECORD)  # and no record boots the root bundle, which is always there
        os.rename(_TMP, RECORD)


def _roll_back(r, outcome):
    """The record with PREVIOUS active again (the failed bundle is forgotten)."""
    back = r[1] if present(r[1]) else ROOT
    return [back, NONE, "ok", 0, outcome, 1]


def rollback():
    """A failed trial: put the previous bundle back and reset."""
    write(_roll_back(read(), "fail"))
    reset()


def commit():
    """The running trial bundle serves and passed its self test: it stays."""
    _committed[0] = True
    if _timer[0] is not None:
        _timer[0].deinit()
    r = read()
    if r[2] == "try":
        write([r[0], r[1], "ok", 0, "pass", r[5]])


def in_trial():
    return read()[2] == "try" and not _committed[0]


def reset():
    import machine

    machine.reset()


def _expired(t):
    if not _committed[0] and read()[2] == "try":
        rollback()


def _arm(deadline_ms):
    import machine

    _timer[0] = machine.Timer(
        -1, mode=machine.Timer.ONE_SHOT, period=deadline_ms, callback=_expired
    )


def choose():
    """The slot to boot now, after the trial bookkeeping (see the module docstring)."""
    r = read()
    if r[2] == "try":  # the last trial boot never committed
        r = _roll_back(r, "fail")
        write(r)
    elif r[2] == "back":
        r[2] = "ok"
        write(r)
    elif r[2] == "new":
        if present(r[0]):
            r[2] = "try"
            write(r)
            _arm(max(1, r[3]))
        else:
            r = _roll_back(r, "fail")
            write(r)
    if not present(r[0]):
        return ROOT
    return r[0]


def served():
    """The firmware serves (ipmc.hpm.serving): its Serial Basic Mode reader has the
    line, and the boot's Ctrl-C timer is called off."""
    t, _quiet_timer[0] = _quiet_timer[0], None
    if t is not None:
        t.deinit()


def _boot_too_long(t):
    """The boot did not serve in time: Ctrl-C on, and the line's unread bytes (a
    host's frames, Ctrl-Cs sent while it was off) dropped, so the REPL starts clean."""
    if _quiet_timer[0] is None:
        return
    _quiet_timer[0] = None
    _quiet_line(False)
    import select

    line = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
    p = select.poll()
    p.register(line, select.POLLIN)
    one = bytearray(1)
    while p.poll(0) and line.readinto(one):
        pass


def quiet_boot(ms=BOOT_QUIET_MS):
    """Ctrl-C off until the firmware serves, for at most ms (see _quiet_line)."""
    import machine

    _quiet_line(True)  # main.py's first line did so already
    _quiet_timer[0] = machine.Timer(
        -1, mode=machine.Timer.ONE_SHOT, period=ms, callback=_boot_too_long
    )


def boot():
    quiet_boot()
    slot = choose()
    trial = read()[2] == "try"
    path = slot_dir(slot)
    if path:
        sys.path.insert(0, path)
    try:
        import gc

        import board_config

        gc.collect()  # the record's reading and the bundle choice leave garbage
        from ipmc import main

        main.run(board_config.CONFIG)
    except Exception as e:
        if trial and not _committed[0]:
            print("satboot: the new bundle failed (%r): rolling back" % (e,))
            rollback()
        raise
    finally:
        served()
        _quiet_line(False)


def _quiet_line(on):
    """Ctrl-C off while the boot comes up: a host that goes on sending Serial Basic Mode
    frames through a reset (ipmitool after a Cold Reset or an HPM.1 activation) would
    stop the boot in the REPL with a 0x03 among their bytes, and the board would never
    serve. Serial Basic Mode takes the line over once the firmware serves (CR, Ctrl-C
    between frames asks for the REPL there, which mpremote sends); a boot that raises
    or ends gets Ctrl-C back for the REPL, and so does one that does not serve within
    BOOT_QUIET_MS (a firmware hung in its set-up stays reachable without BOOTSEL)."""
    import micropython

    micropython.kbd_intr(-1 if on else 3)
