"""The fuzzing campaign's short form: the corpus replayed, the fuzzer shown to find a
planted defect, and random frames through the real receive path on MicroPython.

The long form is `make fuzz` (python -m fuzz): atheris for minutes, a million frames
on the unix port, the host's parsers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fuzz" / "corpus" / "ipmb"


def _py(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_the_corpus_holds_every_property():
    r = _py("fuzz.replay", str(CORPUS))
    summary = json.loads(r.stdout)
    assert r.returncode == 0 and summary["failures"] == [], r.stdout[-3000:] + r.stderr[-2000:]
    # the corpus reaches the handlers, and the framing checks too
    assert summary["inputs"] >= 50 and summary["answered"] >= 0.5 * summary["inputs"]
    assert summary["dropped"] > 0


@pytest.mark.parametrize("target", ["fru", "board", "chassis", "serial", "users", "bmc"])
def test_the_host_corpora_get_clear_errors_only(target):
    """FRU images, board and chassis files and Serial Basic Mode streams (with the inputs that once
    escaped as tracebacks: finding-*) meet satmc's own errors, never another exception;
    the bench BMC's datagrams (and the ones that once broke a property: finding-*) are
    answered well formed or dropped and counted, and a refused one changes no session."""
    r = _py("fuzz.replay", "--target", target, str(ROOT / "fuzz" / "corpus" / target))
    summary = json.loads(r.stdout)
    assert r.returncode == 0 and summary["failures"] == [], r.stdout[-3000:] + r.stderr[-2000:]
    assert summary["inputs"] >= 20


def _mutant(tmp_path: Path) -> Path:
    """The firmware with Set Event Receiver storing the address before checking it: the
    defect "a rejected request that still takes effect"."""
    tree = tmp_path / "firmware"
    shutil.copytree(ROOT / "firmware", tree)
    p = tree / "ipmc" / "events.py"
    old = "    sa = rq.data[0]\n    if sa & 1 and sa != DISABLED:"
    src = p.read_text()
    assert old in src
    new = "    sa = rq.data[0]\n    mc.events.receiver = sa\n    if sa & 1 and sa != DISABLED:"
    p.write_text(src.replace(old, new))
    return tree


def test_the_fuzzer_finds_a_refused_request_that_takes_effect(tmp_path):
    pytest.importorskip("atheris")
    tree = _mutant(tmp_path)
    work = tmp_path / "corpus"
    work.mkdir()
    r = _py(
        "fuzz.ipmb_target",
        "--firmware",
        str(tree),
        "-runs=2000000",
        "-seed=1",
        "-max_len=40",
        f"-artifact_prefix={tmp_path}/",
        str(work),
        timeout=300,
    )
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "but the state changed" in out, out[-3000:]
    assert list(tmp_path.glob("crash-*")), "atheris saved no reproducer"


def test_random_frames_on_micropython_are_all_accounted_for_with_a_flat_heap(tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        from fuzz.mpy import run_frames
    finally:
        sys.path.remove(str(ROOT))
    r = run_frames(30000, 7, tmp_path)
    assert r["problems"] == [], r["problems"]
    c = r["counters"]
    assert c["written"] > 29000  # (a mutation may cut a frame to nothing: not written)
    assert c["requests"] > 5000 and c["malformed"] > 1000 and c["oversize"] > 0
    assert len(r["heap"]) == 3


def _bmc():
    sys.path.insert(0, str(ROOT))
    try:
        from fuzz import bmc
    finally:
        sys.path.remove(str(ROOT))
    return bmc


def test_the_bmc_corpus_gets_past_the_session_layer():
    """The corpus's datagrams are valid in the fuzzer's world: each login step is answered
    with status 00 and the in-session requests, signed and encrypted with the session's
    keys, reach the chassis side; so mutations of them start inside a session."""
    bmc = _bmc()
    world = bmc.World()
    corpus = {p.name: p.read_bytes() for p in (ROOT / "fuzz" / "corpus" / "bmc").iterdir()}
    assert set(bmc.corpus(world)) <= set(corpus)  # the committed corpus holds the generated one
    want = {
        "rmcp-ping": "answered",
        "v15-auth-caps": "answered",
        "v15-session-challenge": "answered",
        "v15-activate-session": "answered",
        "v15-in-session-get-device-id": "dispatched",
        "v2-open-session-suite17": "answered",
        "v2-rakp1": "answered",
        "v2-rakp3": "answered",
        "v2-in-session-get-device-id": "dispatched",
        "mode4-rakp3-signed": "answered",
        "mode1-admin-cmd3b-1": "answered",  # Set Session Privilege Level inside RMCP+
        "mode1-user-cmd3b-1": "refused",  # ... beyond the user's: 81h, nothing changes
        "mode1-admin-after-65s": "dropped",  # the session lapsed while idle
    }
    got = {name: bmc.outcome(world, corpus[name]) for name in want}
    assert got == want
    for name, data in sorted(corpus.items()):
        assert bmc.check(world, data) is None, name
