"""The boot selector's record: which bundle boots, the trial, the rollback, torn writes."""

import os
import time

import satboot

_BASE = f"/tmp/satboot-test-{time.time_ns()}"
_armed = []
_resets = []
satboot._arm = _armed.append  # no timer threads here: the deadline is checked by hand
satboot.reset = lambda: _resets.append(1)


def _fresh(name):
    """An empty board filesystem as the current directory."""
    base = _BASE + "-" + name
    for d in (base, base + "/hpm", base + "/hpm/a", base + "/hpm/b"):
        try:
            os.mkdir(d)
        except OSError:
            pass
    os.chdir(base)
    for p in ("hpm/boot", "hpm/boot.tmp", "hpm/a/manifest.json", "hpm/b/manifest.json"):
        try:
            os.remove(p)
        except OSError:
            pass
    del _armed[:]
    del _resets[:]
    satboot._committed[0] = False


def _slot(name):
    with open(f"hpm/{name}/manifest.json", "w") as f:
        f.write('{"firmware_version": "1.2.0"}')


def test_no_record_boots_the_root_bundle():
    _fresh("none")
    assert satboot.choose() == satboot.ROOT
    assert satboot.read() == ["-", "x", "ok", 0, "none", 0]


def test_a_torn_or_foreign_record_boots_the_root_bundle():
    _fresh("torn")
    with open("hpm/boot", "w") as f:
        f.write("satboot1 a -")  # cut short
    assert satboot.choose() == satboot.ROOT
    with open("hpm/boot.tmp", "w") as f:
        f.write("garbage")  # a write cut before its rename changes nothing
    satboot.write(["a", "-", "ok", 0, "pass", 0])
    _slot("a")
    assert satboot.choose() == "a"


def test_a_new_bundle_gets_one_trial_then_the_old_one_comes_back():
    _fresh("trial")
    _slot("a")
    satboot.write(["a", "-", "new", 5000, "none", 0])
    assert satboot.choose() == "a"
    assert satboot.read()[2] == "try" and _armed == [5000]
    assert satboot.in_trial()
    assert satboot.choose() == satboot.ROOT  # that boot never committed: rolled back
    assert satboot.read() == ["-", "x", "ok", 0, "fail", 1]


def test_a_committed_trial_stays():
    _fresh("commit")
    _slot("b")
    satboot.write(["b", "a", "new", 5000, "none", 0])
    assert satboot.choose() == "b"
    satboot.commit()
    assert satboot.read() == ["b", "a", "ok", 0, "pass", 0]
    satboot._expired(None)  # the deadline passing after the commit does nothing
    assert _resets == [] and satboot.choose() == "b"


def test_the_deadline_rolls_back_and_resets():
    _fresh("deadline")
    _slot("a")
    satboot.write(["a", "-", "new", 5000, "none", 0])
    satboot.choose()
    satboot._expired(None)
    assert _resets == [1]
    assert satboot.read() == ["-", "x", "ok", 0, "fail", 1]


def test_an_activated_slot_without_its_manifest_is_never_booted():
    _fresh("partial")  # the unpacking was cut before the manifest
    satboot.write(["a", "-", "new", 5000, "none", 0])
    assert satboot.choose() == satboot.ROOT
    assert satboot.read()[4] == "fail"


def test_a_manual_rollback_settles_once_booted():
    _fresh("manual")
    _slot("a")
    satboot.write(["-", "a", "back", 0, "pass", 1])
    assert satboot.choose() == satboot.ROOT
    assert satboot.read() == ["-", "a", "ok", 0, "pass", 1]
