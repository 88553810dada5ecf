"""The short form of the event storm of `make bench` (soak.storm): 16 satellites on one
paced 100 kHz IPMB cross Board Temp's thresholds at once, up and down, with a real
`satmc bmc` as their event receiver; every event the firmware counts acknowledged is in
the SEL as stock ipmitool and FreeIPMI read it, and nothing is open or dropped. Then the
same storm under soak.faults' matrix (fixed seed): every event in the SEL or counted
dropped, reconciled per satellite, and every satellite answering again after each fault.

Rates and times are figures in `make bench`, never asserted here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from soak import storm  # noqa: E402
from soak.faults import MATRIX  # noqa: E402

pytestmark = pytest.mark.timeout(600)


def test_every_event_of_a_storm_reaches_the_bench_bmcs_sel(full16, tmp_path):
    chassis = full16("storm16")
    r = storm.run(chassis, tmp_path, rounds=1)
    assert r["problems"] == []
    # each satellite: UNC, UC and UNR going high asserted, then deasserted
    assert r["events"] == r["acked"] == 16 * 6
    assert r["dropped"] == r["overflow"] == 0
    assert r["sel_ipmitool"] == r["sel_ipmi_sel"] == r["acked"]
    assert r["sel_clears"] == 0  # one round: the SEL is read once, at the end
    assert r["sel_asserted"] == r["sel_deasserted"] == 16 * 3
    assert [p["unsettled"] for p in r["phases"]] == [[], []]
    dump = storm.sel_by_generator((tmp_path / "sel-hexdump.txt").read_text())
    assert dump == {a: 6 for a in chassis.addresses}  # every record from its own satellite


def test_a_sel_short_of_room_is_read_and_cleared_between_rounds_and_every_record_counted(
    full16, tmp_path
):
    """A storm longer than the SEL holds (an hour's, in make soak) must not overflow it:
    before the second round the SEL has room for fewer records than asked, so it is read
    with both tools and cleared, and the reconciliation counts the records of both
    readings."""
    chassis = full16("stormc16")
    r = storm.run(chassis, tmp_path, rounds=2, sel_room=10_000)  # more than it ever has
    assert r["problems"] == []
    assert r["sel_clears"] == 1
    assert r["events"] == r["acked"] == 16 * 6 * 2
    assert r["sel_ipmitool"] == r["sel_ipmi_sel"] == r["acked"]
    dump = storm.sel_by_generator((tmp_path / "sel-hexdump.txt").read_text())
    assert dump == {a: 12 for a in chassis.addresses}


def test_a_storm_under_the_fault_matrix_loses_no_event_without_a_count(full16, tmp_path):
    """Every kind of soak.faults' matrix injected once (seed 1) on random satellites while
    they all cross thresholds: each satellite's SEL records are at least the events its
    firmware counts acked and at most those plus the ones it counts dropped, nothing is
    open, every frame is accounted for, and every satellite answers again after each
    fault."""
    chassis = full16("stormf16")
    r = storm.run(chassis, tmp_path, rounds=1, faults=0.0, seed=1)
    assert r["problems"] == []
    assert {x["kind"] for x in r["faults"]} == set(MATRIX)  # the whole matrix, each once
    fired = r["fired"]
    assert all(fired["ipmb"][k] for k in ("nack", "corrupt", "arb_lost", "stuck", "slow"))
    assert fired["board"]["nack"] > 0  # the busy EEPROM
    assert r["dropped"] > 0  # the absent receiver: given up on, counted
    for a, t in r["per_satellite"].items():  # reconciled satellite by satellite
        assert t["open"] == 0, (a, t)
        assert t["queued"] == t["acked"] + t["dropped"], (a, t)
        assert t["acked"] <= t["sel"] <= t["acked"] + t["dropped"], (a, t)
    assert (
        r["sel_ipmitool"]
        == r["sel_ipmi_sel"]
        == sum(t["sel"] for t in r["per_satellite"].values())
    )
    assert r["events"] >= 16 * 6 * r["rounds"]
    assert len(r["recovery_s"]) == 3  # max, p50, and after the last fault


def test_the_sel_listings_are_read_as_the_tools_print_them():
    hexdump = (
        "RID:[01][00] RT:[02] TS:[82][97][0F][6B] GID:[8C][00] ER:[04] ST:[01] SN:[01] "
        "EDIR:[01] ED1: [57] ED2: [E6] ED3: [A0]\n"
        "RID:[02][00] RT:[02] TS:[82][97][0F][6B] GID:[70][00] ER:[04] ST:[01] SN:[01] "
        "EDIR:[81] ED1: [57] ED2: [E6] ED3: [A0]\n"
    )
    assert storm.sel_by_generator(hexdump) == {0x8C: 1, 0x70: 1}
    elist = (
        "   1 | 12/02/26 | 03:58:58 UTC | Temperature Board Temp | Upper Non-critical going "
        "high | Asserted | Reading 95 > Threshold 60 degrees C\n"
        "   2 | 12/02/26 | 03:58:59 UTC | Temperature Board Temp | Upper Non-critical going "
        "high | Deasserted\n"
    )
    assert storm.elist_records(elist) == ["Asserted", "Deasserted"]
    assert storm.wire_limit(100_000) == pytest.approx(100_000 / (128 + 74))
